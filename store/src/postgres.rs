//! PostgreSQL, for state that replicas share: one pool per part of the database, and the part's
//! migrations applied under PostgreSQL's advisory lock, so that replicas starting together
//! migrate once.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::url::PostgresUrl;
use crate::{Migration, StoreError, migrations};

/// Connections one part keeps at most; PostgreSQL's default `max_connections` is 100, shared by
/// every part of every replica.
const MAX_CONNECTIONS: u32 = 16;
/// How long a statement waits for a free connection before the request fails (503).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// An open PostgreSQL database: a pool, reads and writes alike.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    pool: PgPool,
}

impl PostgresDatabase {
    /// Connects and applies `migrations`, recorded in `migrations_table`, under an advisory lock.
    pub async fn open(url: &PostgresUrl, migrations_table: &'static str, migrations: &[Migration]) -> Result<PostgresDatabase, StoreError> {
        let location = crate::DatabaseUrl::Postgres(url.clone()).to_string();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(url.connect_options())
            .await
            .map_err(|source| StoreError::Open { location: location.clone(), source })?;
        // sqlx's migrator takes `pg_advisory_lock` for the run, so of many replicas starting at
        // once one migrates and the others wait, then find nothing left to do.
        migrations::migrator(migrations_table, migrations).run(&pool).await.map_err(|source| StoreError::Migrate { location, source })?;
        Ok(PostgresDatabase { pool })
    }

    /// The pool, for reads and writes.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// What any replica publishes on `channel` (`NOTIFY`, or `pg_notify` in a trigger), as this
    /// replica receives it.
    pub fn notifications(&self, channel: &'static str) -> Notifications {
        Notifications { pool: self.pool.clone(), channel, listener: None }
    }
}

/// How long a lost listener waits before connecting again.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// What [`Notifications::next`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A message's payload.
    Message(String),
    /// The listener (re)connected: whatever was published before, while it was not listening,
    /// is lost, so the receiver reads what it needs from the tables again.
    Missed,
}

/// The messages of one channel, on a connection of the pool that is made again when lost.
/// Drop it before closing the database: closing waits for every connection to come back.
pub struct Notifications {
    pool: PgPool,
    channel: &'static str,
    listener: Option<PgListener>,
}

impl Notifications {
    /// The next message, or [`Notification::Missed`] after every (re)connection, the first
    /// included. While the database cannot be reached it tries again every second.
    pub async fn next(&mut self) -> Notification {
        loop {
            let Some(listener) = &mut self.listener else {
                match listen(&self.pool, self.channel).await {
                    Ok(listener) => {
                        self.listener = Some(listener);
                        return Notification::Missed;
                    }
                    Err(error) => {
                        tracing::warn!("cannot listen on the database's {} channel, trying again: {error}", self.channel);
                        tokio::time::sleep(RELISTEN_DELAY).await;
                        continue;
                    }
                }
            };
            match listener.try_recv().await {
                Ok(Some(notification)) => return Notification::Message(notification.payload().to_owned()),
                // The connection was lost, and sqlx has made a new one that listens again.
                Ok(None) => return Notification::Missed,
                Err(error) => {
                    tracing::warn!("lost the database's {} channel, listening again: {error}", self.channel);
                    self.listener = None;
                    tokio::time::sleep(RELISTEN_DELAY).await;
                }
            }
        }
    }
}

async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::{Database, Schema};

    const PEOPLE: [Migration; 1] = [Migration { version: 1, description: "people", sql: "CREATE TABLE people (name TEXT NOT NULL)" }];
    static SCHEMA: Schema = Schema { migrations_table: "_people_migrations", sqlite: &PEOPLE, postgres: &PEOPLE };

    #[tokio::test]
    async fn replicas_starting_together_migrate_once() {
        let url = crate::testing::fresh_postgres_database().await;
        let starting: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Database::open(&url, &SCHEMA).await })
            })
            .collect();
        let mut databases = Vec::new();
        for replica in starting {
            databases.push(replica.await.unwrap().unwrap());
        }
        let Database::Postgres(database) = &databases[0] else { panic!("a PostgreSQL URL opens PostgreSQL") };
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _people_migrations").fetch_one(database.pool()).await.unwrap();
        assert_eq!(applied, 1, "one migration, recorded once");
        let people: i64 = crate::with_database!(&databases[1], |writer, reader| {
            sqlx::query("INSERT INTO people (name) VALUES ($1)").bind("ada").execute(writer).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE name = $1").bind("ada").fetch_one(reader).await.unwrap()
        });
        assert_eq!(people, 1);
        for database in databases {
            database.close().await;
        }
    }

    #[tokio::test]
    async fn a_replica_hears_what_another_publishes_and_learns_when_it_may_have_missed_some() {
        let url = crate::testing::fresh_postgres_database().await;
        let (Database::Postgres(listening), Database::Postgres(publishing)) =
            (Database::open(&url, &SCHEMA).await.unwrap(), Database::open(&url, &SCHEMA).await.unwrap())
        else {
            panic!("a PostgreSQL URL opens PostgreSQL")
        };
        let mut notifications = listening.notifications("clerk_test_channel");
        async fn next(notifications: &mut Notifications) -> Notification {
            tokio::time::timeout(Duration::from_secs(10), notifications.next()).await.expect("a notification within 10 s")
        }
        assert_eq!(next(&mut notifications).await, Notification::Missed, "the first connection");
        sqlx::query("SELECT pg_notify('clerk_test_channel', 'grant-1')").execute(publishing.pool()).await.unwrap();
        assert_eq!(next(&mut notifications).await, Notification::Message("grant-1".to_owned()));
        // The listening connection dies (a database restart, a network cut): the listener says
        // so once it is back, then hears what is published after.
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()")
            .execute(publishing.pool())
            .await
            .unwrap();
        assert_eq!(next(&mut notifications).await, Notification::Missed, "after the connection was lost");
        sqlx::query("SELECT pg_notify('clerk_test_channel', 'grant-2')").execute(publishing.pool()).await.unwrap();
        assert_eq!(next(&mut notifications).await, Notification::Message("grant-2".to_owned()));
        // The listener holds a connection of the pool, which closing waits for.
        drop(notifications);
        listening.close().await;
        publishing.close().await;
    }
}

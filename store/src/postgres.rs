//! PostgreSQL, for state that replicas share: one pool per part of the database, and the part's
//! migrations applied under PostgreSQL's advisory lock, so that replicas starting together
//! migrate once.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

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
}

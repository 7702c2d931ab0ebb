//! Legacy MCP sessions in the server's tables, so that any replica (or this one after a
//! restart) can continue a session another opened: rmcp's [`SessionStore`] keeps the client's
//! initialize parameters, which rmcp replays to rebuild the session, and this store keeps
//! beside them who opened it, which the auth middleware checks before a session is continued.
//!
//! Only the opening and the end of a session write here, and only a replica meeting a session
//! for the first time reads: a session already known to a replica costs no query.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clerk_store::{Database, StoreError, with_database};
use rmcp::transport::streamable_http_server::session::store::{SessionState, SessionStore, SessionStoreError};

/// A session unused for this long (not opened or taken up by a replica) is forgotten; its
/// client opens a new one. Sessions on a replica that keeps running never need the row.
const SESSION_ROW_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Sessions kept per owner; an owner's older ones go first.
const SESSIONS_KEPT_PER_OWNER: i64 = 256;
/// Initialize parameters larger than this are not kept (such a session cannot move); a real
/// client sends a few kilobytes.
const MAX_STATE_BYTES: usize = 64 * 1024;

/// The store rmcp restores sessions from, and the owners of those sessions.
pub(crate) struct SqlSessionStore {
    database: Database,
    /// With sign-in, a session without an owner (whose opening was cut short) is never
    /// continued; without sign-in every caller is the operator.
    owners_required: bool,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs() as i64).unwrap_or_default()
}

fn oldest_kept() -> i64 {
    now() - SESSION_ROW_LIFETIME.as_secs() as i64
}

impl SqlSessionStore {
    /// The store in the server's tables (`crate::state::open`).
    pub(crate) fn new(database: Database, owners_required: bool) -> SqlSessionStore {
        SqlSessionStore { database, owners_required }
    }

    /// Who opened the session, if this store knows the session and its owner.
    pub(crate) async fn owner(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let owner: Option<Option<String>> = with_database!(&self.database, |writer, reader| {
            sqlx::query_scalar("SELECT owner FROM mcp_sessions WHERE session_id = $1 AND touched_at >= $2")
                .bind(session_id)
                .bind(oldest_kept())
                .fetch_optional(reader)
                .await?
        });
        Ok(owner.flatten())
    }

    /// Records who opened a session (once: an owner is never replaced), and forgets the
    /// owner's sessions beyond the most recent [`SESSIONS_KEPT_PER_OWNER`].
    pub(crate) async fn set_owner(&self, session_id: &str, owner: &str) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query("UPDATE mcp_sessions SET owner = $2 WHERE session_id = $1 AND owner IS NULL")
                .bind(session_id)
                .bind(owner)
                .execute(writer)
                .await?;
            sqlx::query(
                "DELETE FROM mcp_sessions WHERE owner = $1 AND session_id NOT IN
                 (SELECT session_id FROM mcp_sessions WHERE owner = $1 ORDER BY touched_at DESC LIMIT $2)",
            )
            .bind(owner)
            .bind(SESSIONS_KEPT_PER_OWNER)
            .execute(writer)
            .await?;
        });
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for SqlSessionStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let row: Option<(String, Option<String>)> = with_database!(&self.database, |writer, reader| {
            let row = sqlx::query_as("SELECT state, owner FROM mcp_sessions WHERE session_id = $1 AND touched_at >= $2")
                .bind(session_id)
                .bind(oldest_kept())
                .fetch_optional(reader)
                .await?;
            // Taken up again: the session is in use, so its row lives another day.
            if row.is_some() {
                sqlx::query("UPDATE mcp_sessions SET touched_at = $2 WHERE session_id = $1")
                    .bind(session_id)
                    .bind(now())
                    .execute(writer)
                    .await?;
            }
            row
        });
        match row {
            Some((_, None)) if self.owners_required => Ok(None),
            Some((state, _)) => Ok(Some(serde_json::from_str(&state)?)),
            None => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let state = serde_json::to_string(state)?;
        if state.len() > MAX_STATE_BYTES {
            tracing::info!(
                "not keeping a session whose initialize parameters take {} bytes: it cannot move to another replica",
                state.len()
            );
            return Ok(());
        }
        with_database!(&self.database, |writer, reader| {
            sqlx::query("DELETE FROM mcp_sessions WHERE touched_at < $1").bind(oldest_kept()).execute(writer).await?;
            sqlx::query(
                "INSERT INTO mcp_sessions (session_id, state, touched_at) VALUES ($1, $2, $3)
                 ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, touched_at = excluded.touched_at",
            )
            .bind(session_id)
            .bind(&state)
            .bind(now())
            .execute(writer)
            .await?;
        });
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query("DELETE FROM mcp_sessions WHERE session_id = $1").bind(session_id).execute(writer).await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clerk_store::DatabaseUrl;
    use rmcp::model::InitializeRequestParams;

    use super::*;

    /// A SQLite file and a fresh PostgreSQL database: every test runs on both.
    async fn stores(directory: &tempfile::TempDir, owners_required: bool) -> Vec<SqlSessionStore> {
        let mut stores = Vec::new();
        for url in [DatabaseUrl::sqlite(directory.path().join("db")), clerk_store::testing::fresh_postgres_database().await] {
            stores.push(SqlSessionStore::new(crate::state::open(&url).await.unwrap(), owners_required));
        }
        stores
    }

    fn state() -> SessionState {
        SessionState::new(InitializeRequestParams::default())
    }

    #[tokio::test]
    async fn a_session_is_restored_only_once_its_owner_is_known_and_never_given_to_another() {
        let directory = tempfile::tempdir().unwrap();
        for store in stores(&directory, true).await {
            store.store("s1", &state()).await.unwrap();
            assert!(store.load("s1").await.unwrap().is_none(), "no owner yet: not restored");
            store.set_owner("s1", "ada").await.unwrap();
            assert!(store.load("s1").await.unwrap().is_some());
            store.set_owner("s1", "grace").await.unwrap();
            assert_eq!(store.owner("s1").await.unwrap().as_deref(), Some("ada"), "an owner is never replaced");
            store.delete("s1").await.unwrap();
            assert!(store.load("s1").await.unwrap().is_none() && store.owner("s1").await.unwrap().is_none());
        }
        for store in stores(&tempfile::tempdir().unwrap(), false).await {
            store.store("s1", &state()).await.unwrap();
            assert!(store.load("s1").await.unwrap().is_some(), "without sign-in there are no owners to wait for");
        }
    }

    #[tokio::test]
    async fn sessions_unused_for_a_day_are_forgotten_and_an_owner_keeps_only_the_most_recent() {
        let directory = tempfile::tempdir().unwrap();
        for store in stores(&directory, true).await {
            store.store("old", &state()).await.unwrap();
            store.set_owner("old", "ada").await.unwrap();
            with_database!(&store.database, |writer, reader| {
                sqlx::query("UPDATE mcp_sessions SET touched_at = $1").bind(oldest_kept() - 1).execute(writer).await.unwrap();
            });
            assert!(store.load("old").await.unwrap().is_none(), "unused for a day");
            for number in 0..SESSIONS_KEPT_PER_OWNER + 2 {
                let session = format!("s{number}");
                store.store(&session, &state()).await.unwrap();
                store.set_owner(&session, "ada").await.unwrap();
            }
            let kept: i64 = with_database!(&store.database, |writer, reader| {
                sqlx::query_scalar("SELECT COUNT(*) FROM mcp_sessions").fetch_one(reader).await.unwrap()
            });
            assert_eq!(kept, SESSIONS_KEPT_PER_OWNER, "the expired row was deleted, and the owner's oldest beyond the cap");
        }
    }
}

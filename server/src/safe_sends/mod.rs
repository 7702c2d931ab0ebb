//! Where the safety of sends keeps its state: [`SafeSendStore`] on SQLite, in the same
//! database file as the sign-ins (`--database-url`), with its own migrations table.
//!
//! Every claim runs on the database's single writer connection inside one transaction, so two
//! calls claiming one key at once are serialized and only one of them gets it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clerk_chat::mcp::{CallKey, Claim, RecentSend, SafeSendStore, StoreFailure, StoreFuture};
use clerk_store::sqlite::SqliteDatabase;
use clerk_store::{Migration, StoreError};
use serde_json::Value;
use sqlx::Row;

const MIGRATIONS: [Migration; 1] =
    [Migration { version: 1, description: "safe sends", sql: include_str!("../../migrations/0001_safe_sends.sql") }];

/// The migrations table of this part of the database; the sign-ins keep sqlx's default one.
const MIGRATIONS_TABLE: &str = "_safe_sends_migrations";

/// Live idempotency keys one account may hold: a client sending more than this many distinct
/// calls within a key's lifetime is refused new keys until old ones expire.
pub const MAX_KEYS_PER_ACCOUNT: i64 = 200_000;

/// Results larger than this are not kept; a retry of such a call is told to look it up instead.
const MAX_RESULT_BYTES: usize = 1024 * 1024;

/// How often expired keys and sends past the repeat window are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Rows deleted per statement of a sweep, so that a sweep never holds the writer for long.
const SWEEP_BATCH: i64 = 5_000;

/// The store of idempotency keys and recent sends on SQLite.
pub struct SqliteSafeSends {
    database: SqliteDatabase,
    max_keys_per_account: i64,
}

impl SqliteSafeSends {
    /// Opens the store in the database at `path`, and sweeps it every minute from now on:
    /// keys past their expiry, and sends older than `repeat_window`.
    pub async fn open(path: &Path, repeat_window: Duration) -> Result<Arc<SqliteSafeSends>, StoreError> {
        SqliteSafeSends::open_with_cap(path, repeat_window, MAX_KEYS_PER_ACCOUNT).await
    }

    async fn open_with_cap(path: &Path, repeat_window: Duration, max_keys_per_account: i64) -> Result<Arc<SqliteSafeSends>, StoreError> {
        let database = SqliteDatabase::open_part(path, MIGRATIONS_TABLE, &MIGRATIONS).await?;
        let store = Arc::new(SqliteSafeSends { database, max_keys_per_account });
        let weak = Arc::downgrade(&store);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                every.tick().await;
                let Some(store) = weak.upgrade() else { return };
                if let Err(error) = store.sweep(repeat_window).await {
                    tracing::warn!("cannot delete expired idempotency keys: {error}");
                }
            }
        });
        Ok(store)
    }

    /// Deletes expired keys and sends older than the repeat window, in batches.
    pub async fn sweep(&self, repeat_window: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        let mut deleted_keys = 0;
        loop {
            let deleted = sqlx::query(
                "DELETE FROM idempotency_keys WHERE (account, tool, idempotency_key) IN
                 (SELECT account, tool, idempotency_key FROM idempotency_keys WHERE expires_at < ? LIMIT ?)",
            )
            .bind(now)
            .bind(SWEEP_BATCH)
            .execute(self.database.writer())
            .await?
            .rows_affected();
            deleted_keys += deleted;
            if deleted < SWEEP_BATCH as u64 {
                break;
            }
        }
        if deleted_keys > 0 {
            sqlx::query("DELETE FROM idempotency_key_counts WHERE live <= 0").execute(self.database.writer()).await?;
        }
        sqlx::query("DELETE FROM recent_sends WHERE sent_at < ?")
            .bind(now - repeat_window.as_millis() as i64)
            .execute(self.database.writer())
            .await?;
        Ok(())
    }

    async fn claim_now(&self, key: &CallKey, fingerprint: &str, expires_at_ms: i64) -> Result<Claim, StoreError> {
        let now = now_ms();
        // The common case, a new key under the cap, in one statement; anything else (a key in
        // use, an expired one, the cap) is sorted out below in a transaction.
        let inserted = in_flight_key(
            "INSERT INTO idempotency_keys (account, tool, idempotency_key, fingerprint, state, result, started_at, alive_at, expires_at)
             SELECT ?, ?, ?, ?, 'in_flight', NULL, ?, ?, ?
             WHERE COALESCE((SELECT live FROM idempotency_key_counts WHERE account = ?), 0) < ?
             ON CONFLICT (account, tool, idempotency_key) DO NOTHING",
            key,
            fingerprint,
            now,
            expires_at_ms,
        )
        .bind(&key.account)
        .bind(self.max_keys_per_account)
        .execute(self.database.writer())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Claimed);
        }
        let mut transaction = self.database.writer().begin().await?;
        let row = sqlx::query(
            "SELECT fingerprint, state, result, started_at, alive_at, expires_at FROM idempotency_keys
             WHERE account = ? AND tool = ? AND idempotency_key = ?",
        )
        .bind(&key.account)
        .bind(key.tool)
        .bind(&key.key)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(row) = &row
            && row.get::<i64, _>(5) >= now
        {
            return Ok(held(row, fingerprint));
        }
        if row.is_none() {
            let live: i64 = sqlx::query_scalar("SELECT live FROM idempotency_key_counts WHERE account = ?")
                .bind(&key.account)
                .fetch_optional(&mut *transaction)
                .await?
                .unwrap_or(0);
            if live >= self.max_keys_per_account {
                return Ok(Claim::Full { limit: self.max_keys_per_account as u64 });
            }
        }
        // A new key (counted by a trigger), or an expired one taken over (counted already).
        in_flight_key(
            "INSERT INTO idempotency_keys (account, tool, idempotency_key, fingerprint, state, result, started_at, alive_at, expires_at)
             VALUES (?, ?, ?, ?, 'in_flight', NULL, ?, ?, ?)
             ON CONFLICT (account, tool, idempotency_key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'in_flight',
               result = NULL, started_at = excluded.started_at, alive_at = excluded.alive_at, expires_at = excluded.expires_at",
            key,
            fingerprint,
            now,
            expires_at_ms,
        )
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Claim::Claimed)
    }

    /// Sets the state (and result) of a key.
    async fn set_state(&self, key: &CallKey, state: &str, result: Option<String>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET state = ?, result = ?, alive_at = ? WHERE account = ? AND tool = ? AND idempotency_key = ?",
        )
        .bind(state)
        .bind(result)
        .bind(now_ms())
        .bind(&key.account)
        .bind(key.tool)
        .bind(&key.key)
        .execute(self.database.writer())
        .await?;
        Ok(())
    }
}

/// `sql` inserting a key in flight since `now`, with its first seven parameters bound: account,
/// tool, key, fingerprint, started, alive, expires.
fn in_flight_key<'a>(
    sql: &'static str,
    key: &'a CallKey,
    fingerprint: &'a str,
    now: i64,
    expires_at_ms: i64,
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(sql).bind(&key.account).bind(key.tool).bind(&key.key).bind(fingerprint).bind(now).bind(now).bind(expires_at_ms)
}

/// What a live key found by a claim says: its result, that it runs, or that it is unknown.
fn held(row: &sqlx::sqlite::SqliteRow, fingerprint: &str) -> Claim {
    if row.get::<&str, _>(0) != fingerprint {
        return Claim::OtherArguments;
    }
    let started_at_ms = row.get::<i64, _>(3);
    match row.get::<&str, _>(1) {
        "done" => match row.get::<Option<&str>, _>(2).and_then(|result| serde_json::from_str(result).ok()) {
            Some(result) => Claim::Done(result),
            // A result too large to keep: the retry looks the call up instead.
            None => Claim::Unknown { started_at_ms },
        },
        "in_flight" => Claim::InFlight { started_at_ms, alive_at_ms: row.get::<i64, _>(4) },
        _ => Claim::Unknown { started_at_ms },
    }
}

fn failure(error: StoreError) -> StoreFailure {
    StoreFailure(error.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or_default()
}

impl SafeSendStore for SqliteSafeSends {
    fn claim<'a>(&'a self, key: &'a CallKey, fingerprint: &'a str, expires_at_ms: i64) -> StoreFuture<'a, Claim> {
        Box::pin(async move { self.claim_now(key, fingerprint, expires_at_ms).await.map_err(failure) })
    }

    fn retake<'a>(&'a self, key: &'a CallKey, started_at_ms: i64, stale_before_ms: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let now = now_ms();
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET state = 'in_flight', started_at = ?, alive_at = ?
                 WHERE account = ? AND tool = ? AND idempotency_key = ? AND started_at = ?
                   AND (state = 'unknown' OR (state = 'in_flight' AND alive_at < ?) OR (state = 'done' AND result IS NULL))",
            )
            .bind(now)
            .bind(now)
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .bind(started_at_ms)
            .bind(stale_before_ms)
            .execute(self.database.writer())
            .await
            .map_err(|error| failure(error.into()))?;
            Ok(taken.rows_affected() == 1)
        })
    }

    fn touch<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE idempotency_keys SET alive_at = ? WHERE account = ? AND tool = ? AND idempotency_key = ? AND state = 'in_flight'",
            )
            .bind(now_ms())
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .execute(self.database.writer())
            .await
            .map_err(|error| failure(error.into()))?;
            Ok(())
        })
    }

    fn settle<'a>(&'a self, key: &'a CallKey, result: &'a Value) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text = result.to_string();
            let kept = (text.len() <= MAX_RESULT_BYTES).then_some(text);
            self.set_state(key, "done", kept).await.map_err(failure)
        })
    }

    fn mark_unknown<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.set_state(key, "unknown", None).await.map_err(failure) })
    }

    fn release<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // The trigger takes the key off the account's count.
            sqlx::query("DELETE FROM idempotency_keys WHERE account = ? AND tool = ? AND idempotency_key = ?")
                .bind(&key.account)
                .bind(key.tool)
                .bind(&key.key)
                .execute(self.database.writer())
                .await
                .map_err(|error| failure(error.into()))?;
            Ok(())
        })
    }

    fn last_send<'a>(
        &'a self,
        account: &'a str,
        tool: &'static str,
        fingerprint: &'a str,
        since_ms: i64,
    ) -> StoreFuture<'a, Option<RecentSend>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT sent_at, message_id, unknown FROM recent_sends WHERE account = ? AND tool = ? AND fingerprint = ? AND sent_at >= ?",
            )
            .bind(account)
            .bind(tool)
            .bind(fingerprint)
            .bind(since_ms)
            .fetch_optional(self.database.reader())
            .await
            .map_err(|error| failure(error.into()))?;
            Ok(row.map(|row| RecentSend { at_ms: row.get(0), id: row.get(1), unknown: row.get::<i64, _>(2) != 0 }))
        })
    }

    fn record_send<'a>(&'a self, account: &'a str, tool: &'static str, fingerprint: &'a str, send: &'a RecentSend) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO recent_sends (account, tool, fingerprint, sent_at, message_id, unknown) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (account, tool, fingerprint) DO UPDATE SET sent_at = excluded.sent_at, message_id = excluded.message_id, unknown = excluded.unknown",
            )
            .bind(account)
            .bind(tool)
            .bind(fingerprint)
            .bind(send.at_ms)
            .bind(&send.id)
            .bind(i64::from(send.unknown))
            .execute(self.database.writer())
            .await
            .map_err(|error| failure(error.into()))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(name: &str) -> CallKey {
        CallKey { account: "account-1".to_owned(), tool: "send_message", key: name.to_owned() }
    }

    #[tokio::test]
    async fn keys_are_capped_per_account_counted_by_the_triggers_and_expired_ones_reused() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteSafeSends::open_with_cap(&directory.path().join("db"), Duration::from_secs(600), 2).await.unwrap();
        let later = now_ms() + 60_000;
        assert_eq!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::Claimed);
        assert_eq!(store.claim(&key("b"), "f", later).await.unwrap(), Claim::Claimed);
        assert_eq!(store.claim(&key("c"), "f", later).await.unwrap(), Claim::Full { limit: 2 }, "the third live key is refused");
        let other_account = CallKey { account: "account-2".to_owned(), ..key("c") };
        assert_eq!(store.claim(&other_account, "f", later).await.unwrap(), Claim::Claimed, "the cap is per account");

        assert!(matches!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::InFlight { .. }));
        assert_eq!(store.claim(&key("a"), "g", later).await.unwrap(), Claim::OtherArguments);
        store.settle(&key("a"), &json!({"data": {"id": 7}})).await.unwrap();
        assert_eq!(store.claim(&key("a"), "f", later).await.unwrap(), Claim::Done(json!({"data": {"id": 7}})));

        store.release(&key("b")).await.unwrap();
        assert_eq!(store.claim(&key("c"), "f", later).await.unwrap(), Claim::Claimed, "a released key frees its place");

        // An expired key is taken over by a new call with the same key, without a new place.
        sqlx::query("UPDATE idempotency_keys SET expires_at = 0 WHERE idempotency_key = 'a'")
            .execute(store.database.writer())
            .await
            .unwrap();
        assert_eq!(store.claim(&key("a"), "g", later).await.unwrap(), Claim::Claimed);
        sqlx::query("UPDATE idempotency_keys SET expires_at = 0 WHERE idempotency_key = 'c'")
            .execute(store.database.writer())
            .await
            .unwrap();
        store.sweep(Duration::from_secs(600)).await.unwrap();
        assert_eq!(store.claim(&key("d"), "f", later).await.unwrap(), Claim::Claimed, "a swept key frees its place");
    }

    #[tokio::test]
    async fn only_one_retry_takes_over_a_key_with_an_unknown_outcome() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteSafeSends::open(&directory.path().join("db"), Duration::from_secs(600)).await.unwrap();
        assert_eq!(store.claim(&key("a"), "f", now_ms() + 60_000).await.unwrap(), Claim::Claimed);
        store.mark_unknown(&key("a")).await.unwrap();
        let Claim::Unknown { started_at_ms } = store.claim(&key("a"), "f", now_ms() + 60_000).await.unwrap() else { panic!("unknown") };
        let stale_before = now_ms() - 20_000;
        assert!(store.retake(&key("a"), started_at_ms, stale_before).await.unwrap());
        assert!(!store.retake(&key("a"), started_at_ms, stale_before).await.unwrap(), "the second retry finds it taken");
        assert!(matches!(store.claim(&key("a"), "f", now_ms() + 60_000).await.unwrap(), Claim::InFlight { .. }));
    }
}

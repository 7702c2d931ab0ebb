//! Where the safety of sends keeps its state: [`SafeSendStore`] on SQLite (in the same file as
//! the sign-ins) or PostgreSQL (shared by replicas), as `--database-url` says, written once for
//! both through `clerk_store::with_database!`, in the server's tables (`crate::state`).
//!
//! Every step that two calls (or two replicas) could race is one statement that succeeds for
//! one of them only: a new key is claimed by an insert that does nothing on conflict, an expired
//! key or one with an unknown outcome is taken over by an update conditional on what was read.

use std::sync::Arc;
use std::time::Duration;

use clerk_chat::mcp::{CallKey, Claim, RecentSend, SafeSendStore, StoreFailure, StoreFuture};
use clerk_store::{Database, StoreError, with_database};
use serde_json::Value;
use sqlx::Row;

/// Live idempotency keys one account may hold: a client sending more than this many distinct
/// calls within a key's lifetime is refused new keys until old ones expire.
pub const MAX_KEYS_PER_ACCOUNT: i64 = 200_000;

/// Results larger than this are not kept; a retry of such a call is told to look it up instead.
const MAX_RESULT_BYTES: usize = 1024 * 1024;

/// How often expired keys and sends past the repeat window are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Rows deleted per statement of a sweep, so that a sweep never holds the writer for long.
const SWEEP_BATCH: i64 = 5_000;

/// Claims that lose a race (the key changed between reading and taking it) try again this often.
const CLAIM_ATTEMPTS: usize = 5;

/// The store of idempotency keys and recent sends.
pub struct SqlSafeSends {
    database: Database,
    max_keys_per_account: i64,
}

/// A key's row, as read by a claim that found the key taken.
struct KeyRow {
    fingerprint: String,
    state: String,
    result: Option<String>,
    started_at: i64,
    alive_at: i64,
    expires_at: i64,
}

impl SqlSafeSends {
    /// The store in the server's tables (`crate::state::open`), swept every minute from now
    /// on: keys past their expiry, and sends older than `repeat_window`.
    pub fn new(database: Database, repeat_window: Duration) -> Arc<SqlSafeSends> {
        SqlSafeSends::with_cap(database, repeat_window, MAX_KEYS_PER_ACCOUNT)
    }

    fn with_cap(database: Database, repeat_window: Duration, max_keys_per_account: i64) -> Arc<SqlSafeSends> {
        let store = Arc::new(SqlSafeSends { database, max_keys_per_account });
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
        store
    }

    /// Whether the database answers and holds this part's tables: what `/readyz` reports.
    pub async fn ready(&self) -> bool {
        let answered: Result<Option<i64>, sqlx::Error> = with_database!(&self.database, |writer, reader| {
            sqlx::query_scalar("SELECT live FROM idempotency_key_counts LIMIT 1").fetch_optional(reader).await
        });
        if let Err(error) = &answered {
            tracing::warn!("not ready: the database does not answer: {error}");
        }
        answered.is_ok()
    }

    /// Deletes expired keys and sends older than the repeat window, in batches.
    pub async fn sweep(&self, repeat_window: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        with_database!(&self.database, |writer, reader| {
            loop {
                let deleted = sqlx::query(
                    "DELETE FROM idempotency_keys WHERE (account, tool, idempotency_key) IN
                     (SELECT account, tool, idempotency_key FROM idempotency_keys WHERE expires_at < $1 LIMIT $2)",
                )
                .bind(now)
                .bind(SWEEP_BATCH)
                .execute(writer)
                .await?
                .rows_affected();
                if deleted < SWEEP_BATCH as u64 {
                    break;
                }
            }
            sqlx::query("DELETE FROM idempotency_key_counts WHERE live <= 0").execute(writer).await?;
            sqlx::query("DELETE FROM recent_sends WHERE sent_at < $1").bind(now - repeat_window.as_millis() as i64).execute(writer).await?;
        });
        Ok(())
    }

    async fn claim_now(&self, key: &CallKey, fingerprint: &str, expires_at_ms: i64) -> Result<Claim, StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let now = now_ms();
            if self.insert_new_key(key, fingerprint, now, expires_at_ms).await? {
                return Ok(Claim::Claimed);
            }
            match self.key_row(key).await? {
                Some(row) if row.expires_at >= now => return Ok(held(&row, fingerprint)),
                // Expired: taken over by whoever updates it first; the count already has it.
                Some(row) if self.take_over_expired(key, fingerprint, now, expires_at_ms, row.expires_at).await? => {
                    return Ok(Claim::Claimed);
                }
                Some(_) => {}
                // No row, yet the insert did nothing: the account is at its cap (or the key was
                // deleted in between, and the next attempt inserts it).
                None if self.live_keys(&key.account).await? >= self.max_keys_per_account => {
                    return Ok(Claim::Full { limit: self.max_keys_per_account as u64 });
                }
                None => {}
            }
        }
        Err(StoreError::Query(sqlx::Error::Protocol(format!("the idempotency key kept changing over {CLAIM_ATTEMPTS} attempts"))))
    }

    /// Inserts a new key in flight, unless the key exists or the account is at its cap.
    async fn insert_new_key(&self, key: &CallKey, fingerprint: &str, now: i64, expires_at_ms: i64) -> Result<bool, StoreError> {
        let inserted = with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "INSERT INTO idempotency_keys (account, tool, idempotency_key, fingerprint, state, result, started_at, alive_at, expires_at)
                 SELECT $1, $2, $3, $4, 'in_flight', NULL, $5, $5, $6
                 WHERE COALESCE((SELECT live FROM idempotency_key_counts WHERE account = $1), 0) < $7
                 ON CONFLICT (account, tool, idempotency_key) DO NOTHING",
            )
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .bind(fingerprint)
            .bind(now)
            .bind(expires_at_ms)
            .bind(self.max_keys_per_account)
            .execute(writer)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Takes over a key that expired at `expired_at`, if no one else did since it was read.
    async fn take_over_expired(
        &self,
        key: &CallKey,
        fingerprint: &str,
        now: i64,
        expires_at_ms: i64,
        expired_at: i64,
    ) -> Result<bool, StoreError> {
        let taken = with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "UPDATE idempotency_keys SET fingerprint = $4, state = 'in_flight', result = NULL, started_at = $5, alive_at = $5, expires_at = $6
                 WHERE account = $1 AND tool = $2 AND idempotency_key = $3 AND expires_at = $7",
            )
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .bind(fingerprint)
            .bind(now)
            .bind(expires_at_ms)
            .bind(expired_at)
            .execute(writer)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    async fn key_row(&self, key: &CallKey) -> Result<Option<KeyRow>, StoreError> {
        Ok(with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "SELECT fingerprint, state, result, started_at, alive_at, expires_at FROM idempotency_keys
                 WHERE account = $1 AND tool = $2 AND idempotency_key = $3",
            )
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .fetch_optional(writer)
            .await?
            .map(|row| KeyRow {
                fingerprint: row.get(0),
                state: row.get(1),
                result: row.get(2),
                started_at: row.get(3),
                alive_at: row.get(4),
                expires_at: row.get(5),
            })
        }))
    }

    async fn live_keys(&self, account: &str) -> Result<i64, StoreError> {
        Ok(with_database!(&self.database, |writer, reader| {
            sqlx::query_scalar("SELECT live FROM idempotency_key_counts WHERE account = $1")
                .bind(account)
                .fetch_optional(writer)
                .await?
                .unwrap_or(0)
        }))
    }

    /// Sets the state (and result) of a key.
    async fn set_state(&self, key: &CallKey, state: &str, result: Option<String>) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "UPDATE idempotency_keys SET state = $1, result = $2, alive_at = $3 WHERE account = $4 AND tool = $5 AND idempotency_key = $6",
            )
            .bind(state)
            .bind(result)
            .bind(now_ms())
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .execute(writer)
            .await?;
        });
        Ok(())
    }
}

/// What a live key found by a claim says: its result, that it runs, or that it is unknown.
fn held(row: &KeyRow, fingerprint: &str) -> Claim {
    if row.fingerprint != fingerprint {
        return Claim::OtherArguments;
    }
    let started_at_ms = row.started_at;
    match row.state.as_str() {
        "done" => match row.result.as_deref().and_then(|result| serde_json::from_str(result).ok()) {
            Some(result) => Claim::Done(result),
            // A result too large to keep: the retry looks the call up instead.
            None => Claim::Unknown { started_at_ms },
        },
        "in_flight" => Claim::InFlight { started_at_ms, alive_at_ms: row.alive_at },
        _ => Claim::Unknown { started_at_ms },
    }
}

fn failure(error: StoreError) -> StoreFailure {
    StoreFailure(error.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or_default()
}

impl SafeSendStore for SqlSafeSends {
    fn claim<'a>(&'a self, key: &'a CallKey, fingerprint: &'a str, expires_at_ms: i64) -> StoreFuture<'a, Claim> {
        Box::pin(async move { self.claim_now(key, fingerprint, expires_at_ms).await.map_err(failure) })
    }

    fn retake<'a>(&'a self, key: &'a CallKey, started_at_ms: i64, stale_before_ms: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.retake_now(key, started_at_ms, stale_before_ms).await.map_err(failure) })
    }

    fn touch<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.touch_now(key).await.map_err(failure) })
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
        Box::pin(async move { self.release_now(key).await.map_err(failure) })
    }

    fn last_send<'a>(
        &'a self,
        account: &'a str,
        tool: &'static str,
        fingerprint: &'a str,
        since_ms: i64,
    ) -> StoreFuture<'a, Option<RecentSend>> {
        Box::pin(async move { self.last_send_now(account, tool, fingerprint, since_ms).await.map_err(failure) })
    }

    fn record_send<'a>(&'a self, account: &'a str, tool: &'static str, fingerprint: &'a str, send: &'a RecentSend) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.record_send_now(account, tool, fingerprint, send).await.map_err(failure) })
    }
}

/// The statements behind [`SafeSendStore`]'s methods that need nothing but one statement.
impl SqlSafeSends {
    async fn retake_now(&self, key: &CallKey, started_at_ms: i64, stale_before_ms: i64) -> Result<bool, StoreError> {
        let taken = with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "UPDATE idempotency_keys SET state = 'in_flight', started_at = $1, alive_at = $1
                 WHERE account = $2 AND tool = $3 AND idempotency_key = $4 AND started_at = $5
                   AND (state = 'unknown' OR (state = 'in_flight' AND alive_at < $6) OR (state = 'done' AND result IS NULL))",
            )
            .bind(now_ms())
            .bind(&key.account)
            .bind(key.tool)
            .bind(&key.key)
            .bind(started_at_ms)
            .bind(stale_before_ms)
            .execute(writer)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    async fn touch_now(&self, key: &CallKey) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query("UPDATE idempotency_keys SET alive_at = $1 WHERE account = $2 AND tool = $3 AND idempotency_key = $4 AND state = 'in_flight'")
                .bind(now_ms())
                .bind(&key.account)
                .bind(key.tool)
                .bind(&key.key)
                .execute(writer)
                .await?;
        });
        Ok(())
    }

    /// Deletes a key; the trigger takes it off the account's count.
    async fn release_now(&self, key: &CallKey) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query("DELETE FROM idempotency_keys WHERE account = $1 AND tool = $2 AND idempotency_key = $3")
                .bind(&key.account)
                .bind(key.tool)
                .bind(&key.key)
                .execute(writer)
                .await?;
        });
        Ok(())
    }

    async fn last_send_now(
        &self,
        account: &str,
        tool: &'static str,
        fingerprint: &str,
        since_ms: i64,
    ) -> Result<Option<RecentSend>, StoreError> {
        Ok(with_database!(&self.database, |writer, reader| {
            sqlx::query("SELECT sent_at, message_id, unknown FROM recent_sends WHERE account = $1 AND tool = $2 AND fingerprint = $3 AND sent_at >= $4")
                .bind(account)
                .bind(tool)
                .bind(fingerprint)
                .bind(since_ms)
                .fetch_optional(reader)
                .await?
                .map(|row| RecentSend { at_ms: row.get(0), id: row.get(1), unknown: row.get::<i64, _>(2) != 0 })
        }))
    }

    async fn record_send_now(&self, account: &str, tool: &'static str, fingerprint: &str, send: &RecentSend) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "INSERT INTO recent_sends (account, tool, fingerprint, sent_at, message_id, unknown) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (account, tool, fingerprint) DO UPDATE SET sent_at = excluded.sent_at, message_id = excluded.message_id, unknown = excluded.unknown",
            )
            .bind(account)
            .bind(tool)
            .bind(fingerprint)
            .bind(send.at_ms)
            .bind(&send.id)
            .bind(i64::from(send.unknown))
            .execute(writer)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The seam to the store of idempotency keys and recent sends, which the server provides
//! through [`crate::mcp::Host::safe_sends`] (SQLite or another backend behind it).

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

/// A boxed future, so that [`SafeSendStore`] stays object safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreFailure>> + Send + 'a>>;

/// Whose key, for which tool: keys are per account and per tool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    /// The account the call acts for.
    pub account: String,
    /// The tool called.
    pub tool: &'static str,
    /// The caller's idempotency key.
    pub key: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is new and now this call's: it must settle, mark or release it.
    Claimed,
    /// A call with this key and these arguments finished: its result.
    Done(Value),
    /// A call with this key is running.
    InFlight {
        /// When the running call started (ms).
        started_at_ms: i64,
        /// When the server running it last said it still is (ms); see [`SafeSendStore::touch`].
        alive_at_ms: i64,
    },
    /// A call with this key may or may not have taken effect, started at this time (ms).
    Unknown {
        /// When the call whose outcome is unknown started.
        started_at_ms: i64,
    },
    /// The key was used with other arguments.
    OtherArguments,
    /// The account holds as many live keys as it may; new ones are refused until some expire.
    Full {
        /// How many live keys an account may hold.
        limit: u64,
    },
}

/// The last identical send of an account within the repeat window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentSend {
    /// When it was sent (ms since the epoch).
    pub at_ms: i64,
    /// The id upstream gave it, when it answered.
    pub id: Option<String>,
    /// True when its outcome is unknown (no answer came back).
    pub unknown: bool,
}

/// The store failed; the call is refused, since nothing can be promised without it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreFailure(pub String);

/// Where idempotency keys and recent sends are kept, per account. Implementations must make
/// [`SafeSendStore::claim`] atomic: of two calls claiming one key at once, one gets `Claimed`.
pub trait SafeSendStore: Send + Sync {
    /// Claims `key` for a call whose arguments hash to `fingerprint`, or says what holds it.
    /// A claimed key expires at `expires_at_ms`.
    fn claim<'a>(&'a self, key: &'a CallKey, fingerprint: &'a str, expires_at_ms: i64) -> StoreFuture<'a, Claim>;

    /// Takes over a key whose call, started at `started_at_ms`, has an unknown outcome (or was
    /// in flight without a sign of life since `stale_before_ms`) and was found not to have
    /// happened: it is in flight again, from now. False when another call took it over first.
    fn retake<'a>(&'a self, key: &'a CallKey, started_at_ms: i64, stale_before_ms: i64) -> StoreFuture<'a, bool>;

    /// Says that the call holding `key` is still running, so that retries keep waiting for it
    /// instead of taking it for dead.
    fn touch<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()>;

    /// Records the result of the call that claimed `key`.
    fn settle<'a>(&'a self, key: &'a CallKey, result: &'a Value) -> StoreFuture<'a, ()>;

    /// Records that the call that claimed `key` may or may not have taken effect.
    fn mark_unknown<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()>;

    /// Forgets `key`: the call surely did not take effect, so a retry may send.
    fn release<'a>(&'a self, key: &'a CallKey) -> StoreFuture<'a, ()>;

    /// The last send of `account` with this repeat fingerprint at or after `since_ms`.
    fn last_send<'a>(
        &'a self,
        account: &'a str,
        tool: &'static str,
        fingerprint: &'a str,
        since_ms: i64,
    ) -> StoreFuture<'a, Option<RecentSend>>;

    /// Records a send for the repeat guard.
    fn record_send<'a>(&'a self, account: &'a str, tool: &'static str, fingerprint: &'a str, send: &'a RecentSend) -> StoreFuture<'a, ()>;
}

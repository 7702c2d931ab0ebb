//! Sends that cannot go wrong, for the tools whose manifest entry declares a `safety`:
//!
//! - an `idempotency_key` makes a retry return the first call's result instead of calling
//!   again, and a retry while the first call runs waits for it;
//! - a call whose outcome is unknown (a timeout after the request left) is looked up upstream
//!   before anything is sent again;
//! - an identical call within the repeat window is refused unless the caller says
//!   `allow_repeat`;
//! - a broadcast is confirmed by the user first, when the client can be asked.
//!
//! The store of keys and recent sends is the host's ([`SafeSendStore`]); this module decides.

mod confirm;
mod guard;
mod reconcile;
mod store;

use std::time::Duration;

pub(crate) use confirm::confirm_with_user;
pub(crate) use guard::{Before, SafeSend};
pub use store::{CallKey, Claim, RecentSend, SafeSendStore, StoreFailure, StoreFuture};

/// How the safety checks behave, from the server's settings.
#[derive(Debug, Clone)]
pub struct SafetySettings {
    /// How long an idempotency key is remembered.
    pub key_lifetime: Duration,
    /// How long an identical send is refused as a repeat; zero turns the repeat guard off.
    pub repeat_window: Duration,
    /// Broadcasts to more contacts than this are confirmed by the user, when the client can be
    /// asked; `None` never asks. Clerk Chat's API cannot count a list's contacts, so a broadcast
    /// of unknown size is always over the threshold.
    pub confirm_broadcasts_over: Option<u64>,
    /// How long a retry waits for the first call with its key to finish; a call running longer
    /// than this (the server died, say) is treated as one whose outcome is unknown.
    pub in_flight_wait: Duration,
}

impl Default for SafetySettings {
    fn default() -> SafetySettings {
        SafetySettings {
            key_lifetime: Duration::from_secs(24 * 3600),
            repeat_window: Duration::from_secs(600),
            confirm_broadcasts_over: Some(0),
            in_flight_wait: Duration::from_secs(35),
        }
    }
}

/// Milliseconds since the Unix epoch: the times the store keeps.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or_default()
}

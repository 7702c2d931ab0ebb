//! Who opened each MCP session: a session serves only the principal that opened it, so a
//! leaked session id is worth nothing with another account's token; and how many sessions an
//! account has open, so that one account cannot fill the server's memory with sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

/// rmcp closes a session after 5 idle minutes; an owner not seen for twice that is forgotten.
const OWNER_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Sessions remembered at most, whoever opened them; the least recently used go first.
const REMEMBERED_SESSIONS: u64 = 100_000;
/// Sessions one account may have open at once. A person with several editors open uses a
/// handful; an agent that opens one per task and never closes them reaches this.
pub(super) const MAX_SESSIONS_PER_ACCOUNT: usize = 64;

/// Session owners, and the count of open sessions per account that follows them.
pub(super) struct SessionOwners {
    owners: Cache<String, String>,
    open_by_account: Arc<Mutex<HashMap<String, usize>>>,
}

impl SessionOwners {
    pub(super) fn new() -> SessionOwners {
        let open_by_account: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let counts = Arc::clone(&open_by_account);
        // Whenever an owner leaves the cache (closed, idle, or pushed out), its account has one
        // session fewer. An account's entry goes with its last session, so the map is never
        // larger than the cache.
        let owners = Cache::builder()
            .max_capacity(REMEMBERED_SESSIONS)
            .time_to_idle(OWNER_IDLE_TIMEOUT)
            .eviction_listener(move |_session: Arc<String>, subject: String, _cause| {
                let mut counts = counts.lock().expect("the session count lock is never poisoned");
                if let Some(count) = counts.get_mut(&subject) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        counts.remove(&subject);
                    }
                }
            })
            .build();
        SessionOwners { owners, open_by_account }
    }

    /// True unless the session was opened by someone else. A session this server has no owner
    /// for is left to rmcp, which answers 404 for one it does not know either.
    pub(super) fn is_theirs(&self, session: &str, subject: &str) -> bool {
        self.owners.get(session).is_none_or(|owner| owner == subject)
    }

    /// Whether the account may open one more session.
    pub(super) fn may_open(&self, subject: &str) -> bool {
        // Expired owners are counted out before the count is read.
        self.owners.run_pending_tasks();
        self.open_by_account.lock().expect("the session count lock is never poisoned").get(subject).copied().unwrap_or(0)
            < MAX_SESSIONS_PER_ACCOUNT
    }

    pub(super) fn remember(&self, session: &str, subject: String) {
        *self.open_by_account.lock().expect("the session count lock is never poisoned").entry(subject.clone()).or_default() += 1;
        self.owners.insert(session.to_owned(), subject);
    }

    pub(super) fn forget(&self, session: &str) {
        self.owners.invalidate(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_may_open_sessions_up_to_the_cap_and_more_as_it_closes_them() {
        let owners = SessionOwners::new();
        for session in 0..MAX_SESSIONS_PER_ACCOUNT {
            assert!(owners.may_open("ada"), "session {session}");
            owners.remember(&format!("s{session}"), "ada".to_owned());
        }
        assert!(!owners.may_open("ada"), "the cap is reached");
        assert!(owners.may_open("grace"), "another account is not affected");
        assert!(owners.is_theirs("s0", "ada") && !owners.is_theirs("s0", "grace"));
        owners.forget("s0");
        assert!(owners.may_open("ada"), "closing one frees a place");
        assert!(owners.is_theirs("s0", "grace"), "a forgotten session is left to rmcp");
    }
}

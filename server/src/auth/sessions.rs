//! Who opened each MCP session: a session serves only the principal that opened it, so a
//! leaked session id is worth nothing with another account's token; and how many sessions an
//! account has open on this replica, so that one account cannot fill its memory with sessions.
//! Owners are kept in memory and, for sessions other replicas may continue, in the database:
//! a replica reads an owner there only for a session it meets for the first time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use crate::session_store::SqlSessionStore;

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
    /// Where the owners of sessions that can move between replicas are kept.
    shared: Option<Arc<SqlSessionStore>>,
}

/// Whether a request may go into the session it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionAccess {
    /// Opened by the caller, or unknown (rmcp answers 404 for a session it cannot find).
    Allowed,
    /// Opened by someone else.
    Refused,
    /// Its owner is in the database, which does not answer.
    Unverifiable,
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
        SessionOwners { owners, open_by_account, shared: None }
    }

    /// Keeps owners in `store` too, for sessions that other replicas continue.
    pub(super) fn share(&mut self, store: Arc<SqlSessionStore>) {
        self.shared = Some(store);
    }

    /// Whether `subject` may use the session. A session this replica has no owner for is
    /// looked up in the database once; one found nowhere is left to rmcp, which cannot restore
    /// it either (it restores only sessions with an owner).
    pub(super) async fn access(&self, session: &str, subject: &str) -> SessionAccess {
        if let Some(owner) = self.owners.get(session) {
            return if owner == subject { SessionAccess::Allowed } else { SessionAccess::Refused };
        }
        let Some(shared) = &self.shared else { return SessionAccess::Allowed };
        match shared.owner(session).await {
            Ok(None) => SessionAccess::Allowed,
            Ok(Some(owner)) if owner != subject => SessionAccess::Refused,
            Ok(Some(owner)) => {
                tracing::info!("continuing an MCP session opened by another replica or before a restart");
                self.remember_here(session, owner);
                SessionAccess::Allowed
            }
            Err(error) => {
                tracing::warn!("cannot look up who opened an MCP session: {error}");
                SessionAccess::Unverifiable
            }
        }
    }

    /// Whether the account may open one more session.
    pub(super) fn may_open(&self, subject: &str) -> bool {
        // Expired owners are counted out before the count is read.
        self.owners.run_pending_tasks();
        self.open_by_account.lock().expect("the session count lock is never poisoned").get(subject).copied().unwrap_or(0)
            < MAX_SESSIONS_PER_ACCOUNT
    }

    /// Records the owner of a session just opened, here and for the other replicas.
    pub(super) async fn remember(&self, session: &str, subject: String) {
        if let Some(shared) = &self.shared
            && let Err(error) = shared.set_owner(session, &subject).await
        {
            // The session works here; another replica will not take it up.
            tracing::warn!("cannot record who opened an MCP session: {error}");
        }
        self.remember_here(session, subject);
    }

    fn remember_here(&self, session: &str, subject: String) {
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

    #[tokio::test]
    async fn an_account_may_open_sessions_up_to_the_cap_and_more_as_it_closes_them() {
        let owners = SessionOwners::new();
        for session in 0..MAX_SESSIONS_PER_ACCOUNT {
            assert!(owners.may_open("ada"), "session {session}");
            owners.remember(&format!("s{session}"), "ada".to_owned()).await;
        }
        assert!(!owners.may_open("ada"), "the cap is reached");
        assert!(owners.may_open("grace"), "another account is not affected");
        assert_eq!(owners.access("s0", "ada").await, SessionAccess::Allowed);
        assert_eq!(owners.access("s0", "grace").await, SessionAccess::Refused);
        owners.forget("s0");
        assert!(owners.may_open("ada"), "closing one frees a place");
        assert_eq!(owners.access("s0", "grace").await, SessionAccess::Allowed, "a forgotten session is left to rmcp");
    }
}

//! Who opened each MCP session: a session serves only the principal that opened it, so a
//! leaked session id is worth nothing with another account's token.

use std::time::{Duration, Instant};

use super::ResourceServer;

/// rmcp drops a session after 5 idle minutes; an owner not seen for this long is forgotten.
const SESSION_OWNER_TTL: Duration = Duration::from_secs(3600);

/// The principal that opened a session, and when it was last seen.
pub(super) struct SessionOwner {
    pub(super) subject: String,
    pub(super) last_seen: Instant,
}

impl ResourceServer {
    /// True unless the session was opened by someone else. A session this server has no owner
    /// for is left to rmcp, which answers 404 for one it does not know either.
    pub(super) fn session_is_theirs(&self, session: &str, subject: &str) -> bool {
        let mut owners = self.session_owners.lock().expect("the session lock is never poisoned");
        match owners.get_mut(session) {
            Some(owner) if owner.subject == subject => {
                owner.last_seen = Instant::now();
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    pub(super) fn remember_session(&self, session: &str, subject: String) {
        let mut owners = self.session_owners.lock().expect("the session lock is never poisoned");
        owners.retain(|_, owner| owner.last_seen.elapsed() < SESSION_OWNER_TTL);
        owners.insert(session.to_owned(), SessionOwner { subject, last_seen: Instant::now() });
    }

    pub(super) fn forget_session(&self, session: &str) {
        self.session_owners.lock().expect("the session lock is never poisoned").remove(session);
    }
}

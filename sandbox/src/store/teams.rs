//! Teams and their API keys: which team a key belongs to, answered from memory.

use clerk_store::StoreError;

use super::{Store, hash_key};

impl Store {
    pub(crate) async fn team_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM teams").fetch_one(self.reader()).await?)
    }

    /// The team of an API key; `None` for a key no team has.
    pub(crate) fn team_for_key(&self, key: &str) -> Option<String> {
        self.keys.read().expect("the key cache lock is never poisoned").get(&hash_key(key)).cloned()
    }

    /// Remembers a key made in a committed transaction.
    pub(super) fn remember_key(&self, key: &str, team_id: &str) {
        self.keys.write().expect("the key cache lock is never poisoned").insert(hash_key(key), team_id.to_owned());
    }
}

//! A team's inboxes: the numbers it sends from, each on one provider.

use clerk_store::StoreError;
use sqlx::Row;

use super::{SeededInbox, Store};

/// An inbox as a send needs it.
#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    pub(crate) id: String,
    pub(crate) phone: String,
    pub(crate) provider: String,
}

impl Store {
    pub(crate) async fn inbox_by_phone(&self, team_id: &str, phone: &str) -> Result<Option<Inbox>, StoreError> {
        let row = sqlx::query("SELECT id, phone, provider FROM inboxes WHERE team_id = ? AND phone = ?")
            .bind(team_id)
            .bind(phone)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|row| Inbox { id: row.get(0), phone: row.get(1), provider: row.get(2) }))
    }

    pub(crate) async fn inboxes(&self, team_id: &str) -> Result<Vec<SeededInbox>, StoreError> {
        let rows = sqlx::query("SELECT id, phone, provider FROM inboxes WHERE team_id = ? ORDER BY phone")
            .bind(team_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(|row| SeededInbox { id: row.get(0), phone: row.get(1), provider: row.get(2) }).collect())
    }

    pub(crate) async fn inbox_phones(&self, team_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT phone FROM inboxes WHERE team_id = ? ORDER BY phone").bind(team_id).fetch_all(self.reader()).await?)
    }
}

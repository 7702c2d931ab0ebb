//! Campaigns: one text to every contact of a list who has not opted out, now or at a time.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clerk_chat::types;
use clerk_store::StoreError;
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use super::messages::insert_message;
use super::{Inbox, NewMessage, Store, parse_time, timestamp};

/// A campaign to store, scheduled for `send_at`.
pub(crate) struct NewCampaign<'a> {
    pub(crate) team_id: &'a str,
    pub(crate) inbox: &'a Inbox,
    pub(crate) list_id: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) body: &'a str,
    pub(crate) media_urls: &'a [String],
    pub(crate) provider: &'a str,
    pub(crate) send_at: DateTime<Utc>,
}

const CAMPAIGN_COLUMNS: &str =
    "id, team_id, user_id, inbox_id, name, body, provider, status, recipient_count, send_at, created, updated, error";

impl Store {
    /// Stores a campaign as scheduled; [`Store::fire_campaign`] sends it.
    pub(crate) async fn create_campaign(&self, campaign: &NewCampaign<'_>) -> Result<i64, StoreError> {
        let now = timestamp(Utc::now());
        let result = sqlx::query(
            "INSERT INTO campaigns (team_id, inbox_id, list_id, name, body, media_urls, provider, status, send_at, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?)",
        )
        .bind(campaign.team_id)
        .bind(&campaign.inbox.id)
        .bind(campaign.list_id)
        .bind(campaign.name)
        .bind(campaign.body)
        .bind(json!(campaign.media_urls).to_string())
        .bind(campaign.provider)
        .bind(timestamp(campaign.send_at))
        .bind(&now)
        .bind(&now)
        .execute(self.writer())
        .await?;
        Ok(result.last_insert_rowid())
    }

    pub(crate) async fn campaign(&self, id: i64) -> Result<Option<types::Campaign>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(campaign_from_row))
    }

    /// The scheduled campaigns whose time has come.
    pub(crate) async fn due_campaigns(&self, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM campaigns WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at, id")
            .bind(timestamp(now))
            .fetch_all(self.reader())
            .await?)
    }

    /// When the next scheduled campaign is due, if any is.
    pub(crate) async fn next_campaign_time(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> =
            sqlx::query_scalar("SELECT MIN(send_at) FROM campaigns WHERE status = 'scheduled'").fetch_one(self.reader()).await?;
        Ok(next.as_deref().map(parse_time))
    }

    /// Sends a campaign: one message to every contact of its list that has a phone and has not
    /// opted out, in one transaction with the campaign's new status. A campaign already sent
    /// is left alone, so firing twice (say, across a restart) sends once.
    pub(crate) async fn fire_campaign(&self, id: i64, delivery_delay: Duration) -> Result<(), StoreError> {
        let mut transaction = self.writer().begin().await?;
        let row = sqlx::query("SELECT c.team_id, c.inbox_id, i.phone, i.provider, c.list_id, c.body, c.media_urls, c.provider, c.status FROM campaigns c JOIN inboxes i ON i.id = c.inbox_id WHERE c.id = ?")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else { return Ok(()) };
        if row.get::<String, _>(8) != "scheduled" {
            return Ok(());
        }
        let team_id: String = row.get(0);
        let inbox = Inbox { id: row.get(1), phone: row.get(2), provider: row.get(3) };
        let list_id: String = row.get(4);
        let body: String = row.get(5);
        let media_urls: Vec<String> = serde_json::from_str(&row.get::<String, _>(6)).unwrap_or_default();
        let provider: String = row.get(7);
        // The messages go out now, whether the campaign was due now or while the sandbox was down.
        let sent = Utc::now();
        let recipients: Vec<String> = sqlx::query_scalar(
            "SELECT c.phone FROM contact_list_members m JOIN contacts c ON c.id = m.contact_id WHERE m.list_id = ? AND c.opt_out = 0 AND c.phone IS NOT NULL ORDER BY c.created, c.id",
        )
        .bind(&list_id)
        .fetch_all(&mut *transaction)
        .await?;
        for recipient in &recipients {
            let message = NewMessage {
                team_id: &team_id,
                inbox: &inbox,
                campaign_id: Some(id),
                inbound: false,
                sender: &inbox.phone,
                recipients: std::slice::from_ref(recipient),
                sender_type: Some("campaign"),
                sent_by_name: None,
                body: &body,
                media_urls: &media_urls,
                provider: &provider,
                created: sent,
            };
            insert_message(&mut transaction, &message, delivery_delay).await?;
        }
        sqlx::query("UPDATE campaigns SET status = 'sent', recipient_count = ?, updated = ? WHERE id = ?")
            .bind(recipients.len() as i64)
            .bind(timestamp(Utc::now()))
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        Ok(transaction.commit().await?)
    }
}

fn campaign_from_row(row: &SqliteRow) -> types::Campaign {
    types::Campaign {
        body: Some(row.get("body")),
        created: Some(parse_time(row.get("created"))),
        error: row.get("error"),
        id: clerk_chat::types::CampaignId(row.get("id")),
        inbox_id: uuid::Uuid::parse_str(row.get("inbox_id")).ok().map(clerk_chat::types::InboxId),
        name: row.get("name"),
        provider: types::Provider::from_str(row.get("provider")).ok(),
        recipient_count: row.get("recipient_count"),
        status: types::CampaignStatus::from_str(row.get("status")).unwrap_or(types::CampaignStatus::Scheduled),
        team_id: Some(row.get("team_id")),
        timestamp: Some(parse_time(row.get("send_at"))),
        updated: Some(parse_time(row.get("updated"))),
        user_id: row.get("user_id"),
    }
}

//! The sandbox's SQLite database: schema migrations, seeding, and every query.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use clerk_chat::types;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqlitePool};

use crate::providers::{self, FAILING_NUMBER};

/// The schema, compiled into the binary so that a sandbox needs no files beside its database.
fn migrator() -> Migrator {
    let initial = AssertSqlSafe(include_str!("../migrations/0001_initial.sql")).into_sql_str();
    Migrator::with_migrations(vec![Migration::new(1, "initial".into(), MigrationType::Simple, initial, false)])
}

pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

pub(crate) fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[derive(Debug, Clone)]
pub(crate) struct Store {
    /// Readers run side by side (WAL); writes go through `writer`'s single connection, queued
    /// fairly in the pool instead of spinning in SQLite's busy handler, which made latency spiky.
    reader: SqlitePool,
    writer: SqlitePool,
    /// API key hash -> team id. Keys are only added, so a cache is always right.
    keys: Arc<RwLock<HashMap<String, String>>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SeededInbox {
    pub id: String,
    pub phone: String,
    pub provider: String,
}

/// A new team and what was made for it. `api_key` is shown once and never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamSeed {
    pub team_id: String,
    pub name: String,
    pub api_key: String,
    pub inboxes: Vec<SeededInbox>,
    pub list_name: String,
    pub opted_out_phone: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    pub id: String,
    pub phone: String,
    pub provider: String,
}

pub(crate) struct NewMessage<'a> {
    pub team_id: &'a str,
    pub inbox: &'a Inbox,
    pub campaign_id: Option<i64>,
    pub inbound: bool,
    pub sender: &'a str,
    pub recipients: &'a [String],
    pub sender_type: Option<&'a str>,
    pub sent_by_name: Option<&'a str>,
    pub body: &'a str,
    pub media_urls: &'a [String],
    pub provider: &'a str,
    pub created: DateTime<Utc>,
}

pub(crate) struct MessageFilter {
    pub inbox_ids: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) struct ContactFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub public: Option<bool>,
    pub data: Option<Map<String, Value>>,
}

pub(crate) struct NewCampaign<'a> {
    pub team_id: &'a str,
    pub inbox: &'a Inbox,
    pub list_id: &'a str,
    pub name: Option<&'a str>,
    pub body: &'a str,
    pub media_urls: &'a [String],
    pub provider: &'a str,
    pub send_at: DateTime<Utc>,
}

/// A message as the API shows it, put together by SQLite from text serialized at insert: a
/// page of 50 messages then costs string concatenation, not 50 serializations. The status is
/// computed from the message's times and `clock.now`, so the lifecycle needs no worker and
/// survives restarts. Needs `m` (messages) and `clock(now)`.
const MESSAGE_JSON: &str = "'{\"id\":' || m.id
    || CASE WHEN m.campaign_id IS NULL THEN '' ELSE ',\"campaignMessageId\":' || m.id END
    || ',' || m.fixed_json
    || ',\"status\":\"' || CASE WHEN clock.now < m.sent_at THEN 'sending' WHEN clock.now < m.done_at THEN 'sent' ELSE m.final_status END
    || '\",\"updated\":\"' || CASE WHEN clock.now < m.sent_at THEN m.created WHEN clock.now < m.done_at THEN m.sent_at ELSE m.done_at END || '\"'
    || CASE WHEN clock.now >= m.done_at THEN m.final_fields_json ELSE '' END
    || '}'";

const CONTACT_COLUMNS: &str = "id, team_id, created_by_user_id, name, phone, email, opt_out, public, data, created, updated";
const CAMPAIGN_COLUMNS: &str =
    "id, team_id, user_id, inbox_id, name, body, provider, status, recipient_count, send_at, created, updated, error";

impl Store {
    pub(crate) async fn open(path: &Path) -> Result<Store, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses nothing on a process crash (kill -9); only a power loss
            // can drop the last transactions, which a sandbox can afford.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let migrator = migrator();
        migrator.run(&writer).await.map_err(sqlx::Error::from)?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        let mut keys = HashMap::new();
        for row in sqlx::query("SELECT key_sha256, team_id FROM api_keys").fetch_all(&reader).await? {
            keys.insert(row.get::<String, _>(0), row.get::<String, _>(1));
        }
        Ok(Store { reader, writer, keys: Arc::new(RwLock::new(keys)) })
    }

    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(crate) async fn team_count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM teams").fetch_one(&self.reader).await
    }

    pub(crate) fn team_for_key(&self, key: &str) -> Option<String> {
        self.keys.read().expect("the key cache lock is never poisoned").get(&hash_key(key)).cloned()
    }

    /// Makes a team with a fresh API key, two inboxes on different providers, a user, and a
    /// contact list of five contacts, one of them opted out.
    pub(crate) async fn create_team(&self, name: &str) -> Result<TeamSeed, sqlx::Error> {
        let now = timestamp(Utc::now());
        let team_id = new_id("team");
        let api_key = format!("ck_sandbox_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        // Each team gets its own fictional numbers from the reserved 555-01xx range.
        let area = 200 + (self.team_count().await? % 700) as u32;
        let phone = |last: u32| format!("+1{area}55501{last:02}");
        let mut transaction = self.writer.begin().await?;
        sqlx::query("INSERT INTO teams (id, name, created) VALUES (?, ?, ?)")
            .bind(&team_id)
            .bind(name)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO api_keys (key_sha256, team_id, created) VALUES (?, ?, ?)")
            .bind(hash_key(&api_key))
            .bind(&team_id)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
        let mut inboxes = Vec::new();
        for (index, (inbox_name, provider)) in [("Main line", "twilio"), ("Support", "bandwidth")].into_iter().enumerate() {
            let inbox = SeededInbox { id: uuid::Uuid::new_v4().to_string(), phone: phone(index as u32), provider: provider.to_owned() };
            sqlx::query("INSERT INTO inboxes (id, team_id, name, phone, provider) VALUES (?, ?, ?, ?, ?)")
                .bind(&inbox.id)
                .bind(&team_id)
                .bind(inbox_name)
                .bind(&inbox.phone)
                .bind(&inbox.provider)
                .execute(&mut *transaction)
                .await?;
            inboxes.push(inbox);
        }
        sqlx::query("INSERT INTO users (id, team_id, email, first_name, last_name, role, created) VALUES (?, ?, ?, 'Sandbox', 'Owner', 'workspace_owner', ?)")
            .bind(new_id("usr"))
            .bind(&team_id)
            .bind(format!("owner@{}.sandbox.example", team_id))
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
        let list_id = new_id("list");
        let list_name = "Demo customers".to_owned();
        sqlx::query("INSERT INTO contact_lists (id, team_id, name) VALUES (?, ?, ?)")
            .bind(&list_id)
            .bind(&team_id)
            .bind(&list_name)
            .execute(&mut *transaction)
            .await?;
        let people = [
            ("Ada Lovelace", false),
            ("Grace Hopper", false),
            ("Alan Turing", false),
            ("Katherine Johnson", false),
            ("Edsger Dijkstra", true),
        ];
        let mut opted_out_phone = String::new();
        for (index, (person, opted_out)) in people.into_iter().enumerate() {
            let contact_id = new_id("ct");
            let contact_phone = phone(10 + index as u32);
            let email = format!("{}@example.com", person.split(' ').next().unwrap_or("x").to_lowercase());
            if opted_out {
                opted_out_phone = contact_phone.clone();
            }
            sqlx::query("INSERT INTO contacts (id, team_id, name, phone, email, opt_out, public, data, created, updated) VALUES (?, ?, ?, ?, ?, ?, 1, '{}', ?, ?)")
                .bind(&contact_id)
                .bind(&team_id)
                .bind(person)
                .bind(&contact_phone)
                .bind(&email)
                .bind(opted_out)
                .bind(&now)
                .bind(&now)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("INSERT INTO contact_list_members (list_id, contact_id) VALUES (?, ?)")
                .bind(&list_id)
                .bind(&contact_id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        self.keys.write().expect("the key cache lock is never poisoned").insert(hash_key(&api_key), team_id.clone());
        Ok(TeamSeed { team_id, name: name.to_owned(), api_key, inboxes, list_name, opted_out_phone })
    }

    pub(crate) async fn inbox_by_phone(&self, team_id: &str, phone: &str) -> Result<Option<Inbox>, sqlx::Error> {
        let row = sqlx::query("SELECT id, phone, provider FROM inboxes WHERE team_id = ? AND phone = ?")
            .bind(team_id)
            .bind(phone)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|row| Inbox { id: row.get(0), phone: row.get(1), provider: row.get(2) }))
    }

    pub(crate) async fn inboxes(&self, team_id: &str) -> Result<Vec<SeededInbox>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, phone, provider FROM inboxes WHERE team_id = ? ORDER BY phone")
            .bind(team_id)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(|row| SeededInbox { id: row.get(0), phone: row.get(1), provider: row.get(2) }).collect())
    }

    pub(crate) async fn inbox_phones(&self, team_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT phone FROM inboxes WHERE team_id = ? ORDER BY phone").bind(team_id).fetch_all(&self.reader).await
    }

    /// The phones among `phones` that belong to opted-out contacts of the team.
    pub(crate) async fn opted_out_among(&self, team_id: &str, phones: &[String]) -> Result<Vec<String>, sqlx::Error> {
        let placeholders = vec!["?"; phones.len()].join(", ");
        let sql =
            format!("SELECT DISTINCT phone FROM contacts WHERE team_id = ? AND opt_out = 1 AND phone IN ({placeholders}) ORDER BY phone");
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(team_id);
        for phone in phones {
            query = query.bind(phone);
        }
        query.fetch_all(&self.reader).await
    }

    /// Stores a message and answers it as JSON.
    pub(crate) async fn insert_message(&self, message: &NewMessage<'_>, delivery_delay: Duration) -> Result<String, sqlx::Error> {
        let mut connection = self.writer.acquire().await?;
        let id = insert_message(&mut connection, message, delivery_delay).await?;
        let sql = format!("WITH clock(now) AS (SELECT ?) SELECT {MESSAGE_JSON} FROM messages m, clock WHERE m.id = ?");
        sqlx::query_scalar(AssertSqlSafe(sql)).bind(timestamp(Utc::now())).bind(id).fetch_one(&mut *connection).await
    }

    /// One page of the team's messages, newest first, as a JSON array, and how many match.
    pub(crate) async fn find_messages(&self, team_id: &str, filter: &MessageFilter) -> Result<(String, i64), sqlx::Error> {
        let mut conditions = String::from("m.team_id = ?");
        if !filter.inbox_ids.is_empty() {
            conditions.push_str(&format!(" AND m.inbox_id IN ({})", vec!["?"; filter.inbox_ids.len()].join(", ")));
        }
        if filter.start.is_some() {
            conditions.push_str(" AND m.created >= ?");
        }
        if filter.end.is_some() {
            conditions.push_str(" AND m.created <= ?");
        }
        // One statement for the count and the page: each statement is a round trip to
        // sqlx's SQLite worker thread, and those hand-offs dominate the cost of a read.
        let sql = format!(
            "WITH clock(now) AS (SELECT ?), \
                  page AS (SELECT * FROM messages m WHERE {conditions} ORDER BY m.created DESC, m.id DESC LIMIT ? OFFSET ?) \
             SELECT (SELECT COUNT(*) FROM messages m WHERE {conditions}), \
                    (SELECT '[' || COALESCE(group_concat({MESSAGE_JSON}, ',' ORDER BY m.created DESC, m.id DESC), '') || ']' FROM page m, clock)"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(timestamp(Utc::now()));
        query = bind_message_filters(query, team_id, filter).bind(filter.limit).bind(filter.offset);
        let row = bind_message_filters(query, team_id, filter).fetch_one(&self.reader).await?;
        let (total, data): (i64, String) = (row.get(0), row.get(1));
        Ok((data, total))
    }

    pub(crate) async fn search_contacts(
        &self,
        team_id: &str,
        phone: Option<&str>,
        email: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<types::Contact>, sqlx::Error> {
        let mut sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ?");
        if phone.is_some() {
            sql.push_str(" AND phone = ?");
        }
        if email.is_some() {
            sql.push_str(" AND email = ? COLLATE NOCASE");
        }
        if query.is_some() {
            sql.push_str(" AND (name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\')");
        }
        sql.push_str(" ORDER BY created, id LIMIT 200");
        let mut statement = sqlx::query(AssertSqlSafe(sql)).bind(team_id);
        if let Some(phone) = phone {
            statement = statement.bind(phone);
        }
        if let Some(email) = email {
            statement = statement.bind(email);
        }
        if let Some(query) = query {
            let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            statement = statement.bind(pattern.clone()).bind(pattern.clone()).bind(pattern);
        }
        let rows = statement.fetch_all(&self.reader).await?;
        Ok(rows.iter().map(contact_from_row).collect())
    }

    /// Creates all contacts or, on a storage error, none.
    pub(crate) async fn create_contacts(&self, team_id: &str, contacts: &[ContactFields]) -> Result<Vec<types::Contact>, sqlx::Error> {
        let now = timestamp(Utc::now());
        let mut transaction = self.writer.begin().await?;
        let mut ids = Vec::new();
        for contact in contacts {
            let id = new_id("ct");
            sqlx::query("INSERT INTO contacts (id, team_id, name, phone, email, opt_out, public, data, created, updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)")
                .bind(&id)
                .bind(team_id)
                .bind(&contact.name)
                .bind(&contact.phone)
                .bind(&contact.email)
                .bind(contact.public.unwrap_or(false))
                .bind(Value::Object(contact.data.clone().unwrap_or_default()).to_string())
                .bind(&now)
                .bind(&now)
                .execute(&mut *transaction)
                .await?;
            ids.push(id);
        }
        let mut created = Vec::new();
        for id in &ids {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?")))
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?;
            created.push(contact_from_row(&row));
        }
        transaction.commit().await?;
        Ok(created)
    }

    /// Updates the given fields of a team's contact; `None` when the team has no such contact.
    pub(crate) async fn update_contact(
        &self,
        team_id: &str,
        id: &str,
        fields: &ContactFields,
    ) -> Result<Option<types::Contact>, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE contacts SET name = COALESCE(?, name), email = COALESCE(?, email), phone = COALESCE(?, phone), public = COALESCE(?, public), data = COALESCE(?, data), updated = ? WHERE team_id = ? AND id = ?",
        )
        .bind(&fields.name)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(fields.public)
        .bind(fields.data.as_ref().map(|data| Value::Object(data.clone()).to_string()))
        .bind(timestamp(Utc::now()))
        .bind(team_id)
        .bind(id)
        .execute(&self.writer)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        self.contact(team_id, id).await
    }

    pub(crate) async fn contact(&self, team_id: &str, id: &str) -> Result<Option<types::Contact>, sqlx::Error> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ? AND id = ?")))
            .bind(team_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(contact_from_row))
    }

    pub(crate) async fn delete_contact(&self, team_id: &str, id: &str) -> Result<Option<types::Contact>, sqlx::Error> {
        let mut transaction = self.writer.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ? AND id = ?")))
            .bind(team_id)
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query("DELETE FROM contact_list_members WHERE contact_id = ?").bind(id).execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM contacts WHERE id = ?").bind(id).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(Some(contact_from_row(&row)))
    }

    /// Opts every contact of the team with this phone out (or back in).
    pub(crate) async fn set_opt_out(&self, team_id: &str, phone: &str, opted_out: bool) -> Result<u64, sqlx::Error> {
        let result = sqlx::query("UPDATE contacts SET opt_out = ?, updated = ? WHERE team_id = ? AND phone = ?")
            .bind(opted_out)
            .bind(timestamp(Utc::now()))
            .bind(team_id)
            .bind(phone)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected())
    }

    pub(crate) async fn list_by_name(&self, team_id: &str, name: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM contact_lists WHERE team_id = ? AND name = ?")
            .bind(team_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await
    }

    pub(crate) async fn list_names(&self, team_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT name FROM contact_lists WHERE team_id = ? ORDER BY name").bind(team_id).fetch_all(&self.reader).await
    }

    pub(crate) async fn create_campaign(&self, campaign: &NewCampaign<'_>) -> Result<i64, sqlx::Error> {
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
        .execute(&self.writer)
        .await?;
        Ok(result.last_insert_rowid())
    }

    pub(crate) async fn campaign(&self, id: i64) -> Result<Option<types::Campaign>, sqlx::Error> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(campaign_from_row))
    }

    /// The scheduled campaigns whose time has come.
    pub(crate) async fn due_campaigns(&self, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM campaigns WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at, id")
            .bind(timestamp(now))
            .fetch_all(&self.reader)
            .await
    }

    /// When the next scheduled campaign is due, if any is.
    pub(crate) async fn next_campaign_time(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let next: Option<String> =
            sqlx::query_scalar("SELECT MIN(send_at) FROM campaigns WHERE status = 'scheduled'").fetch_one(&self.reader).await?;
        Ok(next.as_deref().map(parse_time))
    }

    /// Sends a campaign: one message to every contact of its list that has a phone and has not
    /// opted out, in one transaction with the campaign's new status. A campaign already sent
    /// is left alone, so firing twice (say, across a restart) sends once.
    pub(crate) async fn fire_campaign(&self, id: i64, delivery_delay: Duration) -> Result<(), sqlx::Error> {
        let mut transaction = self.writer.begin().await?;
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
        transaction.commit().await
    }

    pub(crate) async fn add_user(
        &self,
        team_id: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        role: &str,
    ) -> Result<Option<types::ClerkChatUserResponse>, sqlx::Error> {
        let id = new_id("usr");
        let result = sqlx::query("INSERT INTO users (id, team_id, email, first_name, last_name, role, created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, email) DO NOTHING")
            .bind(&id)
            .bind(team_id)
            .bind(email)
            .bind(first_name)
            .bind(last_name)
            .bind(role)
            .bind(timestamp(Utc::now()))
            .execute(&self.writer)
            .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(types::ClerkChatUserResponse {
            id,
            email: email.to_owned(),
            role: role.to_owned(),
            first_name: first_name.map(str::to_owned),
            last_name: last_name.map(str::to_owned),
        }))
    }

    pub(crate) async fn search_users(&self, team_id: &str, emails: &[String]) -> Result<Vec<types::ClerkChatUser>, sqlx::Error> {
        let mut sql = String::from("SELECT id, email, first_name, last_name, role, created FROM users WHERE team_id = ?");
        if !emails.is_empty() {
            sql.push_str(&format!(" AND email IN ({})", vec!["?"; emails.len()].join(", ")));
        }
        sql.push_str(" ORDER BY created, id");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(team_id);
        for email in emails {
            query = query.bind(email);
        }
        let rows = query.fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|row| types::ClerkChatUser {
                id: row.get(0),
                email: row.get(1),
                first_name: row.get(2),
                last_name: row.get(3),
                role: types::UserRole::from_str(row.get::<&str, _>(4)).ok(),
                created: Some(parse_time(row.get(5))),
            })
            .collect())
    }
}

/// Binds the values of the conditions `find_messages` writes, in the same order.
fn bind_message_filters<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    team_id: &str,
    filter: &MessageFilter,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    query = query.bind(team_id.to_owned());
    for inbox in &filter.inbox_ids {
        query = query.bind(inbox.clone());
    }
    if let Some(start) = filter.start {
        query = query.bind(timestamp(start));
    }
    if let Some(end) = filter.end {
        query = query.bind(timestamp(end));
    }
    query
}

async fn insert_message(
    connection: &mut sqlx::SqliteConnection,
    message: &NewMessage<'_>,
    delivery_delay: Duration,
) -> Result<i64, sqlx::Error> {
    let behaviour = providers::behaviour(message.provider).unwrap_or(providers::PROVIDERS[0]);
    let (to_sent, to_done) = if message.inbound { (Duration::ZERO, Duration::ZERO) } else { behaviour.timeline(delivery_delay) };
    let fails = !message.inbound && message.recipients.iter().any(|recipient| recipient == FAILING_NUMBER);
    let final_status = if fails { "failed" } else { "delivered" };
    let final_fields = if fails {
        let error = format!("the carrier rejected the message: {FAILING_NUMBER} is the sandbox's number reserved for failures");
        format!(",\"error\":{},\"errorCode\":30006", json!(error))
    } else {
        String::new()
    };
    let mut members: Vec<&str> = vec![message.sender];
    members.extend(message.recipients.iter().map(String::as_str));
    let mut participants: Vec<&str> = members.clone();
    participants.sort_unstable();
    let conversation_id = format!("conv_{}", &hash_key(&format!("{}|{}", message.team_id, participants.join(",")))[..16]);
    let created = timestamp(message.created);
    let to_chrono = |duration: Duration| chrono::Duration::from_std(duration).unwrap_or_default();
    let fixed = json!({
        "body": message.body,
        "conversationId": conversation_id,
        "campaignId": message.campaign_id,
        "inboxId": message.inbox.id,
        "inbound": message.inbound,
        "members": members,
        "sender": message.sender,
        "senderType": message.sender_type,
        "sentByName": message.sent_by_name,
        "created": created,
        "seen": message.inbound,
        "externalId": format!("{}{}", behaviour.id_prefix, uuid::Uuid::new_v4().simple()),
        "segments": crate::segments::segments(message.body),
        "timestamp": created,
    })
    .to_string();
    let fixed_members = &fixed[1..fixed.len() - 1];
    let result = sqlx::query(
        "INSERT INTO messages (team_id, inbox_id, conversation_id, campaign_id, inbound, media_urls, provider, created, sent_at, done_at, final_status, fixed_json, final_fields_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(message.team_id)
    .bind(&message.inbox.id)
    .bind(&conversation_id)
    .bind(message.campaign_id)
    .bind(message.inbound)
    .bind(json!(message.media_urls).to_string())
    .bind(message.provider)
    .bind(&created)
    .bind(timestamp(message.created + to_chrono(to_sent)))
    .bind(timestamp(message.created + to_chrono(to_done)))
    .bind(final_status)
    .bind(fixed_members)
    .bind(final_fields)
    .execute(&mut *connection)
    .await?;
    Ok(result.last_insert_rowid())
}

fn contact_from_row(row: &SqliteRow) -> types::Contact {
    let data: Map<String, Value> = serde_json::from_str(row.get("data")).unwrap_or_default();
    types::Contact {
        attributes: Vec::new(),
        avatar_url: None,
        created: Some(parse_time(row.get("created"))),
        created_by_user_id: row.get("created_by_user_id"),
        data: Some(types::ContactData(data)),
        email: row.get("email"),
        external_id: None,
        id: row.get("id"),
        name: row.get("name"),
        opt_out: Some(row.get("opt_out")),
        phone: row.get("phone"),
        public: Some(row.get("public")),
        team_id: Some(row.get("team_id")),
        updated: Some(parse_time(row.get("updated"))),
    }
}

fn campaign_from_row(row: &SqliteRow) -> types::Campaign {
    types::Campaign {
        body: Some(row.get("body")),
        created: Some(parse_time(row.get("created"))),
        error: row.get("error"),
        id: row.get("id"),
        inbox_id: uuid::Uuid::parse_str(row.get("inbox_id")).ok(),
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

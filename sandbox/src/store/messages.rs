//! Messages: stored once with everything that never changes already serialized, and read back
//! as the API's JSON assembled by SQLite.
//!
//! Why the JSON is assembled in SQL: a page of 50 messages then costs string concatenation in
//! one statement, not 50 row decodings and serializations; BENCHMARKS.md measured it. What is
//! concatenated is only ever JSON that serde_json wrote (`fixed_json`, `final_fields_json`:
//! object members without their braces) and the status and times SQLite computes, so the result
//! is valid JSON by construction. The status is computed from the message's times and the
//! clock, so the lifecycle needs no worker and survives restarts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clerk_store::StoreError;
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{AssertSqlSafe, Row, Sqlite};

use super::{Inbox, Store, hash_key, timestamp};
use crate::providers::{self, FAILING_NUMBER};

/// A message to store: outbound (a send or a campaign's) or inbound (an injected reply).
pub(crate) struct NewMessage<'a> {
    pub(crate) team_id: &'a str,
    pub(crate) inbox: &'a Inbox,
    pub(crate) campaign_id: Option<i64>,
    pub(crate) inbound: bool,
    pub(crate) sender: &'a str,
    pub(crate) recipients: &'a [String],
    pub(crate) sender_type: Option<&'a str>,
    pub(crate) sent_by_name: Option<&'a str>,
    pub(crate) body: &'a str,
    pub(crate) media_urls: &'a [String],
    pub(crate) provider: &'a str,
    pub(crate) created: DateTime<Utc>,
}

/// Which of a team's messages a page shows.
pub(crate) struct MessageFilter {
    pub(crate) inbox_ids: Vec<String>,
    pub(crate) start: Option<DateTime<Utc>>,
    pub(crate) end: Option<DateTime<Utc>>,
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

/// A message as the API shows it. Needs `m` (messages) and `clock(now)` in the query.
const MESSAGE_JSON: &str = "'{\"id\":' || m.id
    || CASE WHEN m.campaign_id IS NULL THEN '' ELSE ',\"campaignMessageId\":' || m.id END
    || ',' || m.fixed_json
    || ',\"status\":\"' || CASE WHEN clock.now < m.sent_at THEN 'sending' WHEN clock.now < m.done_at THEN 'sent' ELSE m.final_status END
    || '\",\"updated\":\"' || CASE WHEN clock.now < m.sent_at THEN m.created WHEN clock.now < m.done_at THEN m.sent_at ELSE m.done_at END || '\"'
    || CASE WHEN clock.now >= m.done_at THEN m.final_fields_json ELSE '' END
    || '}'";

impl Store {
    /// Stores a message and answers it as JSON.
    pub(crate) async fn insert_message(&self, message: &NewMessage<'_>, delivery_delay: Duration) -> Result<String, StoreError> {
        let mut connection = self.writer().acquire().await?;
        let id = insert_message(&mut connection, message, delivery_delay).await?;
        let sql = format!("WITH clock(now) AS (SELECT ?) SELECT {MESSAGE_JSON} FROM messages m, clock WHERE m.id = ?");
        Ok(sqlx::query_scalar(AssertSqlSafe(sql)).bind(timestamp(Utc::now())).bind(id).fetch_one(&mut *connection).await?)
    }

    /// One page of the team's messages, newest first, as a JSON array, and how many match.
    pub(crate) async fn find_messages(&self, team_id: &str, filter: &MessageFilter) -> Result<(String, i64), StoreError> {
        let conditions = filter_conditions("m", filter);
        // Without a date range the total is the sum of the kept per-inbox counts (migration 2),
        // whatever the history's length; with one, the matching messages are counted. Both
        // read the same values, bound in the same order.
        let total = if filter.start.is_some() || filter.end.is_some() {
            format!("SELECT COUNT(*) FROM messages m WHERE {conditions}")
        } else {
            format!("SELECT COALESCE(SUM(c.messages), 0) FROM message_counts c WHERE {}", filter_conditions("c", filter))
        };
        // One statement for the count and the page: each statement is a round trip to
        // sqlx's SQLite worker thread, and those hand-offs dominate the cost of a read. The
        // limit is written into the text, not bound: SQLite plans with a bound LIMIT's value,
        // so binding it again expires the cached statement and every find parsed it anew.
        let limit = filter.limit;
        let sql = format!(
            "WITH clock(now) AS (SELECT ?), \
                  page AS (SELECT * FROM messages m WHERE {conditions} ORDER BY m.created DESC, m.id DESC LIMIT {limit} OFFSET ?) \
             SELECT ({total}), \
                    (SELECT '[' || COALESCE(group_concat({MESSAGE_JSON}, ',' ORDER BY m.created DESC, m.id DESC), '') || ']' FROM page m, clock)"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(timestamp(Utc::now()));
        query = bind_message_filters(query, team_id, filter).bind(filter.offset);
        let row = bind_message_filters(query, team_id, filter).fetch_one(self.reader()).await?;
        let (total, data): (i64, String) = (row.get(0), row.get(1));
        Ok((data, total))
    }
}

/// The conditions of a find on the table aliased `alias` (`messages`, or `message_counts`
/// when there is no date range), with placeholders in the order `bind_message_filters` binds.
fn filter_conditions(alias: &str, filter: &MessageFilter) -> String {
    let mut conditions = format!("{alias}.team_id = ?");
    if !filter.inbox_ids.is_empty() {
        conditions.push_str(&format!(" AND {alias}.inbox_id IN ({})", vec!["?"; filter.inbox_ids.len()].join(", ")));
    }
    if filter.start.is_some() {
        conditions.push_str(&format!(" AND {alias}.created >= ?"));
    }
    if filter.end.is_some() {
        conditions.push_str(&format!(" AND {alias}.created <= ?"));
    }
    conditions
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Binds the values of the conditions `find_messages` writes, in the same order.
fn bind_message_filters<'q>(mut query: Query<'q>, team_id: &str, filter: &MessageFilter) -> Query<'q> {
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

/// The members of a JSON object without its braces, to be spliced into another object.
fn object_members(object: &Value) -> String {
    let text = object.to_string();
    text.strip_prefix('{').and_then(|text| text.strip_suffix('}')).unwrap_or_default().to_owned()
}

/// Stores a message on `connection` (a transaction's, for a campaign) and returns its id.
pub(super) async fn insert_message(
    connection: &mut SqliteConnection,
    message: &NewMessage<'_>,
    delivery_delay: Duration,
) -> Result<i64, StoreError> {
    let behaviour = providers::behaviour(message.provider).unwrap_or(providers::PROVIDERS[0]);
    let (to_sent, to_done) = if message.inbound { (Duration::ZERO, Duration::ZERO) } else { behaviour.timeline(delivery_delay) };
    let fails = !message.inbound && message.recipients.iter().any(|recipient| recipient == FAILING_NUMBER);
    let final_status = if fails { "failed" } else { "delivered" };
    // What a failed message shows once it has failed: spliced after the other members.
    let final_fields = if fails {
        let error = format!("the carrier rejected the message: {FAILING_NUMBER} is the sandbox's number reserved for failures");
        format!(",{}", object_members(&json!({"error": error, "errorCode": 30006})))
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
        "segments": clerk_chat::sms::segments(message.body),
        "timestamp": created,
    });
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
    .bind(object_members(&fixed))
    .bind(final_fields)
    .execute(&mut *connection)
    .await?;
    Ok(result.last_insert_rowid())
}

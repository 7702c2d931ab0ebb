//! The HTTP API: every operation of openapi/clerk-chat.yaml at the same path and method, plus
//! the sandbox's own endpoints under `/sandbox`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use clerk_chat::phone::is_e164;
use clerk_chat::types;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::providers::{self, PROVIDER_NAMES};
use crate::store::{ContactFields, MessageFilter, NewCampaign, NewMessage, Store};
use crate::validate::{Fields, parse_object};

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    pub delivery_delay: Duration,
    pub limiter: Arc<RateLimiter>,
    /// Wakes the campaign scheduler when a campaign is scheduled.
    pub scheduler: Arc<Notify>,
    /// Statuses to answer the next `/public` requests with, queued by `POST /sandbox/faults`.
    pub faults: Arc<Mutex<std::collections::VecDeque<u16>>>,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/public/messages", post(send_message).get(find_messages))
        .route("/public/contacts", get(search_contacts).post(create_contact))
        .route("/public/contacts/batch", post(create_contacts_batch))
        .route("/public/contacts/{id}", put(update_contact).delete(delete_contact))
        .route("/public/campaigns", post(create_campaign))
        .route("/public/admin/users", post(add_user).get(search_users))
        .route("/sandbox/inbound", post(inject_inbound))
        .route("/sandbox/teams", post(create_team))
        .route("/sandbox/faults", post(queue_faults))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::NotFound("no such endpoint; the API lives under /public (see openapi/clerk-chat.yaml)".to_owned()) })
        .with_state(state)
}

/// A token bucket per team: `rate` requests a second on average, bursts up to twice that.
pub(crate) struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 turns limiting off.
    pub(crate) fn new(rate: u32) -> RateLimiter {
        RateLimiter { rate: f64::from(rate), buckets: Mutex::new(HashMap::new()) }
    }

    fn admit(&self, team_id: &str) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let burst = self.rate * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("the rate limiter lock is never poisoned");
        let (tokens, last) = buckets.entry(team_id.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The team of the request's API key, once the team is within its rate and no fault is queued.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(status) = state.faults.lock().expect("the fault queue lock is never poisoned").pop_front() {
        return Err(ApiError::Injected(status));
    }
    let key = headers.get("apikey").and_then(|value| value.to_str().ok()).ok_or(ApiError::Unauthorized)?;
    let team_id = state.store.team_for_key(key).ok_or(ApiError::Unauthorized)?;
    if !state.limiter.admit(&team_id) {
        return Err(ApiError::RateLimited);
    }
    Ok(team_id)
}

fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// A JSON answer whose parts SQLite already serialized.
fn raw_json(status: StatusCode, body: String) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn send_message(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let sender = fields.phone("sender", true);
    let recipients = fields.phone_array("recipients", true, 1, 100);
    let text = fields.string("body", true, 1, 1600);
    let media_urls = fields.media_urls("mediaUrls", true);
    let sent_by_name = fields.string("sentByName", false, 0, 100);
    fields.finish()?;
    let (sender, recipients, text, media_urls) =
        (sender.unwrap_or_default(), recipients.unwrap_or_default(), text.unwrap_or_default(), media_urls.unwrap_or_default());
    let inbox = team_inbox(&state.store, &team_id, &sender).await?;
    let behaviour = providers::behaviour(&inbox.provider).unwrap_or(providers::PROVIDERS[0]);
    if let Some(refusal) = behaviour.refusal(&media_urls) {
        return Err(ApiError::invalid(format!("{refusal} (the inbox {} sends through {})", inbox.phone, inbox.provider)));
    }
    let opted_out = state.store.opted_out_among(&team_id, &recipients).await?;
    if !opted_out.is_empty() {
        return Err(ApiError::invalid(format!(
            "recipients {} opted out (replied STOP) and cannot be messaged until they reply START",
            opted_out.join(", ")
        )));
    }
    let message = NewMessage {
        team_id: &team_id,
        inbox: &inbox,
        campaign_id: None,
        inbound: false,
        sender: &sender,
        recipients: &recipients,
        sender_type: Some("user"),
        sent_by_name: sent_by_name.as_deref(),
        body: &text,
        media_urls: &media_urls,
        provider: &inbox.provider,
        created: Utc::now(),
    };
    let data = state.store.insert_message(&message, state.delivery_delay).await?;
    Ok(raw_json(StatusCode::CREATED, format!("{{\"data\":{data}}}")))
}

async fn team_inbox(store: &Store, team_id: &str, phone: &str) -> Result<crate::store::Inbox, ApiError> {
    match store.inbox_by_phone(team_id, phone).await? {
        Some(inbox) => Ok(inbox),
        None => {
            let phones = store.inbox_phones(team_id).await?;
            Err(ApiError::invalid(format!("sender {phone} is not a number of this team; its numbers are: {}", phones.join(", "))))
        }
    }
}

/// Query parameters, with repeated keys (`inboxIds=a&inboxIds=b`) kept.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|raw| form_urlencoded::parse(raw.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect())
        .unwrap_or_default()
}

fn query_values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(key, _)| key == name || key == &format!("{name}[]")).map(|(_, value)| value.as_str()).collect()
}

fn query_integer(pairs: &[(String, String)], name: &str, default: i64, min: i64, max: i64, problems: &mut Vec<String>) -> i64 {
    match query_values(pairs, name).as_slice() {
        [] => default,
        [text] => match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => value,
            _ => {
                problems.push(format!("{name} must be an integer from {min} to {max}, not {text:?}"));
                default
            }
        },
        _ => {
            problems.push(format!("{name} may be given once"));
            default
        }
    }
}

fn query_single<'a>(pairs: &'a [(String, String)], name: &str, problems: &mut Vec<String>) -> Option<&'a str> {
    match query_values(pairs, name).as_slice() {
        [] => None,
        [value] => Some(value),
        _ => {
            problems.push(format!("{name} may be given once"));
            None
        }
    }
}

async fn find_messages(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let pairs = query_pairs(raw.as_deref());
    let mut problems = Vec::new();
    let mut inbox_ids = Vec::new();
    for value in query_values(&pairs, "inboxIds").into_iter().flat_map(|value| value.split(',')) {
        match uuid::Uuid::parse_str(value) {
            Ok(id) => inbox_ids.push(id.to_string()),
            Err(_) => problems.push(format!("inboxIds must be UUIDs, not {value:?}")),
        }
    }
    let mut time = |name: &str| {
        query_single(&pairs, name, &mut problems).and_then(|text| match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(time) => Some(time.with_timezone(&Utc)),
            Err(_) => {
                problems.push(format!("{name} must be an ISO 8601 date-time with a time zone such as 2026-01-31T09:00:00Z, not {text:?}"));
                None
            }
        })
    };
    let start = time("start");
    let end = time("end");
    let limit = query_integer(&pairs, "limit", 50, 1, 50, &mut problems);
    let page = query_integer(&pairs, "page", 1, 1, i64::from(i32::MAX), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let filter = MessageFilter { inbox_ids, start, end, limit, offset: (page - 1) * limit };
    let (data, total) = state.store.find_messages(&team_id, &filter).await?;
    let link = |page: i64| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for inbox in &filter.inbox_ids {
            query.append_pair("inboxIds", inbox);
        }
        if let Some(start) = filter.start {
            query.append_pair("start", &crate::store::timestamp(start));
        }
        if let Some(end) = filter.end {
            query.append_pair("end", &crate::store::timestamp(end));
        }
        query.append_pair("limit", &limit.to_string()).append_pair("page", &page.to_string());
        format!("/public/messages?{}", query.finish())
    };
    let links = types::PaginationLinks {
        self_: link(page),
        next: (page * limit < total).then(|| link(page + 1)),
        prev: (page > 1).then(|| link(page - 1)),
    };
    let links = serde_json::to_string(&links).expect("links serialize");
    Ok(raw_json(StatusCode::OK, format!("{{\"data\":{data},\"links\":{links},\"total\":{total}}}")))
}

async fn search_contacts(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let pairs = query_pairs(raw.as_deref());
    let mut problems = Vec::new();
    let phone = query_single(&pairs, "phone", &mut problems);
    if let Some(phone) = phone
        && !is_e164(phone)
    {
        problems.push(format!("phone must be a phone number in E.164 format such as +15551234567, not {phone:?}"));
    }
    let email = query_single(&pairs, "email", &mut problems);
    let query = query_single(&pairs, "query", &mut problems);
    for (name, value, max) in [("email", email, 320), ("query", query, 200)] {
        if value.is_some_and(|value| value.chars().count() > max) {
            problems.push(format!("{name} must be at most {max} characters long"));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let data = state.store.search_contacts(&team_id, phone, email, query).await?;
    Ok(Json(types::ContactListResponse { data }).into_response())
}

/// The fields of a contact in a create or update body.
fn contact_fields(fields: &mut Fields<'_>) -> ContactFields {
    ContactFields {
        name: fields.string("name", false, 0, 200),
        email: fields.string("email", false, 0, 320),
        phone: fields.phone("phone", false),
        public: fields.boolean("public"),
        data: fields.object("data"),
    }
}

async fn create_contact(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let contact = contact_fields(&mut fields);
    fields.finish()?;
    let mut created_contacts = state.store.create_contacts(&team_id, std::slice::from_ref(&contact)).await?;
    Ok(created(types::ContactResponse { data: created_contacts.remove(0) }))
}

async fn create_contacts_batch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let items = fields.array("contacts", true, 1, 100).cloned().unwrap_or_default();
    let mut problems = fields.problems;
    let mut contacts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match item {
            Value::Object(entry) => {
                let mut entry_fields = Fields::nested(entry, format!("contacts.{index}."));
                contacts.push(contact_fields(&mut entry_fields));
                problems.append(&mut entry_fields.problems);
            }
            other => problems.push(format!("contacts.{index} must be an object, not {}", crate::validate::kind(other))),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let data = state.store.create_contacts(&team_id, &contacts).await?;
    Ok(created(types::ContactListResponse { data }))
}

fn contact_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no contact with id {id:?} in this team"))
}

async fn update_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let contact = contact_fields(&mut fields);
    fields.finish()?;
    match state.store.update_contact(&team_id, &id, &contact).await? {
        Some(data) => Ok(Json(types::ContactResponse { data }).into_response()),
        None => Err(contact_not_found(&id)),
    }
}

async fn delete_contact(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    match state.store.delete_contact(&team_id, &id).await? {
        Some(data) => Ok(Json(types::ContactResponse { data }).into_response()),
        None => Err(contact_not_found(&id)),
    }
}

async fn create_campaign(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let sender = fields.phone("sender", true);
    let list_name = fields.string("listName", true, 1, 200);
    let text = fields.string("body", true, 1, 1600);
    let media_urls = fields.media_urls("mediaUrls", true);
    let provider = fields.one_of("provider", &PROVIDER_NAMES);
    let name = fields.string("name", false, 0, 200);
    let send_at = fields.date_time("timestamp");
    fields.finish()?;
    let (sender, list_name, text, media_urls) =
        (sender.unwrap_or_default(), list_name.unwrap_or_default(), text.unwrap_or_default(), media_urls.unwrap_or_default());
    let inbox = team_inbox(&state.store, &team_id, &sender).await?;
    let provider = provider.unwrap_or_else(|| inbox.provider.clone());
    let behaviour = providers::behaviour(&provider).unwrap_or(providers::PROVIDERS[0]);
    if let Some(refusal) = behaviour.refusal(&media_urls) {
        return Err(ApiError::invalid(refusal));
    }
    let Some(list_id) = state.store.list_by_name(&team_id, &list_name).await? else {
        let names = state.store.list_names(&team_id).await?;
        return Err(ApiError::NotFound(format!("no contact list named {list_name:?} in this team; its lists are: {}", names.join(", "))));
    };
    let now = Utc::now();
    let send_at = send_at.filter(|time| *time > now).unwrap_or(now);
    let campaign = NewCampaign {
        team_id: &team_id,
        inbox: &inbox,
        list_id: &list_id,
        name: name.as_deref(),
        body: &text,
        media_urls: &media_urls,
        provider: &provider,
        send_at,
    };
    let id = state.store.create_campaign(&campaign).await?;
    if send_at <= now {
        state.store.fire_campaign(id, state.delivery_delay).await?;
    } else {
        state.scheduler.notify_one();
    }
    let data = state.store.campaign(id).await?.ok_or_else(|| ApiError::NotFound("the campaign vanished".to_owned()))?;
    Ok(created(types::CampaignResponse { data }))
}

async fn add_user(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let email = fields.string("email", true, 3, 320);
    if let Some(email) = &email
        && !looks_like_email(email)
    {
        fields.problem(format!("email must be an email address such as ada@example.com, not {email:?}"));
    }
    let first_name = fields.string("firstName", false, 0, 100);
    let last_name = fields.string("lastName", false, 0, 100);
    let role = fields.one_of("role", &["workspace_owner", "admin", "manager", "agent", "member"]);
    fields.finish()?;
    let email = email.unwrap_or_default();
    let role = role.unwrap_or_else(|| "member".to_owned());
    match state.store.add_user(&team_id, &email, first_name.as_deref(), last_name.as_deref(), &role).await? {
        Some(user) => Ok(created(user)),
        None => Err(ApiError::invalid(format!("a user with email {email} is already in this team"))),
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

async fn search_users(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let pairs = query_pairs(raw.as_deref());
    let emails: Vec<String> = query_values(&pairs, "emails").into_iter().map(str::to_owned).collect();
    if emails.len() > 50 {
        return Err(ApiError::invalid(format!("emails may list at most 50 addresses, not {}", emails.len())));
    }
    if let Some(long) = emails.iter().find(|email| email.chars().count() > 320) {
        return Err(ApiError::invalid(format!("emails must be at most 320 characters long, not {}", long.chars().count())));
    }
    let data = state.store.search_users(&team_id, &emails).await?;
    let total = data.len() as i64;
    Ok(Json(types::PaginatedClerkChatUsersResponse { data, total }).into_response())
}

const OPT_OUT_WORDS: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const OPT_IN_WORDS: [&str; 3] = ["START", "UNSTOP", "YES"];

/// Simulates a reply from a phone to one of the team's numbers. STOP and its synonyms opt the
/// sender out; START opts them back in.
async fn inject_inbound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let from = fields.phone("from", true);
    let to = fields.phone("to", true);
    let text = fields.string("body", true, 1, 1600);
    fields.finish()?;
    let (from, to, text) = (from.unwrap_or_default(), to.unwrap_or_default(), text.unwrap_or_default());
    let inbox = team_inbox(&state.store, &team_id, &to).await?;
    let message = NewMessage {
        team_id: &team_id,
        inbox: &inbox,
        campaign_id: None,
        inbound: true,
        sender: &from,
        recipients: std::slice::from_ref(&to),
        sender_type: None,
        sent_by_name: None,
        body: &text,
        media_urls: &[],
        provider: &inbox.provider,
        created: Utc::now(),
    };
    let data = state.store.insert_message(&message, state.delivery_delay).await?;
    let keyword = text.trim().to_uppercase();
    if OPT_OUT_WORDS.contains(&keyword.as_str()) {
        state.store.set_opt_out(&team_id, &from, true).await?;
    } else if OPT_IN_WORDS.contains(&keyword.as_str()) {
        state.store.set_opt_out(&team_id, &from, false).await?;
    }
    Ok(raw_json(StatusCode::CREATED, format!("{{\"data\":{data}}}")))
}

/// Makes a new, seeded team and answers its API key (once).
async fn create_team(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let object: Map<String, Value> = if body.is_empty() { Map::new() } else { parse_object(&body)? };
    let mut fields = Fields::new(&object);
    let name = fields.string("name", false, 1, 100).unwrap_or_else(|| "Sandbox team".to_owned());
    fields.finish()?;
    let seed = state.store.create_team(&name).await?;
    Ok((StatusCode::CREATED, Json(json!(seed))).into_response())
}

/// Makes the next `count` requests to `/public` answer `status` (a 5xx or 429), to test how
/// clients handle upstream failures: `{"status": 503, "count": 2}`.
async fn queue_faults(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let object = parse_object(&body)?;
    let status = object.get("status").and_then(Value::as_u64).filter(|status| *status == 429 || (500..=599).contains(status));
    let count = object.get("count").map_or(Some(1), Value::as_u64).filter(|count| (1..=1000).contains(count));
    let (Some(status), Some(count)) = (status, count) else {
        return Err(ApiError::invalid("send {\"status\": 429 or 500-599, \"count\": 1-1000}"));
    };
    let mut faults = state.faults.lock().expect("the fault queue lock is never poisoned");
    faults.extend(std::iter::repeat_n(status as u16, count as usize));
    Ok((StatusCode::CREATED, Json(json!({"queued": faults.len()}))).into_response())
}

//! `POST /public/messages` (send) and `GET /public/messages` (a page of the team's messages).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chrono::Utc;
use clerk_chat::types;

use super::query::{query_integer, query_pairs, query_single, query_values};
use super::{AppState, authenticate, stored_json, team_inbox};
use crate::error::ApiError;
use crate::providers;
use crate::store::{MessageFilter, NewMessage, timestamp};
use crate::validate::{Fields, parse_object};

/// The routes of this module, for [`super::router`].
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/public/messages", post(send_message).get(find_messages))
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
    Ok(stored_json(StatusCode::CREATED, &data, &[]))
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
            query.append_pair("start", &timestamp(start));
        }
        if let Some(end) = filter.end {
            query.append_pair("end", &timestamp(end));
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
    Ok(stored_json(StatusCode::OK, &data, &[("links", &links), ("total", &total.to_string())]))
}

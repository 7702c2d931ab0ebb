//! The sandbox's own endpoints, which Clerk Chat does not have: inject a reply from a phone,
//! make a new team, and queue failures for the next requests.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{AppState, Fault, MAX_QUEUED_FAULTS, QueuedFault, key_owner, queue_faults as queue, stored_json, team_inbox};
use crate::error::ApiError;
use crate::store::NewMessage;
use crate::validate::{Fields, parse_object};

const OPT_OUT_WORDS: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const OPT_IN_WORDS: [&str; 3] = ["START", "UNSTOP", "YES"];

/// Simulates a reply from a phone to one of the team's numbers. STOP and its synonyms opt the
/// sender out; START opts them back in.
/// The routes of this module, for [`super::router`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/inbound", post(inject_inbound))
        .route("/sandbox/teams", post(create_team))
        .route("/sandbox/faults", post(queue_faults))
}

async fn inject_inbound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = key_owner(&state, &headers)?;
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
    Ok(stored_json(StatusCode::CREATED, &data, &[]))
}

/// Makes a new, seeded team and answers its API key (once). Only a holder of a team's key may.
async fn create_team(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    key_owner(&state, &headers)?;
    let object: Map<String, Value> = if body.is_empty() { Map::new() } else { parse_object(&body)? };
    let mut fields = Fields::new(&object);
    let name = fields.string("name", false, 1, 100).unwrap_or_else(|| "Sandbox team".to_owned());
    fields.finish()?;
    let seed = state.store.create_team(&name).await?;
    Ok((StatusCode::CREATED, Json(json!(seed))).into_response())
}

/// Makes the team's next `count` requests to `/public` fail, to test how clients handle
/// upstream failures: `{"status": 503, "count": 2}` answers that status (a 5xx or 429) instead
/// of handling them; `{"delay_ms": 5000}` handles them and answers that much later, as an API
/// does whose answer is lost after the request took effect. `"method": "POST"` limits a fault
/// to requests of that method. Other teams are not affected.
async fn queue_faults(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = key_owner(&state, &headers)?;
    let object = parse_object(&body)?;
    let status = object.get("status").and_then(Value::as_u64).and_then(|status| u16::try_from(status).ok());
    let delay = object.get("delay_ms").and_then(Value::as_u64);
    let count = object.get("count").map_or(Some(1), Value::as_u64).filter(|count| (1..=1000).contains(count));
    let effect = match (status, delay, object.contains_key("status") && object.contains_key("delay_ms")) {
        (Some(status), None, false) => Some(Fault::Status(status)),
        (None, Some(delay), false) => Some(Fault::LateAnswer(std::time::Duration::from_millis(delay))),
        _ => None,
    };
    // The same rules as `Sandbox::queue_fault`'s.
    let effect = effect.filter(|fault| fault.problem().is_none());
    let method = match object.get("method") {
        None => Ok(None),
        Some(Value::String(method)) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) => {
            Ok(Some(axum::http::Method::from_bytes(method.as_bytes()).expect("a listed method is valid")))
        }
        Some(_) => Err(()),
    };
    let (Some(effect), Some(count), Ok(method)) = (effect, count, method) else {
        return Err(ApiError::invalid(
            "send {\"status\": 429 or 500-599, \"count\": 1-1000} or {\"delay_ms\": 1-600000, \"count\": 1-1000}, with \"method\": \"GET\", \"POST\", \"PUT\", \"PATCH\" or \"DELETE\" to meet only that method",
        ));
    };
    match queue(&state.faults, team_id, QueuedFault { effect, method }, count as usize) {
        Ok(queued) => Ok((StatusCode::CREATED, Json(json!({"queued": queued}))).into_response()),
        Err(queued) => Err(ApiError::invalid(format!("at most {MAX_QUEUED_FAULTS} faults may be queued; {queued} are"))),
    }
}

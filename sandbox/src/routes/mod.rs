//! The HTTP API: every operation of openapi/clerk-chat.yaml at the same path and method, one
//! module per resource, plus the sandbox's own endpoints under `/sandbox`. What every handler
//! shares is here: the state, the API key check and rate limit, and the answer envelopes.

mod campaigns;
mod contacts;
mod messages;
mod query;
mod sandbox_only;
mod users;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::store::{Inbox, Store};

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) delivery_delay: Duration,
    pub(crate) limiter: Arc<RateLimiter>,
    /// Wakes the campaign scheduler when a campaign is scheduled.
    pub(crate) scheduler: Arc<Notify>,
    /// Per team, what goes wrong with its next `/public` requests, queued by
    /// `POST /sandbox/faults`.
    pub(crate) faults: Arc<FaultQueues>,
}

/// One queued failure of a team's next `/public` request (of one method, when it says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueuedFault {
    pub(crate) effect: Fault,
    /// Only requests of this method meet the fault; others pass it by and leave it queued.
    pub(crate) method: Option<axum::http::Method>,
}

/// What a team's next request to `/public` meets, to test how a client handles failures:
/// queued with `POST /sandbox/faults` or [`crate::Sandbox::queue_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer this status (429 or 500-599) instead of handling the request.
    Status(u16),
    /// Handle the request, then answer only after this long (1 ms to 10 minutes): past a
    /// client's timeout, the request took effect but the client never learns it.
    LateAnswer(Duration),
}

impl Fault {
    /// Why the fault cannot be queued, if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        match self {
            Fault::Status(status) if *status != 429 && !(500..=599).contains(status) => Some("a fault's status is 429 or 500-599"),
            Fault::LateAnswer(delay) if delay.is_zero() || *delay > Duration::from_secs(600) => {
                Some("a late answer comes 1 ms to 10 minutes late")
            }
            _ => None,
        }
    }
}

/// Faults one team may have queued at once.
pub(crate) const MAX_QUEUED_FAULTS: usize = 1000;

/// Queues `count` of `fault` for the team; the queue's new length, or its length when it has
/// no room for them.
pub(crate) fn queue_faults(state: &FaultQueues, team_id: String, fault: QueuedFault, count: usize) -> Result<usize, usize> {
    let mut faults = state.lock().expect("the fault queue lock is never poisoned");
    let queue = faults.entry(team_id).or_default();
    if queue.len() + count > MAX_QUEUED_FAULTS {
        return Err(queue.len());
    }
    queue.extend(std::iter::repeat_n(fault, count));
    Ok(queue.len())
}

/// Per team, the faults its next requests meet.
pub(crate) type FaultQueues = Mutex<HashMap<String, VecDeque<QueuedFault>>>;

/// Every route. Each resource module lists its own, so an operation is added in one module.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(messages::routes())
        .merge(contacts::routes())
        .merge(campaigns::routes())
        .merge(users::routes())
        .merge(sandbox_only::routes())
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::NotFound("no such endpoint; the API lives under /public (see openapi/clerk-chat.yaml)".to_owned()) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), inject_faults))
        .with_state(state)
}

/// Applies the team's next queued fault to a `/public` request it meets: an injected status
/// instead of the answer, or the answer held back after the request was handled.
async fn inject_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let effect = if request.uri().path().starts_with("/public") {
        key_owner(&state, request.headers()).ok().and_then(|team_id| {
            let mut faults = state.faults.lock().expect("the fault queue lock is never poisoned");
            let queue = faults.get_mut(&team_id)?;
            let meets = queue.front().is_some_and(|fault| fault.method.as_ref().is_none_or(|method| method == request.method()));
            if meets { queue.pop_front().map(|fault| fault.effect) } else { None }
        })
    } else {
        None
    };
    match effect {
        Some(Fault::Status(status)) => ApiError::Injected(status).into_response(),
        Some(Fault::LateAnswer(delay)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        None => next.run(request).await,
    }
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

/// The team of the request's API key, once no fault is queued for it and it is within its rate:
/// every `/public` handler starts here.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let team_id = key_owner(state, headers)?;
    if !state.limiter.admit(&team_id) {
        return Err(ApiError::RateLimited);
    }
    Ok(team_id)
}

/// The team of the request's API key, with no fault or rate applied: the sandbox's own
/// endpoints start here.
fn key_owner(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let key = headers.get("apikey").and_then(|value| value.to_str().ok()).ok_or(ApiError::Unauthorized)?;
    state.store.team_for_key(key).ok_or(ApiError::Unauthorized)
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// An answer of JSON the store assembled (`store::messages`), inside Clerk Chat's
/// `{"data": ...}` and with any other members (already serialized) after it. Spliced as text
/// rather than parsed and serialized again: a page of messages is the hottest answer, and the
/// parts are valid JSON by construction.
fn stored_json(status: StatusCode, data: &str, other_members: &[(&str, &str)]) -> Response {
    let mut body = format!("{{\"data\":{data}");
    for (name, value) in other_members {
        body.push_str(&format!(",\"{name}\":{value}"));
    }
    body.push('}');
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The team's inbox with this number, or a 422 listing the team's numbers.
async fn team_inbox(store: &Store, team_id: &str, phone: &str) -> Result<Inbox, ApiError> {
    match store.inbox_by_phone(team_id, phone).await? {
        Some(inbox) => Ok(inbox),
        None => {
            let phones = store.inbox_phones(team_id).await?;
            Err(ApiError::invalid(format!("sender {phone} is not a number of this team; its numbers are: {}", phones.join(", "))))
        }
    }
}

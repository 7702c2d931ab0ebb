//! `/public/admin/users`: add a user to the team, and search its users.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clerk_chat::types;

use super::query::{query_pairs, query_values};
use super::{AppState, authenticate, created};
use crate::error::ApiError;
use crate::validate::{Fields, parse_object};

/// The routes of this module, for [`super::router`].
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/public/admin/users", post(add_user).get(search_users))
}

async fn add_user(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let email = fields.email("email", true);
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

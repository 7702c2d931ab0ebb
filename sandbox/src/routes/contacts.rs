//! `/public/contacts`: search, create (one or a batch), update and delete a team's contacts.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use clerk_chat::phone::is_e164;
use clerk_chat::types;
use serde_json::Value;

use super::query::{query_pairs, query_single};
use super::{AppState, authenticate, created};
use crate::error::ApiError;
use crate::store::ContactFields;
use crate::validate::{Fields, parse_object};

/// The routes of this module, for [`super::router`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/public/contacts", get(search_contacts).post(create_contact))
        .route("/public/contacts/batch", post(create_contacts_batch))
        .route("/public/contacts/{id}", put(update_contact).delete(delete_contact))
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
        email: fields.email("email", false),
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
    fields.refuse_unknown();
    let mut problems = fields.problems;
    let mut contacts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match item {
            Value::Object(entry) => {
                let mut entry_fields = Fields::nested(entry, format!("contacts.{index}."));
                contacts.push(contact_fields(&mut entry_fields));
                entry_fields.refuse_unknown();
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

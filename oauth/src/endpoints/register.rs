//! Dynamic client registration (RFC 7591). The rules live in `clients`; this is the endpoint.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Server, oauth_error, storage_failed};
use crate::clients;
use crate::secrets::random_token;
use crate::store::now;

pub(super) async fn register(State(server): State<Server>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", &format!("the body is not JSON: {error}")),
    };
    let client = match clients::register(&request, random_token(), now(), &server.redirects) {
        Ok(client) => client,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error.code, &error.description),
    };
    if let Err(error) = server.store.insert_client(&client).await {
        return storage_failed(error);
    }
    // The name is the client's own words: logged escaped, so it cannot forge log lines.
    tracing::info!(client_id = %client.client_id, client_name = ?client.client_name, "registered an OAuth client");
    (StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], axum::Json(client.registration)).into_response()
}

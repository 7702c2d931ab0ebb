//! RFC 8414 authorization server metadata (also at the OpenID discovery path) and the JWKS.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Server;

pub(super) async fn metadata(State(server): State<Server>) -> Response {
    let issuer = &server.config.issuer;
    let scopes: Vec<&str> = server.config.scopes.iter().map(|scope| scope.name.as_str()).collect();
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
    });
    ([(header::CACHE_CONTROL, "max-age=300")], axum::Json(document)).into_response()
}

pub(super) async fn jwks(State(server): State<Server>) -> Response {
    ([(header::CACHE_CONTROL, "max-age=300")], axum::Json(server.jwks())).into_response()
}

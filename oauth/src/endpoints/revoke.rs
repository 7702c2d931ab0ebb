//! RFC 7009 revocation. Revoking either kind of token ends the whole sign-in it belongs to.
//! The client must name itself, and may revoke only its own tokens; unknown tokens get the same
//! 200 as known ones, so the answer tells nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Parameters, Server, oauth_error, requesting_client, storage_failed};
use crate::secrets::token_hash;

pub(super) async fn revoke(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match Parameters::from_form(&headers, &body) {
        Ok(params) => params,
        Err(problem) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &problem),
    };
    let Some(client_id) = requesting_client(&params, &headers) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "send client_id: a client may revoke only its own tokens");
    };
    let Some(token) = params.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required");
    };
    let grant_id = match server.store.refresh_token_grant(&token_hash(token)).await {
        Ok(Some(grant_id)) => Some(grant_id),
        Ok(None) => server.signing_keys.grant_of_own_token(token, &server.config.issuer),
        Err(error) => return storage_failed(error),
    };
    let grant = match grant_id {
        Some(grant_id) => match server.store.grant(&grant_id).await {
            Ok(grant) => grant,
            Err(error) => return storage_failed(error),
        },
        None => None,
    };
    if let Some(grant) = &grant
        && grant.client_id != client_id
    {
        tracing::warn!(client_id = ?client_id, "a client tried to revoke another client's token");
        return oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client", "this token was not issued to this client");
    }
    if let Some(grant_id) = grant.map(|grant| grant.grant_id) {
        if let Err(error) = server.revoke_grant(&grant_id).await {
            return storage_failed(error);
        }
        tracing::info!("revoked a sign-in at the client's request");
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

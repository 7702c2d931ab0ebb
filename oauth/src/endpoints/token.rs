//! The token endpoint: an authorization code (with its PKCE verifier) or a refresh token for a
//! new access token and a new refresh token of the same grant. A code or refresh token used a
//! second time revokes the whole grant.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clerk_store::StoreError;
use serde_json::json;

use super::{Parameters, Server, names_resource, oauth_error, requesting_client, storage_failed};
use crate::AuthorizationServer;
use crate::secrets::{is_pkce_text, pkce_matches, random_token, token_hash};
use crate::signing::AccessClaims;
use crate::store::{CodeRedemption, Grant, RefreshRedemption, now};

pub(super) async fn token(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match Parameters::from_form(&headers, &body) {
        Ok(params) => params,
        Err(problem) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &problem),
    };
    let Some(client_id) = requesting_client(&params, &headers) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "send client_id: every client of this server is public");
    };
    let outcome = match params.get("grant_type") {
        Some("authorization_code") => exchange_code(&server, &client_id, &params).await,
        Some("refresh_token") => refresh(&server, &client_id, &params).await,
        Some(other) => Err(TokenError::new(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported; use authorization_code or refresh_token"),
        )),
        None => Err(TokenError::new("invalid_request", "grant_type is required")),
    };
    match outcome {
        Ok(response) => response,
        Err(TokenError::Refused { error, description }) => {
            tracing::info!(client_id = ?client_id, error, description = ?description, "refused a token request");
            oauth_error(StatusCode::BAD_REQUEST, error, &description)
        }
        Err(TokenError::Storage(error)) => storage_failed(error),
    }
}

/// Why a token request gets no tokens: refused (400, with the OAuth error code and a
/// description for the client's developer), or the store failed (503).
enum TokenError {
    Refused { error: &'static str, description: String },
    Storage(StoreError),
}

impl TokenError {
    fn new(error: &'static str, description: impl Into<String>) -> TokenError {
        TokenError::Refused { error, description: description.into() }
    }
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> TokenError {
        TokenError::Storage(error)
    }
}

fn check_resource(grant: &Grant, resource: Option<&str>) -> Result<(), TokenError> {
    match resource {
        Some(resource) if !names_resource(resource, &grant.resource) => {
            Err(TokenError::new("invalid_target", format!("this grant is for {}, not {resource}", grant.resource)))
        }
        _ => Ok(()),
    }
}

async fn exchange_code(server: &AuthorizationServer, client_id: &str, params: &Parameters) -> Result<Response, TokenError> {
    let code = params.get("code").ok_or_else(|| TokenError::new("invalid_request", "code is required"))?;
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| TokenError::new("invalid_request", "code_verifier is required: this server requires PKCE"))?;
    match server.store.redeem_code(&token_hash(code)).await? {
        CodeRedemption::Unknown => Err(TokenError::new("invalid_grant", "unknown authorization code")),
        CodeRedemption::Reused { grant_id } => {
            server.revoke_grant(&grant_id).await?;
            Err(TokenError::new("invalid_grant", "this authorization code was already used; every token issued with it is revoked"))
        }
        CodeRedemption::Redeemed { grant, redirect_uri, code_challenge, expired } => {
            if expired {
                return Err(TokenError::new("invalid_grant", "the authorization code has expired; sign in again"));
            }
            if grant.client_id != client_id {
                return Err(TokenError::new("invalid_grant", "the authorization code was issued to another client"));
            }
            if params.get("redirect_uri") != Some(redirect_uri.as_str()) {
                return Err(TokenError::new("invalid_grant", "redirect_uri differs from the one of the authorization request"));
            }
            if !is_pkce_text(verifier) || !pkce_matches(verifier, &code_challenge) {
                return Err(TokenError::new("invalid_grant", "code_verifier does not match the code_challenge"));
            }
            check_resource(&grant, params.get("resource"))?;
            issue_tokens(server, &grant, &grant.scope).await
        }
    }
}

async fn refresh(server: &AuthorizationServer, client_id: &str, params: &Parameters) -> Result<Response, TokenError> {
    let token = params.get("refresh_token").ok_or_else(|| TokenError::new("invalid_request", "refresh_token is required"))?;
    match server.store.redeem_refresh_token(&token_hash(token)).await? {
        RefreshRedemption::Unknown => Err(TokenError::new("invalid_grant", "unknown refresh token")),
        RefreshRedemption::Reused { grant_id } => {
            server.revoke_grant(&grant_id).await?;
            tracing::warn!(client_id = ?client_id, "a rotated refresh token was used again; its whole sign-in is revoked");
            Err(TokenError::new(
                "invalid_grant",
                "this refresh token was already used, so every token of this sign-in is revoked; sign in again",
            ))
        }
        RefreshRedemption::Rotated { grant, expired } => {
            if grant.revoked {
                return Err(TokenError::new("invalid_grant", "this sign-in was revoked; sign in again"));
            }
            if expired {
                return Err(TokenError::new("invalid_grant", "the refresh token has expired; sign in again"));
            }
            if grant.client_id != client_id {
                return Err(TokenError::new("invalid_grant", "the refresh token was issued to another client"));
            }
            check_resource(&grant, params.get("resource"))?;
            let scope = narrowed_scope(&grant, params.get("scope"))?;
            issue_tokens(server, &grant, &scope).await
        }
    }
}

/// The scope a refresh asks for: the grant's, or a part of it, never more.
fn narrowed_scope(grant: &Grant, asked: Option<&str>) -> Result<String, TokenError> {
    let Some(asked) = asked else { return Ok(grant.scope.clone()) };
    let granted: Vec<&str> = grant.scope.split_whitespace().collect();
    if let Some(extra) = asked.split_whitespace().find(|scope| !granted.contains(scope)) {
        return Err(TokenError::new("invalid_scope", format!("scope {extra} was not granted at sign-in")));
    }
    Ok(asked.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A signed access token (RFC 9068 shape) and a new refresh token of the same grant.
async fn issue_tokens(server: &AuthorizationServer, grant: &Grant, scope: &str) -> Result<Response, TokenError> {
    let issued_at = now();
    let lifetime = server.config.access_token_lifetime.as_secs() as i64;
    let claims = AccessClaims {
        iss: &server.config.issuer,
        sub: &grant.account_id,
        aud: &grant.resource,
        client_id: &grant.client_id,
        scope,
        sid: &grant.grant_id,
        jti: &random_token(),
        iat: issued_at,
        nbf: issued_at,
        exp: issued_at + lifetime,
    };
    let access_token = server
        .signing_keys
        .signing()
        .mint_access_token(&claims)
        .map_err(|error| TokenError::new("server_error", format!("cannot sign the token: {error}")))?;
    let refresh_token = random_token();
    let refresh_expires = issued_at + server.config.refresh_token_lifetime.as_secs() as i64;
    server.store.insert_refresh_token(&token_hash(&refresh_token), &grant.grant_id, refresh_expires).await?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": refresh_token,
        "scope": scope,
    });
    Ok(([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], axum::Json(body)).into_response())
}

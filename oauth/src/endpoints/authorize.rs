//! `GET /authorize`: checks the client's request and shows the sign-in and consent page. Every
//! error here is a page: nothing is sent to the client's redirect URI before the user has
//! acted on the consent page, so the server can never be used to bounce a browser to a
//! registered URI of an attacker's choosing. What the request asks to echo (`state`) is bounded,
//! and so are the consent pages waiting at once.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use url::Url;

use super::{Parameters, Server, error_page, html, names_resource, unavailable_page};
use crate::AuthorizationServer;
use crate::clients::{is_metadata_document_id, redirect_uri_matches};
use crate::pages::{self, ConsentView};
use crate::secrets::{is_pkce_text, random_token};
use crate::store::{ClientRecord, PendingInsert, PendingLimits, PendingRequest, now};

/// How long the consent page stays usable.
const CONSENT_PAGE_LIFETIME_SECONDS: i64 = 600;

/// The longest `state` kept and sent back: real clients send tens of characters.
const MAX_STATE_LENGTH: usize = 1024;

/// Consent pages that may wait at once: for one client (a popular client's users share its
/// id), and in all.
const PENDING_LIMITS: PendingLimits = PendingLimits { per_client: 500, in_all: 10_000 };

/// The client of a request. Its name is always the app's own claim; for a metadata-document
/// client, the host that published the document is known.
pub(super) struct FoundClient {
    pub(super) record: ClientRecord,
    /// The host of a metadata-document client id; `None` for a client registered here.
    pub(super) published_at: Option<String>,
}

pub(super) async fn authorize_page(State(server): State<Server>, RawQuery(query): RawQuery) -> Response {
    let params = match Parameters::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => {
            return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &format!("The app sent a malformed request: {problem}."));
        }
    };
    let (client, redirect_uri) = match client_and_redirect_uri(&server, &params).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let pending = match pending_request(&server, &params, &client.record, &redirect_uri) {
        Ok(pending) => pending,
        Err((error, description)) => {
            tracing::info!(client_id = ?client.record.client_id, error, "refused an authorization request");
            return error_page(
                StatusCode::BAD_REQUEST,
                "Cannot sign in",
                &format!("The app sent a request this server cannot accept ({error}): {description}. Nothing was sent to it."),
            );
        }
    };
    match server.store.insert_pending(&pending, PENDING_LIMITS).await {
        Ok(PendingInsert::Stored) => {}
        Ok(full) => {
            tracing::warn!(client_id = ?pending.client_id, ?full, "too many consent pages waiting");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot sign in right now",
                "Too many sign-ins are waiting on this server; try again in a few minutes.",
            );
        }
        Err(error) => return unavailable_page(error),
    }
    let mut response = consent_page(&server, &client, &pending, StatusCode::OK, None);
    let secure = if server.config.issuer.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/authorize; Max-Age={CONSENT_PAGE_LIFETIME_SECONDS}; HttpOnly; SameSite=Strict{secure}",
        csrf_cookie_name(&pending.request_id),
        pending.csrf_token
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The client and the redirect URI it asked for, once that URI is one of its registered ones;
/// otherwise the error page (nothing is sent to an unvetted URI).
async fn client_and_redirect_uri(server: &AuthorizationServer, params: &Parameters) -> Result<(FoundClient, String), Response> {
    let cannot_sign_in = |message: &str| error_page(StatusCode::BAD_REQUEST, "Cannot sign in", message);
    let Some(client_id) = params.get("client_id") else {
        return Err(cannot_sign_in("The app sent no client_id. Ask it to connect again."));
    };
    let client = find_client(server, client_id).await.map_err(|message| cannot_sign_in(&message))?;
    match params.get("redirect_uri") {
        Some(requested) if client.record.redirect_uris.iter().any(|registered| redirect_uri_matches(registered, requested)) => {
            Ok((client, requested.to_owned()))
        }
        Some(requested) => {
            tracing::info!(client_id = ?client_id, redirect_uri = ?requested, "refused an unregistered redirect URI");
            Err(cannot_sign_in(&format!(
                "The app asked to return to {requested}, which is not one of its registered redirect URIs. Nothing was sent to it."
            )))
        }
        // Required even with one registered URI, so that the token request always has one to
        // repeat (RFC 6749 4.1.3) and no code is redeemed without it.
        None => Err(cannot_sign_in("The app sent no redirect_uri. Ask it to connect again.")),
    }
}

/// The request to keep while the user decides: response type, PKCE, scopes and resource
/// checked. The error is an OAuth error code and description for the redirect.
fn pending_request(
    server: &AuthorizationServer,
    params: &Parameters,
    client: &ClientRecord,
    redirect_uri: &str,
) -> Result<PendingRequest, (&'static str, String)> {
    let refuse = |error: &'static str, description: &str| Err((error, description.to_owned()));
    if params.get("state").is_some_and(|state| state.len() > MAX_STATE_LENGTH) {
        return refuse("invalid_request", &format!("state is longer than {MAX_STATE_LENGTH} characters"));
    }
    if params.get("response_type") != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    let Some(code_challenge) = params.get("code_challenge") else {
        return refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
    };
    if params.get("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256; plain PKCE is not accepted");
    }
    if !is_pkce_text(code_challenge) {
        return refuse("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)");
    }
    let scopes = requested_scopes(server, params.get("scope")).map_err(|problem| ("invalid_scope", problem))?;
    let resource = match params.get("resource") {
        None => server.config.resource.clone(),
        Some(resource) if names_resource(resource, &server.config.resource) => server.config.resource.clone(),
        Some(resource) => {
            return refuse("invalid_target", &format!("this server issues tokens only for {}, not {resource}", server.config.resource));
        }
    };
    Ok(PendingRequest {
        request_id: random_token(),
        csrf_token: random_token(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: params.get("state").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        scope: scopes.join(" "),
        resource,
        expires_at: now() + CONSENT_PAGE_LIFETIME_SECONDS,
    })
}

/// `scope` as asked for: every scope must be known; none asked means all of them.
fn requested_scopes(server: &AuthorizationServer, scope: Option<&str>) -> Result<Vec<String>, String> {
    let asked: Vec<&str> = scope.map(|scope| scope.split_whitespace().collect()).unwrap_or_default();
    if asked.iter().all(|scope| *scope == "offline_access") {
        return Ok(server.config.scopes.iter().map(|scope| scope.name.clone()).collect());
    }
    let mut scopes = Vec::new();
    for scope in asked {
        // OIDC's way to ask for a refresh token (SEP-2207); every grant here gets one anyway.
        if scope == "offline_access" {
            continue;
        }
        if server.scope_description(scope).is_none() {
            let known: Vec<&str> = server.config.scopes.iter().map(|scope| scope.name.as_str()).collect();
            return Err(format!("unknown scope {scope}; this server knows {}", known.join(", ")));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// The client a `client_id` names: registered here, or described by its metadata document.
/// The error is a sentence for the error page.
pub(super) async fn find_client(server: &AuthorizationServer, client_id: &str) -> Result<FoundClient, String> {
    if is_metadata_document_id(client_id) {
        return server
            .metadata_documents
            .client(client_id)
            .await
            .map(|record| FoundClient {
                published_at: Url::parse(client_id).ok().and_then(|url| url.host_str().map(str::to_owned)),
                record,
            })
            .map_err(|problem| format!("This app's client ID cannot be used: {problem}."));
    }
    match server.store.client(client_id).await {
        Ok(Some(record)) => Ok(FoundClient { record, published_at: None }),
        Ok(None) => Err("This app is not registered with this server. Ask it to connect again (it will register itself).".to_owned()),
        Err(error) => {
            tracing::error!("the authorization server's store failed: {error}");
            Err("The server cannot reach its database; try again shortly.".to_owned())
        }
    }
}

/// One cookie per consent page, so that two sign-ins in two tabs do not overwrite each other.
pub(super) fn csrf_cookie_name(request_id: &str) -> String {
    format!("csrf_{}", &request_id[..request_id.len().min(16)])
}

/// The consent page for `pending`, with `error` (a problem with the last answer) on top.
pub(super) fn consent_page(
    server: &AuthorizationServer,
    client: &FoundClient,
    pending: &PendingRequest,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let redirect_host = Url::parse(&pending.redirect_uri)
        .ok()
        .map(|url| match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => format!("{}:", url.scheme()),
        })
        .unwrap_or_default();
    let scopes = pending.scope.split_whitespace().map(|scope| (scope, server.scope_description(scope).unwrap_or(scope))).collect();
    let view = ConsentView {
        client_name: &client.record.client_name,
        published_at: client.published_at.as_deref(),
        redirect_host: &redirect_host,
        scopes,
        request_id: &pending.request_id,
        csrf_token: &pending.csrf_token,
        sandbox: server.config.sandbox,
        error,
    };
    html(status, pages::consent_page(&view))
}

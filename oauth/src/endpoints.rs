//! The authorization server's HTTP endpoints. Before the redirect URI is known to belong to the
//! client, errors are shown on a page (never redirected: that would make this an open
//! redirector); after, they go back to the client as RFC 6749 error redirects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use tower_http::cors::{Any, CorsLayer};
use url::Url;

use crate::AuthorizationServer;
use crate::clients::{self, is_metadata_document_id, redirect_uri_matches};
use crate::pages::{self, ConsentView};
use crate::secrets::{pkce_matches, random_token, token_hash};
use crate::store::{ClientRecord, CodeRedemption, Grant, PendingRequest, RefreshRedemption, now};

type Server = Arc<AuthorizationServer>;

const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long the consent page stays usable.
const CONSENT_PAGE_LIFETIME_SECONDS: i64 = 600;

pub fn router(server: Server) -> Router {
    // Browser-based MCP clients call these from their own origin; none of them uses cookies.
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::POST]).allow_headers([
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        header::HeaderName::from_static("mcp-protocol-version"),
    ]);
    let limit = axum::middleware::from_fn_with_state(server.clone(), crate::limits::limit_costly_requests);
    let api = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/jwks.json", get(jwks))
        .route("/register", post(register).layer(limit.clone()))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .layer(cors);
    // Every request here is a small form or JSON document.
    Router::new()
        .route("/authorize", get(authorize_page).post(authorize_decision).layer(limit))
        .merge(api)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(server)
}

async fn metadata(State(server): State<Server>) -> Response {
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

async fn jwks(State(server): State<Server>) -> Response {
    ([(header::CACHE_CONTROL, "max-age=300")], axum::Json(server.jwks())).into_response()
}

/// Form or query parameters; an empty one counts as absent.
struct Parameters(HashMap<String, String>);

impl Parameters {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }
}

/// The body of a token or revocation request, which RFC 6749 and RFC 7009 send as a form.
fn form_body(headers: &HeaderMap, body: &[u8]) -> Result<Parameters, String> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("application/x-www-form-urlencoded");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("send the parameters as application/x-www-form-urlencoded, not {content_type}"));
    }
    parameters(body)
}

/// A parameter given twice is an error (RFC 6749 3.1).
fn parameters(text: &[u8]) -> Result<Parameters, String> {
    let mut parameters = HashMap::new();
    for (name, value) in form_urlencoded::parse(text) {
        if parameters.insert(name.to_string(), value.to_string()).is_some() {
            return Err(format!("the parameter {name} is given more than once"));
        }
    }
    Ok(Parameters(parameters))
}

/// An OAuth error answer of the token, registration and revocation endpoints.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

fn storage_failed(error: sqlx::Error) -> Response {
    tracing::error!("the authorization server's database failed: {error}");
    oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the server cannot reach its database; try again shortly")
}

async fn register(State(server): State<Server>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", &format!("the body is not JSON: {error}")),
    };
    let client = match clients::register(&request, random_token(), now()) {
        Ok(client) => client,
        Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error.code, &error.description),
    };
    if let Err(error) = server.store.insert_client(&client).await {
        return storage_failed(error);
    }
    tracing::info!(client_id = %client.client_id, client_name = %client.client_name, "registered an OAuth client");
    (StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], axum::Json(client.registration)).into_response()
}

/// The client a `client_id` names: registered here, or described by its metadata document.
async fn find_client(server: &AuthorizationServer, client_id: &str) -> Result<(ClientRecord, bool), String> {
    if is_metadata_document_id(client_id) {
        return server
            .metadata_documents
            .client(client_id)
            .await
            .map(|client| (client, false))
            .map_err(|problem| format!("This app's client ID cannot be used: {problem}."));
    }
    match server.store.client(client_id).await {
        Ok(Some(client)) => Ok((client, true)),
        Ok(None) => Err("This app is not registered with this server. Ask it to connect again (it will register itself).".to_owned()),
        Err(error) => {
            tracing::error!("the authorization server's database failed: {error}");
            Err("The server cannot reach its database; try again shortly.".to_owned())
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form
    // post, and the origin check below could not tell the page from a forgery.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    );
    response
}

pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, pages::error_page(title, message))
}

/// The sign-in pages' answer when the database fails: logged here, a plain sentence there.
fn unavailable_page(error: sqlx::Error) -> Response {
    tracing::error!("the authorization server's database failed: {error}");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Cannot sign in", "The server cannot reach its database; try again shortly.")
}

/// Sends the browser back to the client with `code` or `error`, the `state` it sent, and `iss`
/// (RFC 9207, so the client can tell which server answered).
fn back_to_client(server: &AuthorizationServer, redirect_uri: &str, state: Option<&str>, outcome: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, "Cannot return to the app", "Its redirect URI is not a URL.");
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in outcome {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &server.config.issuer);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect_error(server: &AuthorizationServer, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> Response {
    back_to_client(server, redirect_uri, state, &[("error", error), ("error_description", description)])
}

/// Whether `requested` names the resource `ours`. On a loopback server, localhost, 127.0.0.1
/// and [::1] on the same port are one server: users type any of them.
fn names_resource(requested: &str, ours: &str) -> bool {
    let Some(requested) = crate::canonical_url(requested) else { return false };
    if requested == ours {
        return true;
    }
    match (Url::parse(&requested), Url::parse(ours)) {
        (Ok(requested), Ok(ours)) => {
            clients::is_loopback_host(&requested)
                && clients::is_loopback_host(&ours)
                && requested.scheme() == ours.scheme()
                && requested.port() == ours.port()
                && requested.path() == ours.path()
                && requested.query() == ours.query()
        }
        _ => false,
    }
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

/// A PKCE code challenge or verifier: 43 to 128 unreserved characters (RFC 7636 4.1).
fn is_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

async fn authorize_page(State(server): State<Server>, RawQuery(query): RawQuery) -> Response {
    let params = match parameters(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => {
            return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &format!("The app sent a malformed request: {problem}."));
        }
    };
    let get = |name: &str| params.get(name);
    let Some(client_id) = get("client_id") else {
        return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", "The app sent no client_id. Ask it to connect again.");
    };
    let (client, registered_here) = match find_client(&server, client_id).await {
        Ok(found) => found,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &message),
    };
    let redirect_uri = match get("redirect_uri") {
        Some(requested) if client.redirect_uris.iter().any(|registered| redirect_uri_matches(registered, requested)) => {
            requested.to_owned()
        }
        Some(requested) => {
            tracing::info!(client_id, redirect_uri = requested, "refused an unregistered redirect URI");
            return error_page(
                StatusCode::BAD_REQUEST,
                "Cannot sign in",
                &format!(
                    "The app asked to return to {requested}, which is not one of its registered redirect URIs. Nothing was sent to it."
                ),
            );
        }
        // Required even with one registered URI, so that the token request always has one to
        // repeat (RFC 6749 4.1.3) and no code is redeemed without it.
        None => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", "The app sent no redirect_uri. Ask it to connect again."),
    };
    let state = get("state");
    let fail = |error: &str, description: &str| redirect_error(&server, &redirect_uri, state, error, description);
    if get("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(code_challenge) = get("code_challenge") else {
        return fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
    };
    if get("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256; plain PKCE is not accepted");
    }
    if !is_pkce_text(code_challenge) {
        return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)");
    }
    let scopes = match requested_scopes(&server, get("scope")) {
        Ok(scopes) => scopes,
        Err(problem) => return fail("invalid_scope", &problem),
    };
    let resource = match get("resource") {
        None => server.config.resource.clone(),
        Some(resource) if names_resource(resource, &server.config.resource) => server.config.resource.clone(),
        Some(resource) => {
            return fail("invalid_target", &format!("this server issues tokens only for {}, not {resource}", server.config.resource));
        }
    };
    let pending = PendingRequest {
        request_id: random_token(),
        csrf_token: random_token(),
        client_id: client.client_id.clone(),
        redirect_uri,
        state: state.map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        scope: scopes.join(" "),
        resource,
        expires_at: now() + CONSENT_PAGE_LIFETIME_SECONDS,
    };
    if let Err(error) = server.store.insert_pending(&pending).await {
        return unavailable_page(error);
    }
    let mut response = consent(&server, &client, registered_here, &pending, StatusCode::OK, None);
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

/// One cookie per consent page, so that two sign-ins in two tabs do not overwrite each other.
fn csrf_cookie_name(request_id: &str) -> String {
    format!("csrf_{}", &request_id[..request_id.len().min(16)])
}

fn consent(
    server: &AuthorizationServer,
    client: &ClientRecord,
    registered_here: bool,
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
        client_name: &client.client_name,
        client_name_unverified: registered_here,
        redirect_host: &redirect_host,
        scopes,
        request_id: &pending.request_id,
        csrf_token: &pending.csrf_token,
        sandbox: server.config.sandbox,
        error,
    };
    html(status, pages::consent_page(&view))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Compares digests rather than the secrets, so the time taken says nothing about the secret.
fn same_secret(left: &str, right: &str) -> bool {
    token_hash(left) == token_hash(right)
}

async fn authorize_decision(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    // A browser always sends Origin on a form POST; another site's origin is a forged request.
    // The issuer has no path, so it is exactly this server's origin.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|origin| origin.to_str().ok())
        && origin != server.config.issuer
    {
        return error_page(StatusCode::FORBIDDEN, "Cannot sign in", "This form was sent from another site. Start again from your app.");
    }
    let params = match parameters(&body) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &format!("Malformed form: {problem}.")),
    };
    let get = |name: &str| params.get(name).unwrap_or_default();
    let expired =
        || error_page(StatusCode::BAD_REQUEST, "This sign-in has expired", "Start again from your app; sign-in pages last 10 minutes.");
    let pending = match server.store.pending(get("request")).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired(),
        Err(error) => return unavailable_page(error),
    };
    let cookie_token = cookie(&headers, &csrf_cookie_name(&pending.request_id)).unwrap_or_default();
    if !same_secret(get("csrf"), &pending.csrf_token) || !same_secret(cookie_token, &pending.csrf_token) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Cannot sign in",
            "This form did not come from the sign-in page it belongs to. Start again from your app.",
        );
    }
    let (client, registered_here) = match find_client(&server, &pending.client_id).await {
        Ok(found) => found,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &message),
    };
    let state = pending.state.as_deref();
    let ask_again = |message: &str| consent(&server, &client, registered_here, &pending, StatusCode::BAD_REQUEST, Some(message));
    let api_key = match get("decision") {
        "deny" => {
            return match server.store.finish_pending(&pending.request_id).await {
                Ok(_) => redirect_error(&server, &pending.redirect_uri, state, "access_denied", "the user denied the request"),
                Err(error) => unavailable_page(error),
            };
        }
        "sandbox" => match server.backend.sandbox_team_key() {
            Some(key) => key,
            None => return ask_again("This server is not on the sandbox: paste a Clerk Chat API key."),
        },
        "allow" => get("api_key").trim().to_owned(),
        _ => return ask_again("Choose Allow or Deny."),
    };
    if api_key.is_empty() {
        return ask_again("Paste your Clerk Chat API key, then choose Allow.");
    }
    if let Err(message) = server.backend.check_api_key(&api_key).await {
        return ask_again(&message);
    }
    match finish_sign_in(&server, &pending, &api_key).await {
        Ok(Some(code)) => back_to_client(&server, &pending.redirect_uri, state, &[("code", &code)]),
        Ok(None) => error_page(StatusCode::BAD_REQUEST, "Already answered", "This sign-in was already answered. Go back to your app."),
        Err(error) => unavailable_page(error),
    }
}

/// Stores the account and a new grant, and returns its code; `None` if the page was already
/// answered (a double submit).
async fn finish_sign_in(server: &AuthorizationServer, pending: &PendingRequest, api_key: &str) -> Result<Option<String>, sqlx::Error> {
    if !server.store.finish_pending(&pending.request_id).await? {
        return Ok(None);
    }
    let label = if server.config.sandbox { "sandbox team" } else { "Clerk Chat API key" };
    let account_id = server
        .store
        .upsert_account(&server.vault.fingerprint(api_key), &random_token(), |account_id| server.vault.seal(account_id, api_key), label)
        .await?;
    let grant = Grant {
        grant_id: random_token(),
        client_id: pending.client_id.clone(),
        account_id: account_id.clone(),
        scope: pending.scope.clone(),
        resource: pending.resource.clone(),
        revoked: false,
    };
    let code = random_token();
    let expires_at = now() + server.config.code_lifetime.as_secs() as i64;
    server.store.insert_grant_with_code(&grant, &token_hash(&code), &pending.redirect_uri, &pending.code_challenge, expires_at).await?;
    tracing::info!(client_id = %pending.client_id, account_id = %account_id, scope = %pending.scope, "the user allowed a sign-in");
    Ok(Some(code))
}

/// The client of a token request: `client_id` in the body (public clients), or the user name
/// of HTTP Basic authentication.
fn requesting_client(params: &Parameters, headers: &HeaderMap) -> Option<String> {
    if let Some(client_id) = params.get("client_id") {
        return Some(client_id.to_owned());
    }
    use base64::Engine;
    let basic = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map(|(user, _)| user).unwrap_or(&text);
    Some(form_urlencoded::parse(format!("u={user}").as_bytes()).next()?.1.into_owned())
}

async fn token(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match form_body(&headers, &body) {
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
            tracing::info!(client_id, error, description, "refused a token request");
            oauth_error(StatusCode::BAD_REQUEST, error, &description)
        }
        Err(TokenError::Storage(error)) => storage_failed(error),
    }
}

enum TokenError {
    Refused { error: &'static str, description: String },
    Storage(sqlx::Error),
}

impl TokenError {
    fn new(error: &'static str, description: impl Into<String>) -> TokenError {
        TokenError::Refused { error, description: description.into() }
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(error: sqlx::Error) -> TokenError {
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
            tracing::warn!(client_id, "a rotated refresh token was used again; its whole sign-in is revoked");
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
            let granted: Vec<&str> = grant.scope.split_whitespace().collect();
            let scope = match params.get("scope") {
                None => grant.scope.clone(),
                Some(asked) => {
                    if let Some(extra) = asked.split_whitespace().find(|scope| !granted.contains(scope)) {
                        return Err(TokenError::new("invalid_scope", format!("scope {extra} was not granted at sign-in")));
                    }
                    asked.split_whitespace().collect::<Vec<_>>().join(" ")
                }
            };
            issue_tokens(server, &grant, &scope).await
        }
    }
}

/// A signed access token (RFC 9068 shape) and a new refresh token of the same grant.
async fn issue_tokens(server: &AuthorizationServer, grant: &Grant, scope: &str) -> Result<Response, TokenError> {
    let issued_at = now();
    let lifetime = server.config.access_token_lifetime.as_secs() as i64;
    let claims = json!({
        "iss": server.config.issuer,
        "sub": grant.account_id,
        "aud": grant.resource,
        "client_id": grant.client_id,
        "scope": scope,
        "sid": grant.grant_id,
        "jti": random_token(),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(server.signing_key.key_id.clone());
    let access_token = jsonwebtoken::encode(&header, &claims, server.signing_key.encoding())
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

/// RFC 7009. Revoking either kind of token ends the whole sign-in it belongs to. Unknown
/// tokens get the same 200, so the answer tells nothing.
async fn revoke(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match form_body(&headers, &body) {
        Ok(params) => params,
        Err(problem) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &problem),
    };
    let Some(token) = params.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required");
    };
    let grant_id = match server.store.refresh_token_grant(&token_hash(token)).await {
        Ok(Some(grant_id)) => Some(grant_id),
        Ok(None) => access_token_grant(&server, token),
        Err(error) => return storage_failed(error),
    };
    if let Some(grant_id) = grant_id {
        if let Err(error) = server.revoke_grant(&grant_id).await {
            return storage_failed(error);
        }
        tracing::info!("revoked a sign-in at the client's request");
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

/// The grant of an access token this server signed, even an expired one.
fn access_token_grant(server: &AuthorizationServer, token: &str) -> Option<String> {
    let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    validation.set_issuer(&[&server.config.issuer]);
    let data = jsonwebtoken::decode::<Value>(token, server.signing_key.decoding(), &validation).ok()?;
    data.claims.get("sid").and_then(Value::as_str).map(str::to_owned)
}

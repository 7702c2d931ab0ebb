//! The authorization server's HTTP endpoints, one module each, and what they share: request
//! parameters, OAuth error answers and HTML pages. Before the redirect URI is known to belong
//! to the client, errors are shown on a page (never redirected: that would make this an open
//! redirector); after, they go back to the client as RFC 6749 error redirects.

mod authorize;
mod consent;
mod metadata;
mod register;
mod revoke;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clerk_store::StoreError;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use crate::AuthorizationServer;
use crate::pages;

type Server = Arc<AuthorizationServer>;

/// Every request here is a small form or JSON document.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

pub(crate) fn router(server: Server) -> Router {
    // Browser-based MCP clients call these from their own origin; none of them uses cookies.
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::POST]).allow_headers([
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        header::HeaderName::from_static("mcp-protocol-version"),
    ]);
    let limit = axum::middleware::from_fn_with_state(server.clone(), crate::limits::limit_costly_requests);
    let api = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata::metadata))
        .route("/.well-known/openid-configuration", get(metadata::metadata))
        .route("/jwks.json", get(metadata::jwks))
        .route("/register", post(register::register).layer(limit.clone()))
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .layer(cors);
    Router::new()
        .route("/authorize", get(authorize::authorize_page).post(consent::authorize_decision).layer(limit))
        .merge(api)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(server)
}

/// Form or query parameters; an empty one counts as absent.
struct Parameters(HashMap<String, String>);

impl Parameters {
    /// A parameter given twice is an error (RFC 6749 3.1).
    fn parse(text: &[u8]) -> Result<Parameters, String> {
        let mut parameters = HashMap::new();
        for (name, value) in form_urlencoded::parse(text) {
            if parameters.insert(name.to_string(), value.to_string()).is_some() {
                return Err(format!("the parameter {name} is given more than once"));
            }
        }
        Ok(Parameters(parameters))
    }

    /// The body of a token or revocation request, which RFC 6749 and RFC 7009 send as a form.
    fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Parameters, String> {
        let content_type =
            headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("application/x-www-form-urlencoded");
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(format!("send the parameters as application/x-www-form-urlencoded, not {content_type}"));
        }
        Parameters::parse(body)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }
}

/// The client of a token or revocation request: `client_id` in the body (public clients), or the user name
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

/// An OAuth error answer of the token, registration and revocation endpoints.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

/// The JSON endpoints' answer when the store fails: the cause logged here, a fixed sentence
/// there.
fn storage_failed(error: StoreError) -> Response {
    tracing::error!("the authorization server's store failed: {error}");
    oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", StoreError::PUBLIC_MESSAGE)
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form
    // post, and the origin check could not tell the page from a forgery.
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

/// The sign-in pages' answer when the store fails: logged here, a plain sentence there.
fn unavailable_page(error: StoreError) -> Response {
    tracing::error!("the authorization server's store failed: {error}");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Cannot sign in", "The server cannot reach its database; try again shortly.")
}

/// Whether `requested` names the resource `ours`. On a loopback server, localhost, 127.0.0.1
/// and [::1] on the same port are one server: users type any of them.
fn names_resource(requested: &str, ours: &str) -> bool {
    let Some(requested) = crate::canonical_url(requested) else { return false };
    if requested == ours {
        return true;
    }
    match (url::Url::parse(&requested), url::Url::parse(ours)) {
        (Ok(requested), Ok(ours)) => {
            crate::clients::is_loopback_host(&requested)
                && crate::clients::is_loopback_host(&ours)
                && requested.scheme() == ours.scheme()
                && requested.port() == ours.port()
                && requested.path() == ours.path()
                && requested.query() == ours.query()
        }
        _ => false,
    }
}

/// Sends the browser back to the client with `code` or `error`, the `state` it sent, and `iss`
/// (RFC 9207, so the client can tell which server answered). Only ever called with a
/// redirect URI matched against the client's registration.
fn back_to_client(server: &AuthorizationServer, redirect_uri: &str, state: Option<&str>, outcome: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
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

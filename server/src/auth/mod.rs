//! The HTTP transport as an OAuth 2.1 protected resource (MCP authorization, RFC 9728): bearer
//! tokens checked against the authorization server's keys (the built-in one's, or an external
//! one's JWKS), audience bound to this server's canonical URL, per-tool scopes from the manifest
//! enforced with a 403 step-up challenge. `tokens` checks a token, `sessions` keeps each MCP
//! session to the principal that opened it.

mod sessions;
mod tokens;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clerk_chat::mcp::ToolSpec;
use clerk_oauth::AuthorizationServer;
use jsonwebtoken::jwk::JwkSet;
use moka::sync::Cache;
use serde_json::{Value, json};

use sessions::{MAX_SESSIONS_PER_ACCOUNT, SessionAccess, SessionOwners};
use tokens::fetch_jwks;

/// Who is calling, as the access token says. With the built-in authorization server the
/// subject is the signed-in Clerk Chat account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: with the built-in issuer, the signed-in account's id.
    pub subject: String,
    /// The scopes the token grants.
    pub scopes: BTreeSet<String>,
}

/// Where the keys that sign access tokens come from.
enum Keys {
    /// An external authorization server's JWKS, fetched again for an unknown key id.
    Remote { jwks_uri: String, jwks: RwLock<(JwkSet, Instant)>, http: reqwest::Client },
    /// The built-in authorization server: its own key, and its list of revoked grants.
    BuiltIn(Arc<AuthorizationServer>),
}

/// Why the external authorization server cannot be used. Shown to the operator, at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Its metadata or keys cannot be read.
    #[error("cannot discover the authorization server {issuer}: {reason}")]
    Discovery {
        /// The issuer URL, as configured.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
}

/// Validates bearer tokens for this server.
pub struct ResourceServer {
    /// The canonical URL of `/mcp`: the audience every token must carry.
    resource: String,
    /// The canonical base URL, such as `https://mcp.example.com`.
    base: String,
    /// On loopback, localhost, 127.0.0.1 and [::1] name this one server (see `base_seen_by`).
    loopback_aliases: bool,
    issuer: String,
    keys: Keys,
    /// Tokens already checked, by SHA-256.
    verified: Cache<[u8; 32], VerifiedToken>,
    /// The largest request body read to find the tool a call names (`--max-body-bytes`).
    max_body_bytes: usize,
    /// Every tool's scope, by tool name.
    tool_scopes: HashMap<String, String>,
    /// The distinct scopes of `tool_scopes`, sorted, and joined for a challenge: fixed, so
    /// worked out once rather than on every request.
    scopes: Vec<String>,
    all_scopes: String,
    /// Who opened each MCP session, and how many each account has open.
    sessions: SessionOwners,
}

/// Verified tokens remembered at most; the least recently used go first.
const REMEMBERED_TOKENS: u64 = 10_000;
/// A verified token is checked in full again after this long, whatever its `exp`.
const REMEMBER_TOKENS_FOR: Duration = Duration::from_secs(600);

#[derive(Clone)]
struct VerifiedToken {
    principal: Principal,
    /// `exp`, in seconds since the epoch.
    expires_at: u64,
    /// The built-in issuer's sign-in (`sid`), checked for revocation on every use.
    grant: Option<String>,
}

impl ResourceServer {
    /// Reads the issuer's RFC 8414 (or OpenID) metadata for its JWKS, and the keys. `base` is
    /// this server's canonical base URL (`canonical_base`).
    pub async fn discover(
        issuer: &str,
        base: String,
        tools: &[&'static ToolSpec],
        max_body_bytes: usize,
    ) -> Result<ResourceServer, AuthError> {
        clerk_support::tls::install_crypto_provider();
        let failed = |reason: String| AuthError::Discovery { issuer: issuer.to_owned(), reason };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|error| failed(error.to_string()))?;
        let issuer = issuer.trim_end_matches('/').to_owned();
        let mut jwks_uri = None;
        for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
            if let Ok(response) = http.get(format!("{issuer}{path}")).send().await
                && response.status().is_success()
                && let Ok(metadata) = response.json::<Value>().await
            {
                // RFC 8414 3.3: metadata naming another issuer must not be used.
                let named = metadata.get("issuer").and_then(Value::as_str).map(|named| named.trim_end_matches('/'));
                if named != Some(issuer.as_str()) {
                    return Err(failed(format!("its metadata at {path} names the issuer {named:?}, not {issuer}")));
                }
                jwks_uri = metadata.get("jwks_uri").and_then(Value::as_str).map(str::to_owned);
                break;
            }
        }
        let jwks_uri = jwks_uri.ok_or_else(|| {
            failed("neither /.well-known/oauth-authorization-server nor /.well-known/openid-configuration names a jwks_uri".to_owned())
        })?;
        let jwks = fetch_jwks(&http, &jwks_uri).await.map_err(failed)?;
        let keys = Keys::Remote { jwks_uri, jwks: RwLock::new((jwks, Instant::now())), http };
        Ok(ResourceServer::new(issuer, base, keys, tools, max_body_bytes))
    }

    /// Accepts the tokens of the built-in authorization server, whose issuer is this server's
    /// own canonical base URL.
    pub fn built_in(authorization_server: Arc<AuthorizationServer>, tools: &[&'static ToolSpec], max_body_bytes: usize) -> ResourceServer {
        let issuer = authorization_server.issuer().to_owned();
        ResourceServer::new(issuer.clone(), issuer, Keys::BuiltIn(authorization_server), tools, max_body_bytes)
    }

    /// The scopes advertised and asked for are those of the served `tools` only.
    fn new(issuer: String, base: String, keys: Keys, tools: &[&'static ToolSpec], max_body_bytes: usize) -> ResourceServer {
        let tool_scopes: HashMap<String, String> = tools.iter().map(|spec| (spec.name.to_owned(), spec.scope.to_owned())).collect();
        let scopes: Vec<String> = tool_scopes.values().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        ResourceServer {
            resource: format!("{base}/mcp"),
            loopback_aliases: clerk_oauth::is_loopback_url(&base),
            base,
            issuer,
            keys,
            verified: Cache::builder().max_capacity(REMEMBERED_TOKENS).time_to_live(REMEMBER_TOKENS_FOR).build(),
            max_body_bytes,
            all_scopes: scopes.join(" "),
            scopes,
            tool_scopes,
            sessions: SessionOwners::new(),
        }
    }

    /// Keeps session owners in `store` too, so that a session opened here can be continued
    /// on another replica by the same principal only.
    pub(crate) fn with_shared_sessions(mut self, store: Arc<crate::session_store::SqlSessionStore>) -> ResourceServer {
        self.sessions.share(store);
        self
    }

    /// The base URL as the request named it. Users type localhost as often as 127.0.0.1, and
    /// clients (the TypeScript SDK) refuse metadata whose `resource` differs from the URL they
    /// were given; so on loopback, metadata and challenges follow the request's Host. Tokens are
    /// still issued for and checked against the canonical resource alone.
    /// The URL is rebuilt from the parsed host and port, never copied from the header, so a
    /// crafted `Host` cannot add a path or a parameter.
    fn base_seen_by(&self, headers: &HeaderMap) -> String {
        if !self.loopback_aliases {
            return self.base.clone();
        }
        let scheme = if self.base.starts_with("https://") { "https" } else { "http" };
        let seen = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| host.parse::<axum::http::uri::Authority>().ok())
            .and_then(|authority| reqwest::Url::parse(&format!("{scheme}://{}", authority.as_str())).ok())
            .filter(|url| url.path() == "/" && url.query().is_none() && url.username().is_empty());
        let base_port = reqwest::Url::parse(&self.base).ok().and_then(|url| url.port());
        match seen {
            Some(url) if clerk_oauth::is_loopback_url(url.as_str()) && url.port() == base_port => {
                let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
                format!("{scheme}://{}{port}", url.host_str().unwrap_or_default())
            }
            _ => self.base.clone(),
        }
    }

    /// RFC 9728 protected resource metadata.
    pub fn metadata(&self, headers: &HeaderMap) -> Value {
        json!({
            "resource": format!("{}/mcp", self.base_seen_by(headers)),
            "authorization_servers": [self.issuer],
            "scopes_supported": self.scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": "Clerk Chat",
        })
    }

    /// 401 for a missing (`reason` None) or unusable token, asking for every scope. `reason`
    /// is fixed text: it goes into a header.
    pub(crate) fn unauthorized(&self, headers: &HeaderMap, reason: Option<&'static str>) -> Response {
        self.challenge(headers, StatusCode::UNAUTHORIZED, reason.map(|reason| ("invalid_token", reason)), &self.all_scopes)
    }

    /// RFC 9728 protected resource metadata, at both well-known paths.
    pub(crate) fn metadata_routes(self: &Arc<Self>) -> axum::Router {
        let metadata = |State(resource_server): State<Arc<ResourceServer>>, headers: HeaderMap| async move {
            axum::Json(resource_server.metadata(&headers))
        };
        axum::Router::new()
            .route("/.well-known/oauth-protected-resource", axum::routing::get(metadata))
            .route("/.well-known/oauth-protected-resource/mcp", axum::routing::get(metadata))
            .with_state(self.clone())
    }

    fn challenge(&self, headers: &HeaderMap, status: StatusCode, error: Option<(&str, &str)>, scope: &str) -> Response {
        let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", self.base_seen_by(headers));
        let mut value = format!("Bearer resource_metadata={}, scope={}", quoted(&metadata_url), quoted(scope));
        if let Some((code, description)) = error {
            value.push_str(&format!(", error={}, error_description={}", quoted(code), quoted(description)));
        }
        let mut body = json!({"error": error.map(|(code, _)| code).unwrap_or("unauthorized")});
        // Someone trying a server on their own machine with curl or the Inspector, without a
        // token: say how to sign in, and how to run without sign-in for local development.
        if error.is_none() && status == StatusCode::UNAUTHORIZED && self.loopback_aliases {
            body["hint"] = json!(
                "this server asks MCP clients to sign in (OAuth; Claude Code and the Inspector do it for you). \
                 For local development without sign-in, start it with --auth none"
            );
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Ok(header_value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header_value);
        }
        response
    }
}

/// `value` as an HTTP quoted-string (RFC 9110 5.6.4): `"` and `\` escaped, control characters
/// dropped, so that no value can end the parameter or the header.
fn quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for character in value.chars().filter(|character| !character.is_control()) {
        if matches!(character, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

/// The token of an `Authorization: Bearer ...` header; the scheme is case-insensitive.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

/// The middleware in front of `/mcp`: a valid token, for `tools/call` the tool's scope, a
/// session only for the account that opened it, and a new session only under the account's cap.
pub async fn require_token(State(server): State<Arc<ResourceServer>>, request: Request, next: Next) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return server.unauthorized(request.headers(), None);
    };
    let principal = match server.validate(token).await {
        Ok(principal) => principal,
        Err(rejection) => {
            // The details may hold the token's own text: logged escaped.
            tracing::info!(reason = ?rejection.to_string(), "refused a bearer token");
            return server.unauthorized(request.headers(), Some(rejection.description()));
        }
    };
    let (mut parts, body) = request.into_parts();
    // The tool a tools/call names decides the scope; the body is read once and put back.
    let bytes = match axum::body::to_bytes(body, server.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let message = serde_json::from_slice::<Value>(&bytes).ok();
    let method = message.as_ref().and_then(|message| message.get("method")).and_then(Value::as_str);
    if method == Some("tools/call")
        && let Some(scope) = message
            .as_ref()
            .and_then(|message| message.pointer("/params/name"))
            .and_then(Value::as_str)
            .and_then(|tool| server.tool_scopes.get(tool))
        && !principal.scopes.contains(scope)
    {
        let description = format!("this tool needs the scope {scope}");
        return server.challenge(&parts.headers, StatusCode::FORBIDDEN, Some(("insufficient_scope", &description)), scope);
    }
    let session = parts.headers.get(SESSION_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
    if let Some(refusal) = server.session_refusal(session.as_deref(), method, &principal.subject).await {
        return refusal;
    }
    let subject = principal.subject.clone();
    let deleting = parts.method == axum::http::Method::DELETE;
    parts.extensions.insert(principal);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    match (session, response.headers().get(SESSION_HEADER).and_then(|value| value.to_str().ok())) {
        (None, Some(opened)) => server.sessions.remember(opened, subject).await,
        (Some(closed), _) if deleting && response.status().is_success() => server.sessions.forget(&closed),
        _ => {}
    }
    response
}

impl ResourceServer {
    /// The answer when the request may not go on: into another account's session (404, as
    /// for an unknown one, so that nothing says it exists), or opening a session beyond the
    /// account's cap (429).
    async fn session_refusal(&self, session: Option<&str>, method: Option<&str>, subject: &str) -> Option<Response> {
        let access = match session {
            Some(session) => self.sessions.access(session, subject).await,
            None => SessionAccess::Allowed,
        };
        match session {
            Some(_) if access == SessionAccess::Unverifiable => {
                Some((StatusCode::SERVICE_UNAVAILABLE, clerk_store::StoreError::PUBLIC_MESSAGE).into_response())
            }
            Some(_) if access == SessionAccess::Refused => {
                tracing::warn!(subject = %subject, "refused a request into another principal's MCP session");
                Some((StatusCode::NOT_FOUND, "Not Found: Session not found").into_response())
            }
            None if method == Some("initialize") && !self.sessions.may_open(subject) => {
                tracing::warn!(subject = %subject, "refused a new MCP session over the account's cap");
                let message = format!(
                    "Too Many Requests: this account already has {MAX_SESSIONS_PER_ACCOUNT} open MCP sessions; close one (DELETE /mcp with its Mcp-Session-Id) or let one stay idle for 10 minutes"
                );
                Some((StatusCode::TOO_MANY_REQUESTS, message).into_response())
            }
            _ => None,
        }
    }
}

const SESSION_HEADER: &str = "mcp-session-id";

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The value a quoted-string stands for: backslash escapes undone.
    fn unquoted(quoted: &str) -> Option<String> {
        let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
        let mut value = String::new();
        let mut characters = inner.chars();
        while let Some(character) = characters.next() {
            match character {
                '\\' => value.push(characters.next()?),
                '"' => return None,
                other => value.push(other),
            }
        }
        Some(value)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// Whatever a value holds, it stays one well-formed quoted-string: it reads back as
        /// itself without its control characters, and it is a valid header value.
        #[test]
        fn a_quoted_value_cannot_end_its_parameter_or_the_header(value in "[\\x00-\\x7f\"\\\\=,\u{80}-\u{2FF}]{0,40}") {
            let parameter = quoted(&value);
            let expected: String = value.chars().filter(|character| !character.is_control()).collect();
            prop_assert_eq!(unquoted(&parameter), Some(expected));
            let header = format!("Bearer resource_metadata={parameter}, scope={}", quoted("contacts:read"));
            prop_assert!(HeaderValue::from_str(&header).is_ok() || !parameter.is_ascii());
        }
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("line\r\nbreak"), "\"linebreak\"");
    }
}

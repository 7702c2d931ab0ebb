//! The HTTP transport as an OAuth 2.1 protected resource (MCP authorization, RFC 9728): bearer
//! tokens checked against the authorization server's keys (the built-in one's, or an external
//! one's JWKS), audience bound to this server's canonical URL, per-tool scopes from the manifest
//! enforced with a 403 step-up challenge. `tokens` checks a token, `sessions` keeps each MCP
//! session to the principal that opened it.

mod sessions;
mod tokens;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clerk_oauth::AuthorizationServer;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use sessions::SessionOwner;
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
    verified: RwLock<HashMap<[u8; 32], VerifiedToken>>,
    /// Every tool's scope, by tool name.
    tool_scopes: HashMap<String, String>,
    /// The distinct scopes of `tool_scopes`, sorted, and joined for a challenge: fixed, so
    /// worked out once rather than on every request.
    scopes: Vec<String>,
    all_scopes: String,
    /// Who opened each MCP session: a session serves only the principal that opened it, so a
    /// leaked session id is worth nothing with another account's token.
    session_owners: Mutex<HashMap<String, SessionOwner>>,
}

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
    pub async fn discover(issuer: &str, base: String) -> Result<ResourceServer, AuthError> {
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
                jwks_uri = metadata.get("jwks_uri").and_then(Value::as_str).map(str::to_owned);
                break;
            }
        }
        let jwks_uri = jwks_uri.ok_or_else(|| {
            failed("neither /.well-known/oauth-authorization-server nor /.well-known/openid-configuration names a jwks_uri".to_owned())
        })?;
        let jwks = fetch_jwks(&http, &jwks_uri).await.map_err(failed)?;
        Ok(ResourceServer::new(issuer, base, Keys::Remote { jwks_uri, jwks: RwLock::new((jwks, Instant::now())), http }))
    }

    /// Accepts the tokens of the built-in authorization server, whose issuer is this server's
    /// own canonical base URL.
    pub fn built_in(authorization_server: Arc<AuthorizationServer>) -> ResourceServer {
        let issuer = authorization_server.issuer().to_owned();
        ResourceServer::new(issuer.clone(), issuer, Keys::BuiltIn(authorization_server))
    }

    fn new(issuer: String, base: String, keys: Keys) -> ResourceServer {
        let tool_scopes: HashMap<String, String> =
            clerk_chat::tools::TOOLS.iter().map(|spec| (spec.name.to_owned(), spec.scope.to_owned())).collect();
        let scopes: Vec<String> = tool_scopes.values().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        ResourceServer {
            resource: format!("{base}/mcp"),
            loopback_aliases: clerk_oauth::is_loopback_url(&base),
            base,
            issuer,
            keys,
            verified: RwLock::new(HashMap::new()),
            all_scopes: scopes.join(" "),
            scopes,
            tool_scopes,
            session_owners: Mutex::new(HashMap::new()),
        }
    }

    /// The base URL as the request named it. Users type localhost as often as 127.0.0.1, and
    /// clients (the TypeScript SDK) refuse metadata whose `resource` differs from the URL they
    /// were given; so on loopback, metadata and challenges follow the request's Host. Tokens are
    /// still issued for and checked against the canonical resource alone.
    fn base_seen_by(&self, headers: &HeaderMap) -> String {
        let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).map(str::to_ascii_lowercase);
        match host {
            Some(host) if self.loopback_aliases && clerk_oauth::is_loopback_url(&format!("http://{host}")) => {
                let seen = format!("{}://{host}", if self.base.starts_with("https://") { "https" } else { "http" });
                let same_port = reqwest::Url::parse(&seen).ok().and_then(|url| url.port())
                    == reqwest::Url::parse(&self.base).ok().and_then(|url| url.port());
                if same_port { seen } else { self.base.clone() }
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
        let mut value = format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"{scope}\"");
        if let Some((code, description)) = error {
            value.push_str(&format!(", error=\"{code}\", error_description=\"{}\"", description.replace('"', "'")));
        }
        let mut response = (status, axum::Json(json!({"error": error.map(|(code, _)| code).unwrap_or("unauthorized")}))).into_response();
        if let Ok(header_value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header_value);
        }
        response
    }
}

/// The middleware in front of `/mcp`: a valid token, and for `tools/call` the tool's scope.
pub async fn require_token(State(server): State<Arc<ResourceServer>>, request: Request, next: Next) -> Response {
    let Some(token) =
        request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "))
    else {
        return server.unauthorized(request.headers(), None);
    };
    let principal = match server.validate(token.trim()).await {
        Ok(principal) => principal,
        Err(rejection) => {
            tracing::info!("refused a bearer token: {rejection}");
            return server.unauthorized(request.headers(), Some(rejection.description()));
        }
    };
    let (mut parts, body) = request.into_parts();
    // The tool a tools/call names decides the scope; the body is read once and put back.
    let bytes = match axum::body::to_bytes(body, 4 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    if let Ok(message) = serde_json::from_slice::<Value>(&bytes)
        && message.get("method").and_then(Value::as_str) == Some("tools/call")
        && let Some(scope) = message.pointer("/params/name").and_then(Value::as_str).and_then(|tool| server.tool_scopes.get(tool))
        && !principal.scopes.contains(scope)
    {
        let description = format!("this tool needs the scope {scope}");
        return server.challenge(&parts.headers, StatusCode::FORBIDDEN, Some(("insufficient_scope", &description)), scope);
    }
    let session = parts.headers.get(SESSION_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
    if let Some(session) = &session
        && !server.session_is_theirs(session, &principal.subject)
    {
        tracing::warn!(subject = %principal.subject, "refused a request into another principal's MCP session");
        // The answer rmcp gives for an unknown session, so that nothing says the session exists.
        return (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response();
    }
    let subject = principal.subject.clone();
    let deleting = parts.method == axum::http::Method::DELETE;
    parts.extensions.insert(principal);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    match (session, response.headers().get(SESSION_HEADER).and_then(|value| value.to_str().ok())) {
        (None, Some(opened)) => server.remember_session(opened, subject),
        (Some(closed), _) if deleting && response.status().is_success() => server.forget_session(&closed),
        _ => {}
    }
    response
}

const SESSION_HEADER: &str = "mcp-session-id";

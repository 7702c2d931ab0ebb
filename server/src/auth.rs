//! The HTTP transport as an OAuth 2.1 protected resource (MCP authorization, RFC 9728): bearer
//! tokens checked against the authorization server's keys (the built-in one's, or an external
//! one's JWKS), audience bound to this server's canonical URL, per-tool scopes from the manifest
//! enforced with a 403 step-up challenge.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clerk_oauth::AuthorizationServer;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

/// Why a bearer token was refused. Two faces: `Display`, with the details, goes to the log;
/// [`TokenRejection::description`] is the fixed text a client gets in its challenge, so
/// nothing a token carries is echoed into a header.
#[derive(Debug, thiserror::Error)]
enum TokenRejection {
    #[error("malformed token: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    #[error("tokens signed with {0:?} are not accepted")]
    Algorithm(Algorithm),
    #[error("the token names no signing key (kid)")]
    NoKeyId,
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    #[error("invalid token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("the token names no sign-in (sid)")]
    NoSignIn,
    #[error("the token's sign-in was revoked")]
    Revoked,
}

impl TokenRejection {
    fn description(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind;
        match self {
            TokenRejection::Malformed(_) => "the token is not a well-formed JWT",
            TokenRejection::Algorithm(_) => "the token's signing algorithm is not accepted",
            TokenRejection::NoKeyId => "the token names no signing key (kid)",
            TokenRejection::UnknownKey(_) => "the token is signed with an unknown key",
            TokenRejection::Invalid(error) => match error.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidAudience => "the token was issued for another resource",
                ErrorKind::InvalidIssuer => "the token was issued by another authorization server",
                ErrorKind::InvalidSignature => "the token's signature does not verify",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                _ => "the token is invalid",
            },
            TokenRejection::NoSignIn => "the token names no sign-in (sid)",
            TokenRejection::Revoked => "the token's sign-in was revoked",
        }
    }
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

struct SessionOwner {
    subject: String,
    last_seen: Instant,
}

/// rmcp drops a session after 5 idle minutes; an owner not seen for this long is forgotten.
const SESSION_OWNER_TTL: Duration = Duration::from_secs(3600);

/// Keys are fetched again for an unknown `kid` at most this often, so that garbage tokens
/// cannot make the server hammer the authorization server.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;
/// Verified tokens remembered at most; the memory is forgotten at once when full.
const MAX_VERIFIED_TOKENS: usize = 10_000;

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

    async fn validate(&self, token: &str) -> Result<Principal, TokenRejection> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(principal) = self.verified_before(&digest)? {
            return Ok(principal);
        }
        let header = jsonwebtoken::decode_header(token).map_err(TokenRejection::Malformed)?;
        // Only asymmetric signatures: `none` and HMAC (which a public key could forge) are refused.
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::PS256
                | Algorithm::EdDSA
        ) {
            return Err(TokenRejection::Algorithm(header.alg));
        }
        let kid = header.kid.clone().ok_or(TokenRejection::NoKeyId)?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh_keys().await;
                self.key(&kid).ok_or(TokenRejection::UnknownKey(kid))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.resource]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(TokenRejection::Invalid)?;
        let claims = data.claims;
        let grant = match &self.keys {
            Keys::BuiltIn(_) => Some(claims.get("sid").and_then(Value::as_str).ok_or(TokenRejection::NoSignIn)?.to_owned()),
            Keys::Remote { .. } => None,
        };
        self.check_not_revoked(grant.as_deref())?;
        let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        let principal = Principal { subject: claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned(), scopes };
        let expires_at = claims.get("exp").and_then(Value::as_u64).unwrap_or_default();
        let mut verified = self.verified.write().expect("the verified-token lock is never poisoned");
        if verified.len() >= MAX_VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(digest, VerifiedToken { principal: principal.clone(), expires_at, grant });
        Ok(principal)
    }

    /// A token checked before, while it is unexpired and its sign-in not revoked: the
    /// signature check is the costliest part of an authenticated call, and its result cannot
    /// change for the same token.
    fn verified_before(&self, digest: &[u8; 32]) -> Result<Option<Principal>, TokenRejection> {
        let verified = self.verified.read().expect("the verified-token lock is never poisoned");
        let Some(token) = verified.get(digest) else { return Ok(None) };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or_default();
        if now > token.expires_at + LEEWAY_SECONDS {
            // Checked again in full, which says why it fails.
            return Ok(None);
        }
        self.check_not_revoked(token.grant.as_deref())?;
        Ok(Some(token.principal.clone()))
    }

    /// True unless the session was opened by someone else. A session this server has no owner
    /// for is left to rmcp, which answers 404 for one it does not know either.
    fn session_is_theirs(&self, session: &str, subject: &str) -> bool {
        let mut owners = self.session_owners.lock().expect("the session lock is never poisoned");
        match owners.get_mut(session) {
            Some(owner) if owner.subject == subject => {
                owner.last_seen = Instant::now();
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    fn remember_session(&self, session: &str, subject: String) {
        let mut owners = self.session_owners.lock().expect("the session lock is never poisoned");
        owners.retain(|_, owner| owner.last_seen.elapsed() < SESSION_OWNER_TTL);
        owners.insert(session.to_owned(), SessionOwner { subject, last_seen: Instant::now() });
    }

    fn forget_session(&self, session: &str) {
        self.session_owners.lock().expect("the session lock is never poisoned").remove(session);
    }

    fn check_not_revoked(&self, grant: Option<&str>) -> Result<(), TokenRejection> {
        match (&self.keys, grant) {
            (Keys::BuiltIn(authorization_server), Some(grant)) if authorization_server.is_grant_revoked(grant) => {
                Err(TokenRejection::Revoked)
            }
            _ => Ok(()),
        }
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        match &self.keys {
            Keys::Remote { jwks, .. } => {
                let keys = jwks.read().expect("the JWKS lock is never poisoned");
                keys.0.find(kid).and_then(|jwk| DecodingKey::from_jwk(jwk).ok())
            }
            Keys::BuiltIn(authorization_server) => {
                let (key_id, key) = authorization_server.verification_key();
                (key_id == kid).then(|| key.clone())
            }
        }
    }

    async fn refresh_keys(&self) {
        let Keys::Remote { jwks_uri, jwks, http } = &self.keys else { return };
        if jwks.read().expect("the JWKS lock is never poisoned").1.elapsed() < JWKS_REFRESH_INTERVAL {
            return;
        }
        match fetch_jwks(http, jwks_uri).await {
            Ok(keys) => *jwks.write().expect("the JWKS lock is never poisoned") = (keys, Instant::now()),
            Err(error) => tracing::warn!("cannot refresh the authorization server's keys: {error}"),
        }
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

async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<JwkSet, String> {
    let response = http.get(uri).send().await.map_err(|error| format!("cannot fetch {uri}: {error}"))?;
    response
        .error_for_status()
        .map_err(|error| error.to_string())?
        .json::<JwkSet>()
        .await
        .map_err(|error| format!("{uri} is not a JWKS: {error}"))
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

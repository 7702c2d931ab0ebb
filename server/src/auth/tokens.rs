//! Checking a bearer token: its algorithm, key, signature and claims, and for the built-in
//! issuer its sign-in's revocation; tokens already checked are remembered until they expire.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Keys, Principal, ResourceServer, VerifiedToken};

/// Keys are fetched again for an unknown `kid` at most this often, so that garbage tokens
/// cannot make the server hammer the authorization server.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// Why a bearer token was refused. Two faces: `Display`, with the details, goes to the log;
/// [`TokenRejection::description`] is the fixed text a client gets in its challenge, so
/// nothing a token carries is echoed into a header.
#[derive(Debug, thiserror::Error)]
pub(super) enum TokenRejection {
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
    pub(super) fn description(&self) -> &'static str {
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

impl ResourceServer {
    pub(super) async fn validate(&self, token: &str) -> Result<Principal, TokenRejection> {
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
        self.verified.insert(digest, VerifiedToken { principal: principal.clone(), expires_at, grant });
        Ok(principal)
    }

    /// A token checked before, while it is unexpired and its sign-in not revoked: the
    /// signature check is the costliest part of an authenticated call, and its result cannot
    /// change for the same token.
    fn verified_before(&self, digest: &[u8; 32]) -> Result<Option<Principal>, TokenRejection> {
        let Some(token) = self.verified.get(digest) else { return Ok(None) };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or_default();
        if now > token.expires_at + LEEWAY_SECONDS {
            // Checked again in full, which says why it fails.
            return Ok(None);
        }
        self.check_not_revoked(token.grant.as_deref())?;
        Ok(Some(token.principal.clone()))
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
            Keys::BuiltIn(authorization_server) => authorization_server.verification_key(kid).cloned(),
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
}

pub(super) async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<JwkSet, String> {
    let response = http.get(uri).send().await.map_err(|error| format!("cannot fetch {uri}: {error}"))?;
    response
        .error_for_status()
        .map_err(|error| error.to_string())?
        .json::<JwkSet>()
        .await
        .map_err(|error| format!("{uri} is not a JWKS: {error}"))
}

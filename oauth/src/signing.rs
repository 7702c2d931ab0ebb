//! The ES256 key access tokens are signed with, and the tokens themselves: minted here, and
//! read back here when a client revokes one. The resource server checks them with
//! [`SigningKey::decoding`] through [`crate::AuthorizationServer::verification_key`].

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};

use crate::OAuthError;

/// The claims of an access token (RFC 9068).
#[derive(Debug, Serialize)]
pub(crate) struct AccessClaims<'a> {
    pub(crate) iss: &'a str,
    /// The signed-in account.
    pub(crate) sub: &'a str,
    /// The one resource the token is for: this server's `/mcp`.
    pub(crate) aud: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) scope: &'a str,
    /// The grant (sign-in) the token belongs to, checked for revocation on every use.
    pub(crate) sid: &'a str,
    pub(crate) jti: &'a str,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
}

/// The ES256 key, kept in the data directory (PKCS#8, mode 0600) so that tokens stay valid
/// across restarts.
pub(crate) struct SigningKey {
    pub(crate) key_id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl SigningKey {
    pub(crate) fn load_or_create(path: &Path) -> Result<SigningKey, OAuthError> {
        let pkcs8 = clerk_support::secret_file::read_or_create(path, || {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("P-256 key generation works")
                .as_ref()
                .to_vec()
        })
        .map_err(|source| OAuthError::SecretFile { path: path.to_owned(), source })?;
        let invalid = || OAuthError::InvalidSigningKey(path.to_owned());
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &SystemRandom::new()).map_err(|_| invalid())?;
        let encoding = EncodingKey::from_ec_der(&pkcs8);
        // The key id is derived from the public key, so it changes exactly when the key does.
        let public = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
        let key_id = URL_SAFE_NO_PAD.encode(&digest::digest(&digest::SHA256, &public).as_ref()[..12]);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).map_err(|_| invalid())?;
        jwk.common.key_id = Some(key_id.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| invalid())?;
        Ok(SigningKey { key_id, encoding, decoding, jwk })
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public half, as published at the JWKS endpoint.
    pub(crate) fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// A signed access token with these claims, typed `at+jwt`.
    pub(crate) fn mint_access_token(&self, claims: &AccessClaims<'_>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The grant (`sid`) of an access token this key signed for `issuer`, even an expired one:
    /// revoking a token must work whatever its age.
    pub(crate) fn grant_of_own_token(&self, token: &str, issuer: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct GrantClaim {
            sid: String,
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<GrantClaim>(token, &self.decoding, &validation).ok().map(|data| data.claims.sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims<'a>(exp: i64) -> AccessClaims<'a> {
        AccessClaims {
            iss: "http://issuer.test",
            sub: "account",
            aud: "http://issuer.test/mcp",
            client_id: "client",
            scope: "contacts:read",
            sid: "grant-1",
            jti: "j",
            iat: 0,
            nbf: 0,
            exp,
        }
    }

    #[test]
    fn the_signing_key_survives_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("signing-key.p8");
        let first = SigningKey::load_or_create(&path).unwrap();
        let second = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.key_id, second.key_id);
        let token = first.mint_access_token(&claims(4_000_000_000)).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, second.decoding(), &validation).unwrap();
    }

    #[test]
    fn an_own_token_names_its_grant_even_when_expired_and_only_for_its_issuer() {
        let directory = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(&directory.path().join("signing-key.p8")).unwrap();
        let expired = key.mint_access_token(&claims(1)).unwrap();
        assert_eq!(key.grant_of_own_token(&expired, "http://issuer.test").as_deref(), Some("grant-1"));
        assert_eq!(key.grant_of_own_token(&expired, "http://other.test"), None);
        let other = SigningKey::load_or_create(&directory.path().join("other.p8")).unwrap();
        assert_eq!(other.grant_of_own_token(&expired, "http://issuer.test"), None, "another key's token");
    }
}

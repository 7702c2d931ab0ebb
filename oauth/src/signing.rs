//! The ES256 keys access tokens are signed with, and the tokens themselves: minted here, and
//! read back here when a client revokes one. The resource server checks them through
//! [`crate::AuthorizationServer::verification_key`].
//!
//! Several keys may be in force at once, so that a key can be rotated without signing anyone
//! out: the first signs, every one verifies and is published in the JWKS.

use std::path::{Path, PathBuf};

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

/// The keys in force: the first signs; all of them verify and are published.
pub(crate) struct SigningKeys {
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    /// The configured key files (`--signing-key-file`), or else the one key kept in `directory`
    /// (made on first start).
    pub(crate) fn load(configured: &[PathBuf], directory: &Path) -> Result<SigningKeys, OAuthError> {
        if configured.is_empty() {
            return Ok(SigningKeys { keys: vec![SigningKey::load_or_create(&directory.join("signing-key.p8"))?] });
        }
        let mut keys: Vec<SigningKey> = Vec::with_capacity(configured.len());
        for path in configured {
            let key = SigningKey::read(path)?;
            if keys.iter().any(|known| known.key_id == key.key_id) {
                return Err(OAuthError::DuplicateSigningKey(path.clone()));
            }
            keys.push(key);
        }
        Ok(SigningKeys { keys })
    }

    /// The key new tokens are signed with.
    pub(crate) fn signing(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The key with this id, if it is in force.
    pub(crate) fn find(&self, key_id: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.key_id == key_id)
    }

    /// The public halves, as published at the JWKS endpoint: the signing key first.
    pub(crate) fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().map(|key| key.jwk.clone()).collect() }
    }

    /// The grant (`sid`) of an access token one of these keys signed for `issuer`, even an
    /// expired one: revoking a token must work whatever its age.
    pub(crate) fn grant_of_own_token(&self, token: &str, issuer: &str) -> Option<String> {
        let key_id = jsonwebtoken::decode_header(token).ok()?.kid?;
        self.find(&key_id)?.grant_of_own_token(token, issuer)
    }
}

/// One ES256 key: by default kept in the data directory (PKCS#8, mode 0600) so that tokens stay
/// valid across restarts; for replicas, a file of the operator's that every replica reads.
pub(crate) struct SigningKey {
    pub(crate) key_id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

/// A new P-256 key, as PKCS#8 DER.
fn new_pkcs8() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("P-256 key generation works")
        .as_ref()
        .to_vec()
}

/// Writes a new ES256 signing key to `path` for `--signing-key-file`: PKCS#8 PEM, as `openssl
/// genpkey` writes it, readable by its owner only. A file already there is never replaced.
pub fn write_new_signing_key(path: &Path) -> Result<(), OAuthError> {
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", new_pkcs8()));
    clerk_support::secret_file::create(path, pem.as_bytes()).map_err(|source| OAuthError::SecretFile { path: path.to_owned(), source })
}

impl SigningKey {
    pub(crate) fn load_or_create(path: &Path) -> Result<SigningKey, OAuthError> {
        let pkcs8 = clerk_support::secret_file::read_or_create(path, new_pkcs8)
            .map_err(|source| OAuthError::SecretFile { path: path.to_owned(), source })?;
        SigningKey::from_pkcs8(&pkcs8, path)
    }

    /// A key file the operator made: PKCS#8, in PEM (`-----BEGIN PRIVATE KEY-----`, as
    /// `openssl genpkey` writes it) or DER.
    pub(crate) fn read(path: &Path) -> Result<SigningKey, OAuthError> {
        let contents = std::fs::read(path).map_err(|source| OAuthError::SecretFile { path: path.to_owned(), source })?;
        let pkcs8 = if contents.starts_with(b"-----BEGIN") {
            match pem::parse(&contents) {
                Ok(block) if block.tag() == "PRIVATE KEY" => block.into_contents(),
                _ => return Err(OAuthError::InvalidSigningKey(path.to_owned())),
            }
        } else {
            contents
        };
        SigningKey::from_pkcs8(&pkcs8, path)
    }

    fn from_pkcs8(pkcs8: &[u8], path: &Path) -> Result<SigningKey, OAuthError> {
        let invalid = || OAuthError::InvalidSigningKey(path.to_owned());
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new()).map_err(|_| invalid())?;
        let encoding = EncodingKey::from_ec_der(pkcs8);
        // The key id is derived from the public key, so it changes exactly when the key does,
        // and every replica reading the same file names it alike.
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

    /// A signed access token with these claims, typed `at+jwt`.
    pub(crate) fn mint_access_token(&self, claims: &AccessClaims<'_>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The grant (`sid`) of an access token this key signed for `issuer`, even an expired one.
    fn grant_of_own_token(&self, token: &str, issuer: &str) -> Option<String> {
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

    #[test]
    fn configured_keys_sign_with_the_first_and_verify_with_all() {
        let directory = tempfile::tempdir().unwrap();
        let (old, new) = (directory.path().join("old.pem"), directory.path().join("new.pem"));
        write_new_signing_key(&old).unwrap();
        write_new_signing_key(&new).unwrap();
        let before = SigningKeys::load(std::slice::from_ref(&old), directory.path()).unwrap();
        let old_token = before.signing().mint_access_token(&claims(4_000_000_000)).unwrap();
        let during = SigningKeys::load(&[new.clone(), old.clone()], directory.path()).unwrap();
        assert_eq!(during.jwks().keys.len(), 2, "both keys are published");
        assert_ne!(during.signing().key_id, before.signing().key_id, "the new key signs");
        assert_eq!(during.grant_of_own_token(&old_token, "http://issuer.test").as_deref(), Some("grant-1"), "the old key still verifies");
        let after = SigningKeys::load(&[new], directory.path()).unwrap();
        assert_eq!(after.grant_of_own_token(&old_token, "http://issuer.test"), None, "a retired key verifies nothing");
        assert!(!directory.path().join("signing-key.p8").exists(), "nothing is generated when keys are configured");
    }

    #[test]
    fn a_configured_key_file_must_hold_one_new_p256_key() {
        let directory = tempfile::tempdir().unwrap();
        let key = directory.path().join("key.pem");
        write_new_signing_key(&key).unwrap();
        assert!(matches!(write_new_signing_key(&key), Err(OAuthError::SecretFile { .. })), "an existing key file is never replaced");
        let twice = SigningKeys::load(&[key.clone(), key.clone()], directory.path());
        assert!(matches!(twice, Err(OAuthError::DuplicateSigningKey(_))));
        let certificate = directory.path().join("certificate.pem");
        std::fs::write(&certificate, pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]))).unwrap();
        let error = SigningKeys::load(&[certificate], directory.path()).err().unwrap();
        assert!(error.to_string().contains("openssl genpkey"), "{error}");
        let missing = SigningKeys::load(&[directory.path().join("missing.pem")], directory.path()).err().unwrap();
        assert!(matches!(missing, OAuthError::SecretFile { .. }), "{missing}");
    }
}

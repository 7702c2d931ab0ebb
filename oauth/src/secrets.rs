//! The server's own secrets: the token signing key, the key that seals upstream API keys, and
//! the random values and hashes of codes and tokens. All of it is ring, the crypto library that
//! rustls already brings in.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use ring::{digest, hmac};

use crate::OAuthError;

/// A random value of 256 bits, base64url: codes, tokens, ids and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Codes and tokens are stored by this hash, so a copy of the database grants nothing.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// PKCE S256 (RFC 7636): BASE64URL(SHA256(verifier)) compared with the stored challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes())) == challenge
}

/// Writes a secret file readable by its owner only.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// Reads a secret file, or makes it with `generate` on first start.
fn read_or_create(path: &Path, generate: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, OAuthError> {
    let failed = |source| OAuthError::SecretFile { path: path.to_owned(), source };
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let bytes = generate();
            write_secret_file(path, &bytes).map_err(failed)?;
            Ok(bytes)
        }
        Err(error) => Err(failed(error)),
    }
}

/// The ES256 key access tokens are signed with, kept in the data directory (PKCS#8, mode 0600)
/// so that tokens stay valid across restarts.
pub struct SigningKey {
    pub key_id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl SigningKey {
    pub fn load_or_create(path: &Path) -> Result<SigningKey, OAuthError> {
        let pkcs8 = read_or_create(path, || {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("P-256 key generation works")
                .as_ref()
                .to_vec()
        })?;
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

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public half, as published at the JWKS endpoint.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }
}

/// Seals upstream API keys (ChaCha20-Poly1305, a random nonce per key) and fingerprints them
/// (HMAC-SHA256 under a key derived from the same secret).
pub struct KeyVault {
    aead: LessSafeKey,
    fingerprint: hmac::Key,
}

impl KeyVault {
    /// `configured` is the base64 key from the operator's configuration; without it the key is
    /// generated once into `path`.
    pub fn open(configured: Option<&str>, path: &Path) -> Result<KeyVault, OAuthError> {
        let secret = match configured {
            Some(text) => {
                STANDARD.decode(text.trim()).or_else(|_| URL_SAFE_NO_PAD.decode(text.trim())).map_err(|_| OAuthError::InvalidVaultKey)?
            }
            None => read_or_create(path, || {
                let mut bytes = vec![0u8; 32];
                SystemRandom::new().fill(&mut bytes).expect("the system random generator works");
                bytes
            })?,
        };
        if secret.len() != 32 {
            return Err(OAuthError::InvalidVaultKey);
        }
        // Two keys from one secret, so that the fingerprint reveals nothing about the AEAD key.
        let derive = |label: &[u8]| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), label);
        let aead_key = derive(b"clerk-mcp api-key sealing");
        let fingerprint_key = derive(b"clerk-mcp api-key fingerprint");
        let aead = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, aead_key.as_ref()).expect("a 32-byte key fits ChaCha20-Poly1305"));
        Ok(KeyVault { aead, fingerprint: hmac::Key::new(hmac::HMAC_SHA256, fingerprint_key.as_ref()) })
    }

    /// (nonce, ciphertext with tag). The account id is bound in as associated data, so a sealed
    /// key copied to another account's row does not open.
    pub fn seal(&self, account_id: &str, api_key: &str) -> (Vec<u8>, Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system random generator works");
        let mut sealed = api_key.as_bytes().to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(account_id.as_bytes()), &mut sealed)
            .expect("sealing a short key cannot fail");
        (nonce.to_vec(), sealed)
    }

    pub fn open_sealed(&self, account_id: &str, nonce: &[u8], sealed: &[u8]) -> Option<String> {
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = sealed.to_vec();
        let plain = self.aead.open_in_place(nonce, Aad::from(account_id.as_bytes()), &mut buffer).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    pub fn fingerprint(&self, api_key: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.fingerprint, api_key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_for_its_account_and_vault() {
        let directory = tempfile::tempdir().unwrap();
        let vault = KeyVault::open(None, &directory.path().join("vault-key")).unwrap();
        let (nonce, sealed) = vault.seal("account-1", "sk_live_secret");
        assert!(!sealed.windows(6).any(|window| window == b"sk_liv"), "the key is not stored in the clear");
        assert_eq!(vault.open_sealed("account-1", &nonce, &sealed).as_deref(), Some("sk_live_secret"));
        assert_eq!(vault.open_sealed("account-2", &nonce, &sealed), None);
        let other = KeyVault::open(Some(&STANDARD.encode([7u8; 32])), Path::new("/nonexistent")).unwrap();
        assert_eq!(other.open_sealed("account-1", &nonce, &sealed), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(directory.path().join("vault-key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_vault_key_must_be_32_bytes_of_base64() {
        assert!(matches!(KeyVault::open(Some("not base64!"), Path::new("/x")), Err(OAuthError::InvalidVaultKey)));
        assert!(matches!(KeyVault::open(Some(&STANDARD.encode([1u8; 16])), Path::new("/x")), Err(OAuthError::InvalidVaultKey)));
    }

    #[test]
    fn the_signing_key_survives_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("signing-key.p8");
        let first = SigningKey::load_or_create(&path).unwrap();
        let second = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.key_id, second.key_id);
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::ES256),
            &serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}),
            first.encoding(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, second.decoding(), &validation).unwrap();
    }

    #[test]
    fn pkce_s256_is_base64url_of_sha256_without_padding() {
        // Computed independently: python3 -c "import hashlib,base64; print(base64.urlsafe_b64encode(hashlib.sha256(b'...').digest()))"
        assert!(pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXCFEEjXk", "gSb4c_6O0Ny0sm81adxjCSz-w6jDvQgDfyxMcR5Q7Tw"));
        assert!(!pkce_matches("wrong", "gSb4c_6O0Ny0sm81adxjCSz-w6jDvQgDfyxMcR5Q7Tw"));
    }
}

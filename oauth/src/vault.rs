//! The vault that seals users' Clerk Chat API keys at rest (ChaCha20-Poly1305, a random nonce
//! per key) and fingerprints them (HMAC-SHA256 under a key derived from the same secret).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;

use crate::OAuthError;
use crate::secrets::random_bytes;
use crate::store::SealedKey;

pub(crate) struct KeyVault {
    aead: LessSafeKey,
    fingerprint: hmac::Key,
}

impl KeyVault {
    /// `configured` is the base64 key from the operator's configuration; without it the key is
    /// generated once into `path`.
    pub(crate) fn open(configured: Option<&str>, path: &Path) -> Result<KeyVault, OAuthError> {
        let secret = match configured {
            Some(text) => {
                STANDARD.decode(text.trim()).or_else(|_| URL_SAFE_NO_PAD.decode(text.trim())).map_err(|_| OAuthError::InvalidVaultKey)?
            }
            None => clerk_support::secret_file::read_or_create(path, || random_bytes::<32>().to_vec())
                .map_err(|source| OAuthError::SecretFile { path: path.to_owned(), source })?,
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

    /// Seals `api_key`. The account id is bound in as associated data, so a sealed key copied
    /// to another account's row does not open.
    pub(crate) fn seal(&self, account_id: &str, api_key: &str) -> SealedKey {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut sealed = api_key.as_bytes().to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(account_id.as_bytes()), &mut sealed)
            .expect("sealing a short key cannot fail");
        SealedKey { nonce: nonce.to_vec(), ciphertext: sealed }
    }

    /// The key, or `None` when it was sealed for another account or with another vault key.
    pub(crate) fn open_sealed(&self, account_id: &str, sealed: &SealedKey) -> Option<String> {
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).ok()?;
        let mut buffer = sealed.ciphertext.clone();
        let plain = self.aead.open_in_place(nonce, Aad::from(account_id.as_bytes()), &mut buffer).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// Finds the account of a returning key without opening any sealed key.
    pub(crate) fn fingerprint(&self, api_key: &str) -> String {
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
        let sealed = vault.seal("account-1", "sk_live_secret");
        assert!(!sealed.ciphertext.windows(6).any(|window| window == b"sk_liv"), "the key is not stored in the clear");
        assert_eq!(vault.open_sealed("account-1", &sealed).as_deref(), Some("sk_live_secret"));
        assert_eq!(vault.open_sealed("account-2", &sealed), None);
        let other = KeyVault::open(Some(&STANDARD.encode([7u8; 32])), Path::new("/nonexistent")).unwrap();
        assert_eq!(other.open_sealed("account-1", &sealed), None);
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
}

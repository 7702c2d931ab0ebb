//! The random values and hashes of codes and tokens, with ring, the crypto library that
//! rustls already brings in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// A random value of 256 bits, base64url: codes, tokens, ids and CSRF tokens.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `N` bytes from the system's random generator.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).expect("the system random generator works");
    bytes
}

/// Codes and tokens are stored by this hash, so a copy of the database grants nothing.
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// PKCE S256 (RFC 7636): BASE64URL(SHA256(verifier)) compared with the stored challenge.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    token_hash(verifier) == challenge
}

/// A PKCE code challenge or verifier: 43 to 128 unreserved characters (RFC 7636 4.1).
pub(crate) fn is_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// Compares digests rather than the secrets, so the time taken says nothing about the secret.
pub(crate) fn same_secret(left: &str, right: &str) -> bool {
    token_hash(left) == token_hash(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_base64url_of_sha256_without_padding() {
        // Computed independently: python3 -c "import hashlib,base64; print(base64.urlsafe_b64encode(hashlib.sha256(b'...').digest()))"
        assert!(pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXCFEEjXk", "gSb4c_6O0Ny0sm81adxjCSz-w6jDvQgDfyxMcR5Q7Tw"));
        assert!(!pkce_matches("wrong", "gSb4c_6O0Ny0sm81adxjCSz-w6jDvQgDfyxMcR5Q7Tw"));
    }
}

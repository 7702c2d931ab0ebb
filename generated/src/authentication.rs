//! How a client sends its key, as the spec's security scheme says: the generator writes the
//! scheme into `sdk.rs` as `AUTHENTICATION`, and the client constructor follows it.

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::client::ApiKey;

/// The security schemes a client can follow. A key in the query string is not one of them:
/// it would put the secret in every URL, where proxies and logs keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authentication {
    /// An `apiKey` scheme `in: header`: the key as the value of the header of this name.
    ApiKeyHeader(&'static str),
    /// An `http` scheme `bearer`: `Authorization: Bearer <key>`.
    Bearer,
    /// An `http` scheme `basic`: `Authorization: Basic <base64 of the key>`, the key being
    /// `user:password`.
    Basic,
    /// The spec asks for no authentication; the key is not sent.
    None,
}

impl Authentication {
    /// The header that carries `key`, marked sensitive so that reqwest never shows it; `None`
    /// when the scheme sends nothing.
    pub fn header(&self, key: &ApiKey) -> Option<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            // Header names are case-insensitive and reqwest keeps them lowercase.
            Authentication::ApiKeyHeader(name) => (
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).expect("the generator admits only valid header names"),
                key.expose().to_owned(),
            ),
            Authentication::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose())),
            Authentication::Basic => (AUTHORIZATION, format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(key.expose()))),
            Authentication::None => return None,
        };
        let mut value = HeaderValue::from_str(&value).expect("ApiKey::new admits only visible ASCII, which is a valid header value");
        value.set_sensitive(true);
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(authentication: Authentication, key: &str) -> Option<(String, String)> {
        let (name, value) = authentication.header(&ApiKey::new(key).unwrap())?;
        assert!(value.is_sensitive(), "the key's header is marked sensitive");
        Some((name.to_string(), value.to_str().unwrap().to_owned()))
    }

    #[test]
    fn each_scheme_sends_the_key_its_own_way() {
        assert_eq!(sent(Authentication::ApiKeyHeader("apiKey"), "k1"), Some(("apikey".to_owned(), "k1".to_owned())));
        assert_eq!(sent(Authentication::Bearer, "k2"), Some(("authorization".to_owned(), "Bearer k2".to_owned())));
        assert_eq!(sent(Authentication::Basic, "user:pass"), Some(("authorization".to_owned(), "Basic dXNlcjpwYXNz".to_owned())));
        assert_eq!(sent(Authentication::None, "k3"), None);
    }
}

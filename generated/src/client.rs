//! The hand-written way to build a [`Client`]: base URL, API key header, user agent, timeouts.

use std::fmt;
use std::time::Duration;

use crate::sdk::Client;

/// Clerk Chat's production API.
pub const DEFAULT_BASE_URL: &str = "https://web-api.clerk.chat";

/// A Clerk Chat API key. Its `Debug` and `Display` never show the key, so it can sit in
/// structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// Why a text is not usable as an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidApiKey {
    /// The text is empty, as when the setting holding the key was never filled in.
    #[error("the API key is empty; create one in Clerk Chat under Settings > API")]
    Empty,
    /// The text has a character outside visible ASCII, such as a space or a line break copied
    /// along with the key, which an HTTP header cannot carry.
    #[error("the API key contains whitespace or control characters; copy it again without spaces or line breaks")]
    BadCharacters,
}

impl ApiKey {
    /// Checks that `key` can be sent in a header, before any request is made with it.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, InvalidApiKey> {
        let key = key.into();
        if key.is_empty() {
            return Err(InvalidApiKey::Empty);
        }
        if !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(InvalidApiKey::BadCharacters);
        }
        Ok(ApiKey(key))
    }

    /// The key itself, for the one place that needs it: the `apiKey` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted API key>")
    }
}

/// How the HTTP client behind a [`Client`] is set up; the defaults suit Clerk Chat's API.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The `User-Agent` header of every request.
    pub user_agent: String,
    /// How long to wait for a connection to be established.
    pub connect_timeout: Duration,
    /// The whole request, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            user_agent: format!("clerk-chat-rust/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The base URL is not an absolute http(s) URL without credentials, query or fragment.
    #[error("invalid base URL `{url}`: {reason}")]
    InvalidBaseUrl {
        /// The base URL as it was given.
        url: String,
        /// What is wrong with it and how to write it instead.
        reason: String,
    },
    /// reqwest could not build its client, as when the TLS backend fails to initialize.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl Client {
    /// A client for `base_url` (such as [`DEFAULT_BASE_URL`] or a sandbox's URL) that sends
    /// `api_key` in the `apiKey` header of every request.
    pub fn with_api_key(base_url: &str, api_key: &ApiKey) -> Result<Client, ClientBuildError> {
        Client::with_options(base_url, api_key, &ClientOptions::default())
    }

    /// Like [`Client::with_api_key`], with the user agent and timeouts of `options`.
    pub fn with_options(base_url: &str, api_key: &ApiKey, options: &ClientOptions) -> Result<Client, ClientBuildError> {
        let base_url = normalize_base_url(base_url)?;
        clerk_support::tls::install_crypto_provider();
        let mut key_header = reqwest::header::HeaderValue::from_str(api_key.expose())
            .expect("ApiKey::new admits only visible ASCII, which is a valid header value");
        key_header.set_sensitive(true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("apiKey", key_header);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .build()?;
        Ok(Client::new_with_client(&base_url, http))
    }
}

/// Checks the URL and drops a trailing slash: paths are appended to it as they are.
fn normalize_base_url(base_url: &str) -> Result<String, ClientBuildError> {
    let invalid = |reason: &str| ClientBuildError::InvalidBaseUrl { url: base_url.to_owned(), reason: reason.to_owned() };
    let parsed = reqwest::Url::parse(base_url).map_err(|error| invalid(&format!("{error}; write it like https://web-api.clerk.chat")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("credentials do not belong in the URL; pass the API key separately"));
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_never_printed() {
        let key = ApiKey::new("ck_secret_123").unwrap();
        assert!(!format!("{key:?} {key}").contains("secret"));
        assert_eq!(key.expose(), "ck_secret_123");
    }

    #[test]
    fn bad_api_keys_are_refused_with_a_reason() {
        assert_eq!(ApiKey::new(""), Err(InvalidApiKey::Empty));
        assert_eq!(ApiKey::new("ck 123\n"), Err(InvalidApiKey::BadCharacters));
    }

    #[test]
    fn base_urls_are_checked_and_normalized() {
        assert_eq!(normalize_base_url("http://127.0.0.1:9000/").unwrap(), "http://127.0.0.1:9000");
        for bad in ["web-api.clerk.chat", "ftp://x", "https://user:pw@x.example", "https://x.example/?a=1"] {
            let error = normalize_base_url(bad).unwrap_err().to_string();
            assert!(error.contains(bad), "{error}");
        }
    }
}

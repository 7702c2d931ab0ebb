//! The hand-written way to build a [`Client`]: base URL, API key header, user agent, timeouts.

use std::fmt;
use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::sdk::Client;

/// Clerk Chat's production API.
pub const DEFAULT_BASE_URL: &str = "https://web-api.clerk.chat";

/// The environment variable [`Client::from_env`] reads the API key from.
pub const API_KEY_VARIABLE: &str = "CLERK_API_KEY";

/// The environment variable [`Client::from_env`] reads the base URL from, when it is set and
/// not empty; [`DEFAULT_BASE_URL`] otherwise.
pub const BASE_URL_VARIABLE: &str = "CLERK_CHAT_BASE_URL";

/// A Clerk Chat API key. Its `Debug` and `Display` never show the key, so it can sit in
/// structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// Why a text is not usable as an API key. Its `Debug` is its message, since `main`
/// returning the error prints `Debug` (`Error: the API key is empty; ...`, not `Error: Empty`).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidApiKey {
    /// The text is empty, as when the setting holding the key was never filled in.
    #[error("the API key is empty; create one in Clerk Chat under Settings > API")]
    Empty,
    /// The text has a character outside visible ASCII, such as a space or a line break copied
    /// along with the key, which an HTTP header cannot carry.
    #[error("the API key contains whitespace or control characters; copy it again without spaces or line breaks")]
    BadCharacters,
}

impl std::fmt::Debug for InvalidApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
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

/// The `User-Agent` of every request, before a suffix of [`ClientOptions::user_agent_suffix`].
const USER_AGENT: &str = concat!("clerk-chat-rust/", env!("CARGO_PKG_VERSION"));

/// How the HTTP client behind a [`Client`] is set up; the defaults suit Clerk Chat's API.
/// A builder: `ClientOptions::default().request_timeout(Duration::from_secs(10))`.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    user_agent: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
}

impl Default for ClientOptions {
    /// A `clerk-chat-rust/<version>` user agent, a 5 s connect and 30 s request timeout, and
    /// [`RetryPolicy::default`].
    fn default() -> Self {
        ClientOptions {
            user_agent: USER_AGENT.to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// Adds `suffix` (your application, such as `acme-bot/2.1`) to the `User-Agent` header.
    pub fn user_agent_suffix(mut self, suffix: &str) -> ClientOptions {
        self.user_agent = format!("{USER_AGENT} {suffix}");
        self
    }

    /// How long to wait for a connection to be established.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientOptions {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a request may take, from connecting to the last byte.
    pub fn request_timeout(mut self, timeout: Duration) -> ClientOptions {
        self.request_timeout = timeout;
        self
    }

    /// Which requests are retried, how often and for how long ([`RetryPolicy::none`] for none).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> ClientOptions {
        self.retry = policy;
        self
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientBuildError {
    /// [`Client::from_env`] found no API key in its variable.
    #[error("{API_KEY_VARIABLE} is not set; set it to a Clerk Chat API key (Settings > API in Clerk Chat)")]
    MissingApiKey,
    /// The API key [`Client::from_env`] found cannot be used.
    #[error("{API_KEY_VARIABLE}: {0}")]
    InvalidApiKey(#[from] InvalidApiKey),
    /// The TLS configuration could not be set up, as when the platform's certificate store
    /// cannot be read.
    #[error("cannot set up TLS: {reason}")]
    Tls {
        /// What failed.
        reason: String,
    },
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
    /// A client for the API key in `CLERK_API_KEY` and the base URL in `CLERK_CHAT_BASE_URL`
    /// (Clerk Chat's production API when unset), with the default [`ClientOptions`].
    pub fn from_env() -> Result<Client, ClientBuildError> {
        Client::from_variables(|name| std::env::var(name).ok())
    }

    /// [`Client::from_env`] with the variables looked up by `variable`.
    fn from_variables(variable: impl Fn(&str) -> Option<String>) -> Result<Client, ClientBuildError> {
        let key = variable(API_KEY_VARIABLE).filter(|key| !key.is_empty()).ok_or(ClientBuildError::MissingApiKey)?;
        let key = ApiKey::new(key.trim())?;
        let base_url = variable(BASE_URL_VARIABLE).filter(|url| !url.trim().is_empty());
        Client::with_api_key(base_url.as_deref().map_or(DEFAULT_BASE_URL, str::trim), &key)
    }

    /// A client for `base_url` (such as [`DEFAULT_BASE_URL`] or a sandbox's URL) that sends
    /// `api_key` in the `apiKey` header of every request.
    ///
    /// There is no way to build a client without a key; progenitor's keyless constructors are
    /// not part of the crate:
    ///
    /// ```compile_fail
    /// let client = clerk_chat::Client::new("https://web-api.clerk.chat");
    /// ```
    ///
    /// ```compile_fail
    /// let client = clerk_chat::Client::new_with_client("https://web-api.clerk.chat", reqwest::Client::new());
    /// ```
    pub fn with_api_key(base_url: &str, api_key: &ApiKey) -> Result<Client, ClientBuildError> {
        Client::with_options(base_url, api_key, &ClientOptions::default())
    }

    /// Like [`Client::with_api_key`], with the user agent, timeouts and retries of `options`.
    pub fn with_options(base_url: &str, api_key: &ApiKey, options: &ClientOptions) -> Result<Client, ClientBuildError> {
        let base_url = normalize_base_url(base_url)?;
        // The TLS configuration is the client's own: building a client changes nothing else in
        // the process, such as rustls's process-wide default provider.
        let tls = clerk_support::tls::client_config().map_err(|error| ClientBuildError::Tls { reason: error.to_string() })?;
        let mut headers = reqwest::header::HeaderMap::new();
        // The spec's security scheme says where the key goes (the `apiKey` header for Clerk Chat).
        if let Some((name, value)) = crate::sdk::AUTHENTICATION.header(api_key) {
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .default_headers(headers)
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .build()?;
        Ok(Client::new_with_client(&base_url, http, options.retry.clone()))
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
    use progenitor_client::ClientInfo;

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
    fn from_env_needs_a_usable_key_and_defaults_the_base_url() {
        let variables = |key: Option<&str>, url: Option<&str>| {
            let (key, url) = (key.map(str::to_owned), url.map(str::to_owned));
            move |name: &str| {
                if name == API_KEY_VARIABLE {
                    key.clone()
                } else if name == BASE_URL_VARIABLE {
                    url.clone()
                } else {
                    None
                }
            }
        };
        let missing = Client::from_variables(variables(None, None)).unwrap_err();
        assert!(matches!(missing, ClientBuildError::MissingApiKey) && missing.to_string().contains("CLERK_API_KEY is not set"));
        assert!(matches!(Client::from_variables(variables(Some(""), None)), Err(ClientBuildError::MissingApiKey)));
        let bad = Client::from_variables(variables(Some("ck 1"), None)).unwrap_err();
        assert!(matches!(bad, ClientBuildError::InvalidApiKey(InvalidApiKey::BadCharacters)), "{bad}");
        let production = Client::from_variables(variables(Some("ck_1\n"), Some(" "))).unwrap();
        assert_eq!(production.baseurl(), DEFAULT_BASE_URL, "a key with a trailing newline, an empty URL");
        let sandbox = Client::from_variables(variables(Some("ck_1"), Some("http://127.0.0.1:8788/"))).unwrap();
        assert_eq!(sandbox.baseurl(), "http://127.0.0.1:8788");
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

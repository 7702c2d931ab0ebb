//! How HTTP callers sign in, with the settings each mode needs and no other: resolved and
//! checked once, here, from `--auth`, `--issuer`, `--public-url`, `--database-url` and
//! `CLERK_MCP_VAULT_KEY`. The HTTP server turns a mode into its layers in `http::auth_layers`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clerk_store::DatabaseUrl;
use ipnet::IpNet;

use super::ConfigError;
use super::options::{AuthKind, Options};

/// How HTTP callers authenticate. stdio has no sign-in: whoever spawns the process is the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No sign-in; every caller acts as the operator. Only on a loopback address.
    None,
    /// Tokens of an existing authorization server, checked through its JWKS; every caller
    /// uses the server-wide upstream key.
    External {
        /// The issuer URL; its metadata names the JWKS.
        issuer: String,
        /// This server's canonical base URL, when not `http://LISTEN_ADDRESS`.
        public_url: Option<String>,
    },
    /// The built-in authorization server: each user signs in with their own Clerk Chat key.
    Builtin {
        /// Proxies whose `X-Forwarded-For` is believed, for the per-address sign-in limits.
        trusted_proxies: Vec<IpNet>,
        /// App schemes allowed for redirect URIs beside the built-in rules.
        redirect_schemes: Vec<String>,
        /// This server's canonical base URL (the token issuer), when not `http://LISTEN_ADDRESS`.
        public_url: Option<String>,
        /// Base64 of the 32-byte key sealing users' API keys at rest, from CLERK_MCP_VAULT_KEY
        /// only; without it one is generated into the data directory.
        vault_key: Option<String>,
        /// Files of the token signing keys (the first signs); none: one generated into the
        /// data directory.
        signing_key_files: Vec<PathBuf>,
        /// Where sign-ins are stored.
        database: DatabaseUrl,
    },
}

impl AuthMode {
    /// Reads and checks the mode's settings; the built-in server keeps its sign-ins in `database`.
    pub(super) fn resolve(options: &Options, database: &DatabaseUrl) -> Result<AuthMode, ConfigError> {
        match options.auth {
            AuthKind::None if !options.listen.ip().is_loopback() => Err(ConfigError::NotLoopback(options.listen)),
            AuthKind::None => Ok(AuthMode::None),
            AuthKind::External => {
                let issuer = options.issuer.clone().filter(|issuer| !issuer.trim().is_empty()).ok_or(ConfigError::NoIssuer)?;
                let public_url = options.public_url.as_deref().map(canonical_base).transpose()?;
                Ok(AuthMode::External { issuer, public_url })
            }
            AuthKind::Builtin => {
                let public_url = builtin_public_url(options.public_url.as_deref(), options.listen)?;
                let database = database.clone();
                let vault_key = std::env::var("CLERK_MCP_VAULT_KEY").ok().map(|key| key.trim().to_owned()).filter(|key| !key.is_empty());
                let trusted_proxies = trusted_proxies(&options.trusted_proxies)?;
                let redirect_schemes: Vec<String> =
                    options.redirect_schemes.iter().map(|scheme| scheme.trim().to_owned()).filter(|scheme| !scheme.is_empty()).collect();
                clerk_oauth::check_redirect_schemes(&redirect_schemes).map_err(ConfigError::RedirectScheme)?;
                let signing_key_files: Vec<PathBuf> =
                    options.signing_key_files.iter().filter(|path| !path.as_os_str().is_empty()).cloned().collect();
                // Replicas share sign-ins, so each must open every sealed key and check every
                // token: keys generated into each replica's own data directory would differ.
                if matches!(database, DatabaseUrl::Postgres(_)) {
                    if vault_key.is_none() {
                        return Err(ConfigError::SharedDatabaseNeedsKey("CLERK_MCP_VAULT_KEY (the key sealing stored API keys)"));
                    }
                    if signing_key_files.is_empty() {
                        return Err(ConfigError::SharedDatabaseNeedsKey("--signing-key-file (the key access tokens are signed with)"));
                    }
                }
                Ok(AuthMode::Builtin { trusted_proxies, redirect_schemes, public_url, vault_key, signing_key_files, database })
            }
        }
    }

    /// Whether tool calls go upstream with the operator's key (CLERK_API_KEY or the sandbox
    /// team's), rather than each signed-in user's own.
    pub fn uses_operator_key(&self) -> bool {
        !matches!(self, AuthMode::Builtin { .. })
    }

    /// What the start-up banner says about sign-in. `url` is the server's `/mcp`;
    /// `operator_key_set` whether CLERK_API_KEY is set; `oauth_directory` where a generated
    /// vault key lives.
    pub fn banner_lines(&self, url: &str, operator_key_set: bool, oauth_directory: &Path) -> Vec<String> {
        match self {
            AuthMode::Builtin { vault_key, .. } => {
                let mut lines = vec!["Sign-in: built-in OAuth; each user connects in the browser (in Claude Code: /mcp)".to_owned()];
                if operator_key_set {
                    lines.push("CLERK_API_KEY is not used: with --auth builtin every call goes out with its user's own key".to_owned());
                }
                if vault_key.is_none() {
                    lines.push(format!(
                        "Stored API keys are sealed with {} (set CLERK_MCP_VAULT_KEY to keep that key elsewhere)",
                        clerk_oauth::vault_key_path(oauth_directory).display()
                    ));
                }
                lines
            }
            AuthMode::External { issuer, .. } => vec![format!("Sign-in: tokens of {issuer}")],
            AuthMode::None => vec![format!("Sign-in: none (--auth none); anyone who can reach {url} acts as the operator")],
        }
    }

    /// The configured public URL, if any (canonical).
    pub fn public_url(&self) -> Option<&str> {
        match self {
            AuthMode::None => None,
            AuthMode::External { public_url, .. } | AuthMode::Builtin { public_url, .. } => public_url.as_deref(),
        }
    }
}

/// With the built-in authorization server the public URL is the issuer, so it must be right
/// before anything listens: https (loopback may use http), served at the root of its host.
/// Off loopback it is required: tokens and sign-in pages name it.
fn builtin_public_url(public_url: Option<&str>, listen: SocketAddr) -> Result<Option<String>, ConfigError> {
    let Some(public_url) = public_url else {
        return if listen.ip().is_loopback() { Ok(None) } else { Err(ConfigError::NoPublicUrl(listen)) };
    };
    let invalid = |reason| ConfigError::PublicUrl(public_url.to_owned(), reason);
    if clerk_oauth::is_loopback_url(public_url) && !listen.ip().is_loopback() {
        return Err(invalid(
            "a loopback URL names this machine only, but the server listens where others can reach it; give the URL they use, or listen on loopback",
        ));
    }
    let parsed = reqwest::Url::parse(public_url).map_err(|_| invalid("not a URL; write it like https://mcp.example.com"))?;
    if parsed.scheme() != "https" && !clerk_oauth::is_loopback_url(public_url) {
        return Err(invalid("an authorization server must be served over https (http is allowed on loopback only)"));
    }
    if !parsed.path().trim_end_matches('/').is_empty() {
        return Err(invalid("serve the server at the root of its host (no path): OAuth metadata lives at /.well-known/..."));
    }
    canonical_base(public_url).map(Some)
}

/// `10.0.0.0/8`, or a single address (`10.0.0.5`, `::1`), as networks.
fn trusted_proxies(given: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    given
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|network| network.trunc())
                .map_err(|_| ConfigError::TrustedProxy(text.to_owned()))
        })
        .collect()
}

/// `https://Host:443/` -> `https://host`: lowercase scheme and host, no default port, no
/// trailing slash, as the MCP spec's canonical server URI.
pub fn canonical_base(url: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidPublicUrl(url.to_owned());
    let parsed = reqwest::Url::parse(url).map_err(|_| invalid())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
        return Err(invalid());
    }
    clerk_oauth::canonical_url(url).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls_are_lowercase_without_trailing_slash_or_default_port() {
        assert_eq!(canonical_base("https://MCP.Example.com/").unwrap(), "https://mcp.example.com");
        assert_eq!(canonical_base("https://mcp.example.com:443").unwrap(), "https://mcp.example.com");
        assert_eq!(canonical_base("http://127.0.0.1:8787").unwrap(), "http://127.0.0.1:8787");
        assert!(canonical_base("mcp.example.com").is_err());
        assert!(canonical_base("https://mcp.example.com/?x=1").is_err());
    }
}

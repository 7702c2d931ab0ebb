//! Settings: command-line flags and environment variables over a TOML file over defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// The Clerk Chat MCP server. With no upstream it runs on an embedded sandbox that sends no SMS.
#[derive(Debug, Parser)]
#[command(name = "clerk-mcp", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over streamable HTTP (the default).
    Serve,
    /// Serve MCP over stdin/stdout, for Claude Desktop and other clients that spawn the server.
    Stdio,
}

/// How HTTP callers authenticate. stdio has no OAuth: it takes the key from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// The built-in OAuth authorization server: each user signs in in the browser by connecting
    /// their own Clerk Chat API key (on the sandbox: a sandbox team, in one click).
    Builtin,
    /// No sign-in; for local development, so it listens only on loopback.
    None,
    /// Tokens of an existing OAuth authorization server (--issuer), checked through its JWKS;
    /// every caller uses the server-wide upstream key.
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting; each is also a key of the TOML file given with `--config`.
#[derive(Debug, Default, Args)]
pub struct Options {
    /// A TOML file with any of these settings; flags and environment variables override it.
    #[arg(long, global = true, env = "CLERK_MCP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the server keeps its data: the embedded sandbox's database and key and, with
    /// --auth builtin, the sign-in database, the token signing key and the vault key.
    /// Default: the user's data directory, e.g. ~/.local/share/clerk-mcp.
    #[arg(long, global = true, env = "CLERK_MCP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The Clerk Chat API to call, e.g. https://web-api.clerk.chat, with the key in the
    /// CLERK_API_KEY environment variable. Without it, the embedded sandbox is used.
    #[arg(long, global = true, env = "CLERK_MCP_UPSTREAM", value_name = "URL")]
    pub upstream: Option<String>,
    /// Seconds an upstream request may take, from connecting to the last byte [default: 30].
    #[arg(long, global = true, env = "CLERK_MCP_UPSTREAM_TIMEOUT", value_name = "SECONDS")]
    pub upstream_timeout: Option<u64>,
    /// The SMS providers callers may choose, comma-separated [default: every provider of the API].
    #[arg(long = "provider", global = true, env = "CLERK_MCP_PROVIDERS", value_delimiter = ',', value_name = "NAME")]
    pub providers: Option<Vec<String>>,
    /// The provider used when a call names none and no route matches its sender.
    #[arg(long, global = true, env = "CLERK_MCP_DEFAULT_PROVIDER", value_name = "NAME")]
    pub default_provider: Option<String>,
    /// Routes sender numbers to providers, as NUMBER_OR_PREFIX=PROVIDER, comma-separated,
    /// e.g. +12025550100=telnyx,+44=bandwidth. An exact number beats the longest prefix.
    #[arg(
        long = "provider-route",
        global = true,
        env = "CLERK_MCP_PROVIDER_ROUTES",
        value_delimiter = ',',
        value_name = "SENDER=PROVIDER"
    )]
    pub provider_routes: Option<Vec<String>>,
    /// Log format on stderr [default: text]; the level comes from RUST_LOG (default info).
    #[arg(long, global = true, env = "CLERK_MCP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// HTTP: how callers sign in [default: builtin].
    #[arg(long, global = true, env = "CLERK_MCP_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// HTTP with --auth external: the authorization server's issuer URL; its RFC 8414 or
    /// OpenID metadata must name a jwks_uri.
    #[arg(long, global = true, env = "CLERK_MCP_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// HTTP: the server's external base URL (e.g. https://mcp.example.com); tokens must be
    /// issued for its /mcp [default: http://LISTEN_ADDRESS].
    #[arg(long, global = true, env = "CLERK_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// HTTP: the address to listen on [default: 127.0.0.1:8787].
    #[arg(long, global = true, env = "CLERK_MCP_LISTEN", value_name = "ADDRESS")]
    pub listen: Option<SocketAddr>,
    /// HTTP: Host header values accepted, comma-separated (DNS-rebinding protection)
    /// [default: localhost, 127.0.0.1, ::1].
    #[arg(long = "allowed-host", global = true, env = "CLERK_MCP_ALLOWED_HOSTS", value_delimiter = ',', value_name = "HOST")]
    pub allowed_hosts: Option<Vec<String>>,
    /// HTTP: Origin header values accepted from browsers, comma-separated; requests with
    /// another Origin get 403 [default: http://localhost:PORT and http://127.0.0.1:PORT].
    #[arg(long = "allowed-origin", global = true, env = "CLERK_MCP_ALLOWED_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_origins: Option<Vec<String>>,
    /// HTTP: the largest request body accepted, in bytes [default: 1048576].
    #[arg(long, global = true, env = "CLERK_MCP_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Embedded sandbox: milliseconds a message stays `sending`, then `sent` [default: 2000].
    #[arg(long, global = true, env = "CLERK_MCP_SANDBOX_DELIVERY_DELAY_MS", value_name = "MS")]
    pub sandbox_delivery_delay_ms: Option<u64>,
    /// Embedded sandbox: requests a second per team before 429; 0 turns it off [default: 100].
    #[arg(long, global = true, env = "CLERK_MCP_SANDBOX_RATE_LIMIT", value_name = "PER_SECOND")]
    pub sandbox_rate_limit: Option<u32>,
}

/// The TOML file: the same settings, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    upstream: Option<String>,
    upstream_timeout: Option<u64>,
    log_format: Option<LogFormat>,
    auth: Option<AuthMode>,
    issuer: Option<String>,
    public_url: Option<String>,
    listen: Option<SocketAddr>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    #[serde(default)]
    providers: FileProviders,
    #[serde(default)]
    sandbox: FileSandbox,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProviders {
    enabled: Option<Vec<String>>,
    default: Option<String>,
    #[serde(default)]
    routes: Vec<FileRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    /// An exact E.164 number, or a prefix of one.
    sender: String,
    provider: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSandbox {
    delivery_delay_ms: Option<u64>,
    rate_limit: Option<u32>,
}

/// The settings in force, after merging.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub upstream: Option<String>,
    /// The operator's Clerk Chat API key, from CLERK_API_KEY only: never a flag or a file
    /// setting, so that it stays out of process lists and config repositories.
    pub api_key: Option<String>,
    /// With --auth builtin: base64 of the 32-byte key sealing users' API keys at rest, from
    /// CLERK_MCP_VAULT_KEY only; without it one is generated into the data directory.
    pub vault_key: Option<String>,
    pub upstream_timeout: Duration,
    pub log_format: LogFormat,
    pub auth: AuthMode,
    pub issuer: Option<String>,
    pub public_url: Option<String>,
    pub listen: SocketAddr,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub providers: ProviderSettings,
    pub sandbox_delivery_delay: Duration,
    pub sandbox_rate_limit: u32,
}

#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// `None`: every provider of the API.
    pub enabled: Option<Vec<String>>,
    pub default: Option<String>,
    /// (sender number or prefix, provider), in the order given.
    pub routes: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid provider route `{0}`: write it as SENDER=PROVIDER, e.g. +12025550100=telnyx or +44=bandwidth")]
    Route(String),
    #[error("no data directory: the user's data directory is unknown here; pass --data-dir")]
    NoDataDir,
}

impl Settings {
    /// The built-in authorization server's directory: its database and keys.
    pub fn oauth_directory(&self) -> PathBuf {
        self.data_dir.join("oauth")
    }

    pub fn resolve(options: &Options) -> Result<Settings, ConfigError> {
        let file = match &options.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let data_dir = match options.data_dir.clone().or(file.data_dir) {
            Some(directory) => directory,
            None => dirs::data_dir().ok_or(ConfigError::NoDataDir)?.join("clerk-mcp"),
        };
        let listen = options.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787)));
        let routes = match &options.provider_routes {
            Some(routes) => {
                routes.iter().filter(|route| !route.trim().is_empty()).map(|route| parse_route(route)).collect::<Result<Vec<_>, _>>()?
            }
            None => file.providers.routes.into_iter().map(|route| (route.sender, route.provider)).collect(),
        };
        let default_origins = vec![format!("http://localhost:{}", listen.port()), format!("http://127.0.0.1:{}", listen.port())];
        Ok(Settings {
            data_dir,
            upstream: options.upstream.clone().or(file.upstream).filter(|url| !url.trim().is_empty()),
            api_key: std::env::var("CLERK_API_KEY").ok().map(|key| key.trim().to_owned()).filter(|key| !key.is_empty()),
            vault_key: std::env::var("CLERK_MCP_VAULT_KEY").ok().map(|key| key.trim().to_owned()).filter(|key| !key.is_empty()),
            upstream_timeout: Duration::from_secs(options.upstream_timeout.or(file.upstream_timeout).unwrap_or(30)),
            log_format: options.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            auth: options.auth.or(file.auth).unwrap_or(AuthMode::Builtin),
            issuer: options.issuer.clone().or(file.issuer),
            public_url: options.public_url.clone().or(file.public_url),
            listen,
            allowed_hosts: options
                .allowed_hosts
                .clone()
                .or(file.allowed_hosts)
                .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]),
            allowed_origins: options.allowed_origins.clone().or(file.allowed_origins).unwrap_or(default_origins),
            max_body_bytes: options.max_body_bytes.or(file.max_body_bytes).unwrap_or(1024 * 1024),
            providers: ProviderSettings {
                enabled: options.providers.clone().or(file.providers.enabled),
                default: options.default_provider.clone().or(file.providers.default),
                routes,
            },
            sandbox_delivery_delay: Duration::from_millis(
                options.sandbox_delivery_delay_ms.or(file.sandbox.delivery_delay_ms).unwrap_or(2000),
            ),
            sandbox_rate_limit: options.sandbox_rate_limit.or(file.sandbox.rate_limit).unwrap_or(100),
        })
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|error| {
        let line = error.span().map(|span| text[..span.start].matches('\n').count() + 1);
        let place = line.map(|line| format!("line {line}: ")).unwrap_or_default();
        ConfigError::Parse { path: path.to_owned(), message: format!("{place}{}", error.message()) }
    })
}

fn parse_route(route: &str) -> Result<(String, String), ConfigError> {
    match route.split_once('=') {
        Some((sender, provider)) if !sender.trim().is_empty() && !provider.trim().is_empty() => {
            Ok((sender.trim().to_owned(), provider.trim().to_owned()))
        }
        _ => Err(ConfigError::Route(route.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("clerk-mcp.toml");
        std::fs::write(&path, text).unwrap();
        (directory, path)
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let (_directory, path) = file(
            "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 1000\n[providers]\nenabled = [\"twilio\", \"telnyx\"]\ndefault = \"twilio\"\nroutes = [{ sender = \"+44\", provider = \"telnyx\" }]\n[sandbox]\nrate_limit = 7\n",
        );
        let options = Options {
            config: Some(path),
            data_dir: Some("/tmp/x".into()),
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Options::default()
        };
        let settings = Settings::resolve(&options).unwrap();
        assert_eq!(settings.listen.port(), 9001, "the flag wins");
        assert_eq!(settings.max_body_bytes, 1000, "the file wins over the default");
        assert_eq!(settings.upstream_timeout, Duration::from_secs(30), "the default");
        assert_eq!(settings.providers.enabled, Some(vec!["twilio".to_owned(), "telnyx".to_owned()]));
        assert_eq!(settings.providers.routes, vec![("+44".to_owned(), "telnyx".to_owned())]);
        assert_eq!(settings.sandbox_rate_limit, 7);
        assert_eq!(settings.allowed_origins, vec!["http://localhost:9001".to_owned(), "http://127.0.0.1:9001".to_owned()]);
    }

    #[test]
    fn a_bad_file_names_the_line_and_the_key() {
        let (_directory, path) = file("listen = \"127.0.0.1:9000\"\nprovders = {}\n");
        let error = Settings::resolve(&Options { config: Some(path), ..Options::default() }).unwrap_err().to_string();
        assert!(error.contains("line 2: unknown field `provders`"), "{error}");
    }

    #[test]
    fn routes_must_be_sender_equals_provider() {
        let options = Options { data_dir: Some("/tmp/x".into()), provider_routes: Some(vec!["+44".into()]), ..Options::default() };
        let error = Settings::resolve(&options).unwrap_err().to_string();
        assert!(error.contains("invalid provider route `+44`: write it as SENDER=PROVIDER"), "{error}");
    }
}

//! Settings: command-line flags and environment variables over a TOML file over defaults.
//! `options` defines every setting once; `layers` reads them; this module resolves what they
//! leave open (the data directory, the auth mode's settings, computed defaults) into
//! [`Settings`], checked before anything starts.

mod auth_mode;
mod layers;
mod options;
#[cfg(test)]
mod tests;
mod tool_options;
mod tool_selection;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use clerk_chat::mcp::SafetySettings;
use clerk_store::DatabaseUrl;

pub use auth_mode::{AuthMode, canonical_base};
pub use options::{AuthKind, Cli, Command, LogFormat, Options, ProviderOptions, SandboxOptions, SendOptions};
pub use options::{ConnectArgs, ConnectClient};
pub use tool_options::{ClientKind, ListTools, ToolOptions};
pub use tool_selection::ToolSelection;

/// The settings in force, after merging and checking.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the server keeps its data (the embedded sandbox, the built-in server's keys).
    pub data_dir: PathBuf,
    /// The Clerk Chat API; `None` runs the embedded sandbox.
    pub upstream: Option<String>,
    /// The operator's Clerk Chat API key, from CLERK_API_KEY only: never a flag or a file
    /// setting, so that it stays out of process lists and config repositories.
    pub api_key: Option<String>,
    /// How long an upstream request may take.
    pub upstream_timeout: Duration,
    /// The format of the log on stderr.
    pub log_format: LogFormat,
    /// HTTP: how callers sign in, with that mode's settings.
    pub auth: AuthMode,
    /// HTTP: the address to listen on.
    pub listen: SocketAddr,
    /// HTTP: Host header values served (the public URL's host included).
    pub allowed_hosts: Vec<String>,
    /// HTTP: Origin header values accepted.
    pub allowed_origins: Vec<String>,
    /// HTTP: the largest request body accepted.
    pub max_body_bytes: usize,
    /// HTTP: how long a shutdown answers 503 at /readyz before the listener closes.
    pub unready_before_shutdown: Duration,
    /// HTTP: how long a legacy session stays in memory unused.
    pub session_idle_timeout: Duration,
    /// The SMS provider policy's settings.
    pub providers: ProviderSettings,
    /// Where sign-ins and idempotency keys are stored.
    pub database: DatabaseUrl,
    /// How the safety of sends behaves.
    pub safety: SafetySettings,
    /// How long an embedded-sandbox message stays `sending`, then `sent`.
    pub sandbox_delivery_delay: Duration,
    /// Requests a second per team the embedded sandbox allows; 0 is unlimited.
    pub sandbox_rate_limit: u32,
    /// The tools served.
    pub tools: ToolSelection,
}

/// The SMS provider policy's settings, routes parsed.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// `None`: every provider of the API.
    pub enabled: Option<Vec<String>>,
    /// The provider used when a call names none and no route matches.
    pub default: Option<String>,
    /// (sender number or prefix, provider), in the order given.
    pub routes: Vec<(String, String)>,
}

/// A setting that cannot be used, named with what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag or environment variable is wrong (clap's message, which names it), or `--help`
    /// or `--version` was asked for.
    #[error("{0}")]
    Arguments(#[source] clap::Error),
    /// The config file cannot be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or holds a wrong key or value.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file, as given.
        path: PathBuf,
        /// The line and the problem.
        message: String,
    },
    /// A provider route is not `SENDER=PROVIDER`.
    #[error("invalid provider route `{0}`: write it as SENDER=PROVIDER, e.g. +12025550100=telnyx or +44=bandwidth")]
    Route(String),
    /// No `--data-dir`, and the platform names no user data directory.
    #[error("no data directory: the user's data directory is unknown here; pass --data-dir")]
    NoDataDir,
    /// `--auth none` on an address other machines can reach.
    #[error("--auth none serves without sign-in, so it listens only on loopback; {0} is not a loopback address (use --auth external)")]
    NotLoopback(SocketAddr),
    /// `--auth external` without `--issuer`.
    #[error("--auth external needs --issuer, the authorization server's issuer URL")]
    NoIssuer,
    /// `--auth builtin` off loopback without `--public-url`.
    #[error(
        "--auth builtin on {0} needs --public-url, the https URL users reach this server at (e.g. https://mcp.example.com): tokens and sign-in pages name it"
    )]
    NoPublicUrl(SocketAddr),
    /// `--public-url` cannot be an authorization server's issuer: (the URL, why).
    #[error("--public-url {0}: {1}")]
    PublicUrl(String, &'static str),
    /// `--public-url` is not an http(s) base URL.
    #[error("invalid --public-url `{0}`: write the server's external base URL, such as https://mcp.example.com")]
    InvalidPublicUrl(String),
    /// A `--trusted-proxy` entry is neither an address nor a CIDR network.
    #[error("--trusted-proxy `{0}` is not an IP address or CIDR network; write it like 10.0.0.0/8, 192.168.1.7 or fd00::/8")]
    TrustedProxy(String),
    /// A `--redirect-scheme` cannot be an app's scheme.
    #[error("--redirect-scheme: {0}")]
    RedirectScheme(String),
    /// `--tools`, `--tool-scopes` or `--exclude-tools` names a tool or scope there is none of.
    #[error("{flag}: there is no {what} `{name}`; {hint}the {what}s are: {known}", what = if *flag == "--tool-scopes" { "scope" } else { "tool" }, hint = hint.as_ref().map(|hint| format!("{hint} ")).unwrap_or_default())]
    UnknownTool {
        /// The flag that names it.
        flag: &'static str,
        /// The name given.
        name: String,
        /// "did you mean `x`?", when one is close.
        hint: Option<String>,
        /// Every name that flag takes.
        known: String,
    },
    /// The tool settings leave no tool to serve.
    #[error("--tools, --tool-scopes, --read-only and --exclude-tools leave no tool to serve; loosen one of them")]
    NoToolLeft,
    /// `--confirm-campaigns-over` is neither a number nor `never`.
    #[error("--confirm-campaigns-over `{0}`: write a number of contacts (0 asks for every campaign) or `never`")]
    ConfirmThreshold(String),
    /// A database shared by replicas, with a key each replica would otherwise generate itself.
    #[error(
        "a postgres:// --database-url is shared by replicas, which must all use the same keys: set {0} on every replica (see the README, \"Running several replicas\")"
    )]
    SharedDatabaseNeedsKey(&'static str),
    /// A database shared by replicas, with the embedded sandbox, which each process has alone.
    #[error(
        "a postgres:// --database-url is for replicas that share one upstream, but without --upstream each process runs its own embedded sandbox: give --upstream (the Clerk Chat API, or a standalone `clerk-sandbox` every replica reaches), or leave --database-url unset on one machine"
    )]
    SharedDatabaseWithoutUpstream,
    /// `--database-url` names no usable store.
    #[error("--database-url: {0}")]
    DatabaseUrl(#[source] clerk_store::StoreError),
}

impl Settings {
    /// Reads the command line (`args`, program name first), the environment and the config
    /// file, and returns the command to run with its settings.
    pub fn from_args<I, T>(args: I) -> Result<(Command, Settings), ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let (command, options) = read_args(args)?;
        Ok((command, Settings::resolve(options)?))
    }

    /// Checks `options` and fills in what depends on the machine or on other settings.
    pub fn resolve(options: Options) -> Result<Settings, ConfigError> {
        let data_dir = match options.data_dir.clone() {
            Some(directory) => directory,
            None => dirs::data_dir().ok_or(ConfigError::NoDataDir)?.join("clerk-mcp"),
        };
        let database = match options.database_url.as_deref().map(str::trim).filter(|url| !url.is_empty()) {
            Some(url) => DatabaseUrl::parse(url).map_err(ConfigError::DatabaseUrl)?,
            None => clerk_oauth::default_database(&oauth_directory(&data_dir)),
        };
        let upstream = options.upstream.clone().filter(|url| !url.trim().is_empty());
        if matches!(database, DatabaseUrl::Postgres(_)) && upstream.is_none() {
            return Err(ConfigError::SharedDatabaseWithoutUpstream);
        }
        let auth = AuthMode::resolve(&options, &database)?;
        let safety = safety_settings(&options.sends)?;
        let mut allowed_hosts = options.allowed_hosts.clone();
        // The public URL's own host is always a host this server answers to.
        if let Some(host) =
            auth.public_url().and_then(|url| reqwest::Url::parse(url).ok()).and_then(|url| url.host_str().map(str::to_owned))
            && !allowed_hosts.contains(&host)
        {
            allowed_hosts.push(host);
        }
        let port = options.listen.port();
        let allowed_origins =
            options.allowed_origins.clone().unwrap_or_else(|| vec![format!("http://localhost:{port}"), format!("http://127.0.0.1:{port}")]);
        Ok(Settings {
            data_dir,
            upstream,
            api_key: std::env::var("CLERK_API_KEY").ok().map(|key| key.trim().to_owned()).filter(|key| !key.is_empty()),
            upstream_timeout: Duration::from_secs(options.upstream_timeout),
            log_format: options.log_format,
            auth,
            listen: options.listen,
            allowed_hosts,
            allowed_origins,
            max_body_bytes: options.max_body_bytes,
            unready_before_shutdown: Duration::from_millis(options.unready_before_shutdown_ms),
            session_idle_timeout: Duration::from_secs(options.session_idle_timeout.max(1)),
            providers: provider_settings(&options.providers)?,
            database,
            safety,
            sandbox_delivery_delay: Duration::from_millis(options.sandbox.delivery_delay_ms),
            sandbox_rate_limit: options.sandbox.rate_limit,
            tools: ToolSelection::resolve(&options.tools)?,
        })
    }

    /// The built-in authorization server's directory: its keys and, by default, its database.
    pub fn oauth_directory(&self) -> PathBuf {
        oauth_directory(&self.data_dir)
    }
}

/// Reads the command line (`args`, program name first), the environment and the config file:
/// the command to run, and every setting with its layers merged.
pub fn read_args<I, T>(args: I) -> Result<(Command, Options), ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args).map_err(ConfigError::Arguments)?;
    let command = Cli::from_arg_matches(&matches).map_err(ConfigError::Arguments)?.command.unwrap_or(Command::Serve);
    Ok((command, layers::options(&matches)?))
}

/// The README's table of settings, made from their one definition: a test checks that the
/// README holds exactly this.
pub fn settings_table() -> String {
    let command = Cli::command();
    let mut table = String::from("| TOML key | Flag | Environment variable | Default | What it sets |\n|---|---|---|---|---|\n");
    for id in layers::setting_ids() {
        let argument = command.get_arguments().find(|argument| argument.get_id() == id.as_str()).expect("the id is the argument's");
        let key = if id == "config" { "(command line only)".to_owned() } else { format!("`{id}`") };
        let flag = argument.get_long().map(|long| format!("`--{long}`")).unwrap_or_default();
        let variable = argument.get_env().map(|variable| format!("`{}`", variable.to_string_lossy())).unwrap_or_default();
        let help = argument.get_long_help().or(argument.get_help()).map(ToString::to_string).unwrap_or_default();
        // A default worked out at start-up is written in the help as `[default: ...]`.
        let (meaning, computed_default) = match help.split_once(" [default: ") {
            Some((meaning, rest)) => (meaning.to_owned(), Some(rest.trim_end_matches(']').to_owned())),
            None => (help.clone(), None),
        };
        // clap drops the full stop of a one-line help; the table keeps every sentence whole.
        let meaning = if meaning.ends_with('.') { meaning } else { format!("{meaning}.") };
        let defaults: Vec<String> = argument.get_default_values().iter().map(|value| format!("`{}`", value.to_string_lossy())).collect();
        let default = match (defaults.is_empty(), computed_default) {
            (false, _) => defaults.join(", "),
            (true, Some(computed)) => computed,
            (true, None) => "none".to_owned(),
        };
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        table.push_str(&format!("| {key} | {flag} | {variable} | {} | {} |\n", cell(&default), cell(&meaning)));
    }
    table
}

/// The safety of sends from `[sends]`.
fn safety_settings(options: &SendOptions) -> Result<SafetySettings, ConfigError> {
    let threshold = options.confirm_campaigns_over.trim();
    let confirm_broadcasts_over = match threshold {
        "never" => None,
        number => Some(number.parse::<u64>().map_err(|_| ConfigError::ConfirmThreshold(threshold.to_owned()))?),
    };
    Ok(SafetySettings {
        key_lifetime: Duration::from_secs(options.idempotency_key_hours * 3600),
        repeat_window: Duration::from_secs(options.repeat_window),
        confirm_broadcasts_over,
        ..SafetySettings::default()
    })
}

fn oauth_directory(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("oauth")
}

fn provider_settings(options: &ProviderOptions) -> Result<ProviderSettings, ConfigError> {
    let routes =
        options.routes.iter().filter(|route| !route.trim().is_empty()).map(|route| parse_route(route)).collect::<Result<_, _>>()?;
    Ok(ProviderSettings { enabled: options.enabled.clone(), default: options.default.clone(), routes })
}

fn parse_route(route: &str) -> Result<(String, String), ConfigError> {
    match route.split_once('=') {
        Some((sender, provider)) if !sender.trim().is_empty() && !provider.trim().is_empty() => {
            Ok((sender.trim().to_owned(), provider.trim().to_owned()))
        }
        _ => Err(ConfigError::Route(route.to_owned())),
    }
}

//! Every setting of the server, defined once. Each field below is at the same time a flag, an
//! environment variable, a key of the TOML file (`--config`), a default and a line of `--help`:
//! clap reads the first, second, fourth and fifth from the `#[arg]` attribute, serde the third
//! from the field's name (`[providers]`, `[sends]`, `[sandbox]` and `[tools]` are tables). The clap argument id of a
//! field in a table is its dotted TOML path, which is how `layers` joins the two.

// The field comments are --help text first, where `<https://...>` would print its brackets.
#![allow(rustdoc::bare_urls)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Command as ClapCommand, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use super::tool_options::ToolOptions;

/// The Clerk Chat MCP server. With no upstream it runs on an embedded sandbox that sends no SMS.
#[derive(Debug, Parser)]
#[command(name = "clerk-mcp", version, about, long_about = None)]
pub struct Cli {
    /// What to serve; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Every setting.
    #[command(flatten)]
    pub options: Options,
}

/// The transports, and the commands that print.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve MCP over streamable HTTP (the default).
    Serve,
    /// Serve MCP over stdin/stdout, for Claude Desktop and other clients that spawn the server.
    Stdio,
    /// Print the settings in force (flags, environment, file and defaults merged) as a TOML
    /// file for --config, and exit.
    Settings,
    /// Print what to paste or run to add this server, with the current settings, to a client.
    Connect(ConnectArgs),
}

/// `clerk-mcp connect CLIENT [--stdio | --http URL]`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ConnectArgs {
    /// The client to add the server to.
    #[arg(value_enum)]
    pub client: ConnectClient,
    /// The client starts the server itself (the default for Claude Desktop).
    #[arg(long, conflicts_with = "http")]
    pub stdio: bool,
    /// The client connects to this MCP URL. [default: this server's URL, from --public-url or
    /// --listen]
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub http: Option<String>,
}

/// The clients `connect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectClient {
    /// Claude Code: a `claude mcp add` command.
    ClaudeCode,
    /// Claude Desktop: its `claude_desktop_config.json` entry.
    ClaudeDesktop,
    /// Cursor: its `mcp.json` entry.
    Cursor,
    /// VS Code: its `.vscode/mcp.json` entry.
    #[value(name = "vscode")]
    VsCode,
}

/// How HTTP callers authenticate, as the `--auth` flag names it. Resolved with its own
/// settings into [`crate::config::AuthMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// The built-in OAuth authorization server: each user signs in in the browser by connecting
    /// their own Clerk Chat API key (on the sandbox: a sandbox team, in one click).
    Builtin,
    /// No sign-in; for local development, so it listens only on loopback.
    None,
    /// Tokens of an existing OAuth authorization server (--issuer), checked through its JWKS;
    /// every caller uses the server-wide upstream key.
    External,
}

/// The format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The `--help` heading of the settings only `serve` (HTTP) reads: every setting is global,
/// so `stdio --help` lists them too, apart under this heading.
const HTTP_ONLY: &str = "HTTP options (serve only; stdio ignores them)";

/// Every setting; each is also a key of the TOML file given with `--config`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// A TOML file with any of these settings; flags and environment variables override it.
    #[arg(long, global = true, env = "CLERK_MCP_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Where the server keeps its data: the embedded sandbox's database and key and, with
    /// --auth builtin, the sign-in database, the token signing key and the vault key.
    /// [default: the user's data directory, e.g. ~/.local/share/clerk-mcp]
    #[arg(long, global = true, env = "CLERK_MCP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The Clerk Chat API to call, e.g. https://web-api.clerk.chat, with the key in the
    /// CLERK_API_KEY environment variable. Without it, the embedded sandbox is used.
    #[arg(long, global = true, env = "CLERK_MCP_UPSTREAM", value_name = "URL")]
    pub upstream: Option<String>,
    /// Seconds an upstream request may take, from connecting to the last byte.
    #[arg(long, global = true, env = "CLERK_MCP_UPSTREAM_TIMEOUT", value_name = "SECONDS", default_value_t = 30)]
    pub upstream_timeout: u64,
    /// Log format on stderr; the level comes from RUST_LOG (default info).
    #[arg(long, global = true, env = "CLERK_MCP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// HTTP: how callers sign in.
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_AUTH", value_enum, default_value_t = AuthKind::Builtin)]
    pub auth: AuthKind,
    /// HTTP with --auth external: the authorization server's issuer URL; its RFC 8414 or
    /// OpenID metadata must name a jwks_uri.
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// HTTP: the server's external base URL (e.g. https://mcp.example.com); tokens must be
    /// issued for its /mcp. [default: http://LISTEN_ADDRESS]
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Where sign-ins (with --auth builtin) and idempotency keys are stored: sqlite://PATH, or
    /// postgres://USER:PASSWORD@HOST/DATABASE for replicas that share them (set it in the
    /// environment, not on the command line, when it holds a password).
    /// [default: sqlite://DATA_DIR/oauth/oauth.db]
    #[arg(long, global = true, env = "CLERK_MCP_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// HTTP: the address to listen on.
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_LISTEN", value_name = "ADDRESS", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// HTTP: Host header values accepted, comma-separated (DNS-rebinding protection); the
    /// host of --public-url is always accepted.
    #[arg(
        help_heading = HTTP_ONLY,
        long = "allowed-host",
        global = true,
        env = "CLERK_MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST",
        default_values = ["localhost", "127.0.0.1", "::1"]
    )]
    pub allowed_hosts: Vec<String>,
    /// HTTP: Origin header values accepted from browsers, comma-separated; requests with
    /// another Origin get 403. [default: http://localhost:PORT and http://127.0.0.1:PORT]
    #[arg(help_heading = HTTP_ONLY, long = "allowed-origin", global = true, env = "CLERK_MCP_ALLOWED_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_origins: Option<Vec<String>>,
    /// HTTP with --auth builtin: proxies (addresses or CIDR networks, comma-separated) whose
    /// X-Forwarded-For names the client for the per-address limits on sign-in. None by default:
    /// the connection's peer is the client.
    #[arg(help_heading = HTTP_ONLY, long = "trusted-proxy", global = true, env = "CLERK_MCP_TRUSTED_PROXIES", value_delimiter = ',', value_name = "CIDR")]
    pub trusted_proxies: Vec<String>,
    /// HTTP with --auth builtin: files of the ES256 keys access tokens are signed with (PKCS#8,
    /// PEM or DER), comma-separated: the first signs; every one verifies and is published in
    /// the JWKS, so that a key can be rotated without signing anyone out. Required with a
    /// postgres:// database, where every replica must sign with the same keys.
    /// [default: DATA_DIR/oauth/signing-key.p8, generated on first start]
    #[arg(help_heading = HTTP_ONLY, long = "signing-key-file", global = true, env = "CLERK_MCP_SIGNING_KEY_FILES", value_delimiter = ',', value_name = "PATH")]
    pub signing_key_files: Vec<PathBuf>,
    /// HTTP with --auth builtin: app schemes a client may register redirect URIs with, beside
    /// https, http on loopback, reverse-DNS schemes (com.example.app) and known clients'
    /// (cursor), comma-separated.
    #[arg(help_heading = HTTP_ONLY, long = "redirect-scheme", global = true, env = "CLERK_MCP_REDIRECT_SCHEMES", value_delimiter = ',', value_name = "SCHEME")]
    pub redirect_schemes: Vec<String>,
    /// HTTP: seconds a legacy MCP session may stay idle before its memory is freed; its next
    /// request restores it from the database (the client sees no difference).
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_SESSION_IDLE_TIMEOUT", value_name = "SECONDS", default_value_t = 300)]
    pub session_idle_timeout: u64,
    /// HTTP: on SIGTERM or Ctrl-C, how long /readyz answers 503 while requests are still
    /// served, so that a load balancer's health checks move traffic away before the listener
    /// closes. Behind a balancer, set it above the check interval times its fall count.
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_UNREADY_BEFORE_SHUTDOWN_MS", value_name = "MS", default_value_t = 0)]
    pub unready_before_shutdown_ms: u64,
    /// HTTP: the largest request body accepted, in bytes.
    #[arg(help_heading = HTTP_ONLY, long, global = true, env = "CLERK_MCP_MAX_BODY_BYTES", value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Which SMS providers carry sends (`[providers]` in the TOML file).
    #[command(flatten)]
    pub providers: ProviderOptions,
    /// The safety of sends (`[sends]` in the TOML file).
    #[command(flatten)]
    pub sends: SendOptions,
    /// The embedded sandbox (`[sandbox]` in the TOML file).
    #[command(flatten)]
    pub sandbox: SandboxOptions,
    /// Which tools are served (`[tools]` in the TOML file).
    #[command(flatten)]
    pub tools: ToolOptions,
}

/// The safety of sends: `[sends]` in the TOML file.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendOptions {
    /// Hours an idempotency_key is remembered: a retry with it within this time returns the
    /// first call's result instead of sending again.
    #[arg(
        id = "sends.idempotency_key_hours",
        long = "idempotency-key-hours",
        global = true,
        env = "CLERK_MCP_IDEMPOTENCY_KEY_HOURS",
        value_name = "HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u64).range(1..=720)
    )]
    pub idempotency_key_hours: u64,
    /// Seconds within which an identical send (same account, sender, recipients and text; or
    /// list, sender and text) without an idempotency_key is refused as an accidental repeat;
    /// 0 turns the check off.
    #[arg(
        id = "sends.repeat_window",
        long = "repeat-window",
        global = true,
        env = "CLERK_MCP_REPEAT_WINDOW",
        value_name = "SECONDS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(0..=86_400)
    )]
    pub repeat_window: u64,
    /// Campaigns to more contacts than this are confirmed by the user first, when the client
    /// can ask (MCP elicitation); `never` turns it off. Clerk Chat cannot count a list in
    /// advance, so any number asks for every campaign.
    #[arg(
        id = "sends.confirm_campaigns_over",
        long = "confirm-campaigns-over",
        global = true,
        env = "CLERK_MCP_CONFIRM_CAMPAIGNS_OVER",
        value_name = "CONTACTS|never",
        default_value = "0"
    )]
    pub confirm_campaigns_over: String,
}

/// The SMS provider policy: `[providers]` in the TOML file.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderOptions {
    /// The SMS providers callers may choose, comma-separated. [default: every provider of the API]
    #[arg(
        id = "providers.enabled",
        long = "provider",
        global = true,
        env = "CLERK_MCP_PROVIDERS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub enabled: Option<Vec<String>>,
    /// The provider used when a call names none and no route matches its sender.
    #[arg(id = "providers.default", long = "default-provider", global = true, env = "CLERK_MCP_DEFAULT_PROVIDER", value_name = "NAME")]
    pub default: Option<String>,
    /// Routes sender numbers to providers, as NUMBER_OR_PREFIX=PROVIDER, comma-separated,
    /// e.g. +12025550100=telnyx,+44=bandwidth. An exact number beats the longest prefix. In
    /// the TOML file also as tables: `{ sender = "+44", provider = "bandwidth" }`.
    #[arg(
        id = "providers.routes",
        long = "provider-route",
        global = true,
        env = "CLERK_MCP_PROVIDER_ROUTES",
        value_delimiter = ',',
        value_name = "SENDER=PROVIDER"
    )]
    #[serde(deserialize_with = "routes::deserialize")]
    pub routes: Vec<String>,
}

/// The embedded sandbox: `[sandbox]` in the TOML file.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxOptions {
    /// Embedded sandbox: milliseconds a message stays `sending`, then `sent`.
    #[arg(
        id = "sandbox.delivery_delay_ms",
        long = "sandbox-delivery-delay-ms",
        global = true,
        env = "CLERK_MCP_SANDBOX_DELIVERY_DELAY_MS",
        value_name = "MS",
        default_value_t = clerk_sandbox::DEFAULT_DELIVERY_DELAY_MS
    )]
    pub delivery_delay_ms: u64,
    /// Embedded sandbox: requests a second per team before 429; 0 turns it off.
    #[arg(
        id = "sandbox.rate_limit",
        long = "sandbox-rate-limit",
        global = true,
        env = "CLERK_MCP_SANDBOX_RATE_LIMIT",
        value_name = "PER_SECOND",
        default_value_t = clerk_sandbox::DEFAULT_RATE_LIMIT_PER_SECOND
    )]
    pub rate_limit: u32,
}

/// The values clap gives a group of settings when nothing is set: its defaults, read from the
/// same attributes as `--help` (the environment is ignored here).
fn clap_defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(ClapCommand::new("defaults")).mut_args(|arg| arg.env(None::<&'static str>));
    let matches = command.try_get_matches_from(["defaults"]).expect("every setting has a default or is optional");
    T::from_arg_matches(&matches).expect("the defaults are valid settings")
}

impl Default for Options {
    fn default() -> Options {
        clap_defaults()
    }
}

impl Default for ProviderOptions {
    fn default() -> ProviderOptions {
        clap_defaults()
    }
}

impl Default for SendOptions {
    fn default() -> SendOptions {
        clap_defaults()
    }
}

impl Default for SandboxOptions {
    fn default() -> SandboxOptions {
        clap_defaults()
    }
}

/// Routes in the TOML file: `"SENDER=PROVIDER"` strings, as on the command line, or
/// `{ sender = "...", provider = "..." }` tables.
mod routes {
    use std::fmt;

    use serde::de::{self, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        /// An exact E.164 number, or a prefix of one.
        sender: String,
        provider: String,
    }

    /// One route, in either form, as `SENDER=PROVIDER`.
    struct Route(String);

    impl<'de> Deserialize<'de> for Route {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Route, D::Error> {
            struct RouteVisitor;
            impl<'de> Visitor<'de> for RouteVisitor {
                type Value = Route;

                fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                    formatter.write_str("a route, as \"SENDER=PROVIDER\" or { sender = \"+44\", provider = \"bandwidth\" }")
                }

                fn visit_str<E: de::Error>(self, text: &str) -> Result<Route, E> {
                    Ok(Route(text.to_owned()))
                }

                fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Route, M::Error> {
                    let table = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                    Ok(Route(format!("{}={}", table.sender, table.provider)))
                }
            }
            deserializer.deserialize_any(RouteVisitor)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        struct RoutesVisitor;
        impl<'de> Visitor<'de> for RoutesVisitor {
            type Value = Vec<String>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of routes")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut sequence: S) -> Result<Vec<String>, S::Error> {
                let mut routes = Vec::new();
                while let Some(Route(route)) = sequence.next_element()? {
                    routes.push(route);
                }
                Ok(routes)
            }
        }
        deserializer.deserialize_seq(RoutesVisitor)
    }
}

//! clerk-mcp: the thin server around the generated Clerk Chat tools. It picks the upstream
//! (Clerk Chat or the embedded sandbox), the SMS provider policy, the sign-in and the
//! transport; every tool and request to Clerk Chat comes from `clerk_chat`.

mod accounts;
pub mod auth;
pub mod config;
pub mod connect;
mod host;
mod http;
pub mod providers;
pub mod safe_sends;
mod session_store;
mod state;
mod upstream;

use clerk_chat::mcp::ToolServer;
use rmcp::ServiceExt;
use rmcp::model::Implementation;

pub use config::{AuthMode, Settings};
pub use host::{Credentials, ServerHost};
pub use http::{RunningServer, start_http};
pub use upstream::Upstream;

/// The name MCP clients see (`serverInfo.name`), as the hosted server's: Claude Code says
/// "Connected to clerk." Set explicitly: rmcp's default would name rmcp itself.
pub const SERVER_NAME: &str = "clerk";

/// The name users give the server in their client's configuration, as the hosted server's
/// documentation does (`claude mcp add clerk-chat ...`), so that configurations carry over.
pub const CONFIGURATION_NAME: &str = "clerk-chat";

/// Why the server cannot start. Shown to the operator, at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The provider settings do not fit the API's providers.
    #[error(transparent)]
    Providers(#[from] providers::PolicyError),
    /// The upstream (or the embedded sandbox) cannot be used.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    /// The listen address cannot be bound.
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen (or CLERK_MCP_LISTEN), e.g. --listen 127.0.0.1:8788"
    )]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The external issuer cannot be used.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// The built-in authorization server cannot start.
    #[error(transparent)]
    OAuth(#[from] clerk_oauth::OAuthError),
    /// The server's tables (idempotency keys, MCP sessions) cannot be opened.
    #[error("cannot open the server's tables (idempotency keys, MCP sessions): {0}")]
    Tables(#[from] clerk_store::StoreError),
    /// The stdio session could not start or broke.
    #[error("the stdio session failed: {0}")]
    Stdio(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The server's `instructions`: what the tools are for and, on the embedded sandbox, the numbers
/// the model can send from (Clerk Chat's API has no operation that lists them).
fn instructions(upstream: &Upstream) -> String {
    let mut text = String::from(
        "Clerk Chat business texting: send SMS/MMS from the team's numbers, read conversations, manage contacts and \
         send campaigns to contact lists. Phone numbers are E.164 (+15551234567). Sends and campaigns are billed and \
         reach real phones: confirm recipients and text with the user first.",
    );
    if upstream.sandbox.is_some() {
        text.push_str(" This server runs on a local sandbox: nothing is really sent.");
        let numbers: Vec<&str> = upstream.sandbox_inboxes.iter().map(|inbox| inbox.phone.as_str()).collect();
        if !numbers.is_empty() {
            text.push_str(&format!(" The sandbox team sends from {}.", numbers.join(", ")));
        }
    }
    text
}

/// The MCP handler with every generated tool, on the given upstream and provider policy, with
/// idempotency keys and recent sends in the server's tables (`state::open`).
fn tool_server(
    upstream: &Upstream,
    settings: &Settings,
    credentials: Credentials,
    tables: clerk_store::Database,
) -> Result<ToolServer<ServerHost>, StartError> {
    let policy = providers::ProviderPolicy::new(&settings.providers)?;
    let safe_sends = safe_sends::SqlSafeSends::new(tables, settings.safety.repeat_window);
    let host = ServerHost::new(credentials, policy, safe_sends, settings.safety.clone(), &settings.tools);
    let info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")).with_title("Clerk Chat");
    // Only the served tools are given: `ToolServer::new` drops the routes of the others.
    Ok(ToolServer::new(host, clerk_chat::tools::tool_router(), settings.tools.served(), info, Some(instructions(upstream))))
}

/// The banner's lines about the upstream: the same over HTTP (on stdout) and stdio (on stderr).
pub fn upstream_banner(settings: &Settings, upstream_url: &str, sandbox_inboxes: &[clerk_sandbox::SeededInbox]) -> Vec<String> {
    if settings.upstream.is_some() {
        return vec![format!("Upstream: {upstream_url}")];
    }
    let numbers: Vec<String> = sandbox_inboxes.iter().map(|inbox| format!("{} ({})", inbox.phone, inbox.provider)).collect();
    vec![
        format!("Upstream: the embedded sandbox at {upstream_url} (nothing is really sent)"),
        format!("Sandbox numbers to send from: {}", numbers.join(", ")),
    ]
}

/// The banner's last lines, about the data directory and the tools, over HTTP and stdio.
pub fn data_banner(settings: &Settings) -> Vec<String> {
    vec![
        format!("Data directory: {} (change it with --data-dir)", settings.data_dir.display()),
        format!("Tools: {} (choose with --tools, --tool-scopes, --read-only, --exclude-tools)", settings.tools.summary()),
    ]
}

/// Serves the tools over stdin/stdout until the client closes it. Nothing else goes to stdout.
/// stdio has no OAuth: the process that spawns the server is the user.
pub async fn run_stdio(settings: &Settings) -> Result<(), StartError> {
    let upstream = upstream::connect(settings, true).await?;
    // The same facts as the HTTP banner, on stderr: a client's log (Claude Desktop's) is where
    // a user of stdio looks.
    eprintln!("Clerk Chat MCP server on stdio");
    for line in upstream_banner(settings, &upstream.base_url, &upstream.sandbox_inboxes).into_iter().chain(data_banner(settings)) {
        eprintln!("{line}");
    }
    let tools = tool_server(&upstream, settings, Credentials::operators(&upstream)?, state::open(&settings.database).await?)?;
    let running = tools.serve(rmcp::transport::stdio()).await.map_err(|error| StartError::Stdio(Box::new(error)))?;
    running.waiting().await.map_err(|error| StartError::Stdio(Box::new(error)))?;
    if let Some(sandbox) = upstream.sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

//! clerk-mcp: the thin server around the generated Clerk Chat tools. It picks the upstream
//! (Clerk Chat or the embedded sandbox), the SMS provider policy and the transport; every tool
//! and request to Clerk Chat comes from `clerk_chat`.

mod accounts;
pub mod auth;
pub mod config;
mod host;
pub mod providers;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use clerk_chat::mcp::ToolServer;
use clerk_oauth::{AuthorizationServer, AuthorizationServerConfig};
use rmcp::ServiceExt;
use rmcp::model::Implementation;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::{AuthMode, Cli, Command, LogFormat, Settings};
pub use host::{Credentials, ServerHost};
pub use upstream::Upstream;

/// The name MCP clients see. Set explicitly: rmcp's default would name rmcp itself.
pub const SERVER_NAME: &str = "clerk-chat";

/// How long a shutdown waits for tool calls in flight before closing sessions anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long results of calls that just finished get to reach their client before sessions close.
const RESPONSE_FLUSH_GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Providers(#[from] providers::PolicyError),
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
    #[error("--auth none serves without sign-in, so it listens only on loopback; {0} is not a loopback address (use --auth external)")]
    NotLoopback(SocketAddr),
    #[error("--auth external needs --issuer, the authorization server's issuer URL")]
    NoIssuer,
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    OAuth(#[from] clerk_oauth::OAuthError),
    #[error(
        "--auth builtin on {0} needs --public-url, the https URL users reach this server at (e.g. https://mcp.example.com): tokens and sign-in pages name it"
    )]
    NoPublicUrl(SocketAddr),
    #[error("--public-url {0}: {1}")]
    PublicUrl(String, &'static str),
}

fn instructions(sandbox: bool) -> String {
    let mut text = String::from(
        "Clerk Chat business texting: send SMS/MMS from the team's numbers, read conversations, manage contacts and \
         send campaigns to contact lists. Phone numbers are E.164 (+15551234567). Sends and campaigns are billed and \
         reach real phones: confirm recipients and text with the user first.",
    );
    if sandbox {
        text.push_str(" This server runs on a local sandbox: nothing is really sent.");
    }
    text
}

/// The MCP handler with every generated tool, on the given upstream and provider policy.
pub fn tool_server(upstream: &Upstream, settings: &Settings, credentials: Credentials) -> Result<ToolServer<ServerHost>, StartError> {
    let policy = providers::ProviderPolicy::new(&settings.providers)?;
    let host = ServerHost::new(credentials, policy);
    let info = Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")).with_title("Clerk Chat");
    Ok(ToolServer::new(
        host,
        clerk_chat::tools::tool_router(),
        &clerk_chat::tools::TOOLS,
        info,
        Some(instructions(upstream.sandbox.is_some())),
    ))
}

/// A server listening on HTTP.
pub struct RunningServer {
    pub address: SocketAddr,
    pub upstream_url: String,
    /// With the embedded sandbox: its team's numbers, to send from.
    pub sandbox_inboxes: Vec<clerk_sandbox::SeededInbox>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// `http://ADDRESS/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.address)
    }

    /// Stops accepting, lets tool calls in flight finish (up to 30 s), then closes sessions.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    /// Waits until the server stops by itself (it does not, unless shut down).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn shutdown_handle(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// The operator's client, for the modes where every caller acts as the operator.
fn server_wide(upstream: &Upstream) -> Result<Credentials, StartError> {
    let client = upstream.client.clone().ok_or_else(|| upstream::UpstreamError::MissingKey(upstream.base_url.clone()))?;
    Ok(Credentials::ServerWide(client))
}

/// With the built-in authorization server the public URL is the issuer, so it must be right
/// before anything listens: https (loopback may use http), served at the root of its host.
fn check_public_url(settings: &Settings) -> Result<(), StartError> {
    let Some(public_url) = &settings.public_url else {
        return if settings.listen.ip().is_loopback() { Ok(()) } else { Err(StartError::NoPublicUrl(settings.listen)) };
    };
    let invalid = |reason| StartError::PublicUrl(public_url.clone(), reason);
    let parsed = reqwest::Url::parse(public_url).map_err(|_| invalid("not a URL; write it like https://mcp.example.com"))?;
    if parsed.scheme() != "https" && !clerk_oauth::is_loopback_url(public_url) {
        return Err(invalid("an authorization server must be served over https (http is allowed on loopback only)"));
    }
    if !parsed.path().trim_end_matches('/').is_empty() {
        return Err(invalid("serve the server at the root of its host (no path): OAuth metadata lives at /.well-known/..."));
    }
    Ok(())
}

/// The consent page's words for each scope: the titles of the tools it opens.
fn scope_descriptions() -> Vec<clerk_oauth::ScopeDescription> {
    let mut scopes: Vec<clerk_oauth::ScopeDescription> = Vec::new();
    for tool in clerk_chat::tools::TOOLS.iter() {
        match scopes.iter_mut().find(|scope| scope.name == tool.scope) {
            Some(scope) => {
                scope.description.push_str("; ");
                scope.description.push_str(tool.title);
            }
            None => scopes.push(clerk_oauth::ScopeDescription { name: tool.scope.to_owned(), description: tool.title.to_owned() }),
        }
    }
    scopes
}

/// Starts the HTTP server: `/mcp` (streamable HTTP, every MCP revision rmcp speaks), `/healthz`
/// and, by auth mode, the protected resource metadata and the built-in authorization server.
pub async fn start_http(settings: &Settings) -> Result<RunningServer, StartError> {
    match settings.auth {
        AuthMode::None if !settings.listen.ip().is_loopback() => return Err(StartError::NotLoopback(settings.listen)),
        AuthMode::External if settings.issuer.is_none() => return Err(StartError::NoIssuer),
        AuthMode::Builtin => check_public_url(settings)?,
        _ => {}
    }
    let upstream = upstream::connect(settings, settings.auth != AuthMode::Builtin).await?;
    let credentials = match settings.auth {
        AuthMode::Builtin => Credentials::PerAccount,
        AuthMode::None | AuthMode::External => server_wide(&upstream)?,
    };
    let tools = tool_server(&upstream, settings, credentials)?;
    let listener =
        tokio::net::TcpListener::bind(settings.listen).await.map_err(|source| StartError::Listen { address: settings.listen, source })?;
    let address = listener.local_addr().map_err(|source| StartError::Listen { address: settings.listen, source })?;
    let shutdown = CancellationToken::new();
    let sessions_closed = CancellationToken::new();
    let mut origins = settings.allowed_origins.clone();
    if settings.listen.port() == 0 {
        // Port 0 picks the port at bind time; the default origins must name the real one.
        origins.extend([format!("http://localhost:{}", address.port()), format!("http://127.0.0.1:{}", address.port())]);
    }
    let mut hosts = settings.allowed_hosts.clone();
    // The public URL's own host is always a host this server answers to.
    if let Some(host) =
        settings.public_url.as_deref().and_then(|url| reqwest::Url::parse(url).ok()).and_then(|url| url.host_str().map(str::to_owned))
        && !hosts.contains(&host)
    {
        hosts.push(host);
    }
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(sessions_closed.child_token())
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(settings.max_body_bytes);
    let handler = tools.clone();
    let service: StreamableHttpService<ToolServer<ServerHost>, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(handler.clone()), LocalSessionManager::default().into(), config);
    let mcp = axum::Router::new().fallback_service(service);
    let public_base = settings.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
    let mut authorization_server = None;
    let (mcp, auth_routes) = match (settings.auth, &settings.issuer) {
        (AuthMode::External, Some(issuer)) => {
            let resource_server = Arc::new(auth::ResourceServer::discover(issuer, auth::canonical_base(&public_base)?).await?);
            let routes = protected_resource_routes(&resource_server);
            (mcp.layer(axum::middleware::from_fn_with_state(resource_server, auth::require_token)), routes)
        }
        (AuthMode::Builtin, _) => {
            let base = auth::canonical_base(&public_base)?;
            let mut config =
                AuthorizationServerConfig::new(base.clone(), format!("{base}/mcp"), scope_descriptions(), settings.oauth_directory());
            config.vault_key = settings.vault_key.clone();
            config.sandbox = upstream.sandbox.is_some();
            let backend = Arc::new(accounts::UpstreamSignIn {
                base_url: upstream.base_url.clone(),
                options: upstream.options.clone(),
                sandbox_key: upstream.sandbox_api_key.clone(),
            });
            let issuer = AuthorizationServer::open(config, backend).await?;
            let resource_server = Arc::new(auth::ResourceServer::built_in(issuer.clone()));
            let accounts = Arc::new(accounts::AccountClients::new(
                issuer.clone(),
                resource_server.clone(),
                upstream.base_url.clone(),
                upstream.options.clone(),
            ));
            let routes = protected_resource_routes(&resource_server).merge(issuer.router());
            authorization_server = Some(issuer);
            // The last layer runs first: the token is checked before the account's client is attached.
            let mcp = mcp
                .layer(axum::middleware::from_fn_with_state(accounts, accounts::attach_account_client))
                .layer(axum::middleware::from_fn_with_state(resource_server, auth::require_token));
            (mcp, routes)
        }
        _ => (mcp, axum::Router::new()),
    };
    let app = axum::Router::new()
        .nest("/mcp", mcp)
        .merge(auth_routes)
        .route("/healthz", get(|| async { "ok" }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    let upstream_url = upstream.base_url.clone();
    let sandbox_inboxes = upstream.sandbox_inboxes.clone();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        // On shutdown axum stops accepting at once; sessions (and their SSE streams, which keep
        // connections open) close only once the tool calls in flight are done.
        let drain = {
            let stop = stop.clone();
            async move {
                stop.cancelled().await;
                tracing::info!("shutting down: waiting for tool calls in flight");
                if tokio::time::timeout(DRAIN_TIMEOUT, tools.drained()).await.is_err() {
                    tracing::warn!("tool calls still running after {DRAIN_TIMEOUT:?}; closing anyway");
                }
                // A finished call's result still has to pass through rmcp's session to its
                // stream; closing sessions at once would drop it.
                tokio::time::sleep(RESPONSE_FLUSH_GRACE).await;
                sessions_closed.cancel();
            }
        };
        tokio::spawn(drain);
        let graceful = stop.cancelled_owned();
        // Without TCP_NODELAY an SSE answer written in parts waits on the client's delayed ACK:
        // 40 ms added to every tool call.
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {error}");
            }
        });
        // Connection info gives the authorization server each caller's address, for its limits.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(graceful).await {
            tracing::error!("the HTTP server failed: {error}");
        }
        if let Some(authorization_server) = authorization_server {
            authorization_server.close().await;
        }
        if let Some(sandbox) = upstream.sandbox {
            sandbox.shutdown().await;
        }
    });
    Ok(RunningServer { address, upstream_url, sandbox_inboxes, shutdown, task })
}

/// RFC 9728 protected resource metadata, at both well-known paths.
fn protected_resource_routes(resource_server: &Arc<auth::ResourceServer>) -> axum::Router {
    let metadata = |State(resource_server): State<Arc<auth::ResourceServer>>, headers: axum::http::HeaderMap| async move {
        axum::Json(resource_server.metadata(&headers))
    };
    axum::Router::new()
        .route("/.well-known/oauth-protected-resource", get(metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(metadata))
        .with_state(resource_server.clone())
}

/// Serves the tools over stdin/stdout until the client closes it. Nothing else goes to stdout.
/// stdio has no OAuth: the process that spawns the server is the user.
pub async fn run_stdio(settings: &Settings) -> anyhow::Result<()> {
    let upstream = upstream::connect(settings, true).await?;
    let credentials = server_wide(&upstream)?;
    let tools = tool_server(&upstream, settings, credentials)?;
    let running = tools.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    if let Some(sandbox) = upstream.sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

//! The HTTP transport: `/mcp` (streamable HTTP, every MCP revision rmcp speaks), `/healthz`
//! (alive), `/readyz` (the database answers) and, by auth mode, the OAuth routes; with request
//! ids, host and origin checks, a body limit, and a graceful drain on shutdown.

mod auth_layers;
mod host_check;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use clerk_chat::mcp::ToolServer;
use clerk_oauth::AuthorizationServer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::session_store::SqlSessionStore;
use crate::upstream::{self, Upstream};
use crate::{AuthMode, ServerHost, Settings, StartError, state, tool_server};

/// How long a shutdown waits for tool calls in flight before closing sessions anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long results of calls that just finished get to reach their client before sessions close.
const RESPONSE_FLUSH_GRACE: Duration = Duration::from_millis(250);

/// A server listening on HTTP.
pub struct RunningServer {
    /// The address it listens on (the real port when `--listen` asked for port 0).
    pub address: SocketAddr,
    /// The Clerk Chat API it calls: the real one, or the embedded sandbox's URL.
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

    /// Cancelling this token shuts the server down, as [`RunningServer::shutdown`] does.
    pub fn shutdown_handle(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Starts the HTTP server on the settings' address.
pub async fn start_http(settings: &Settings) -> Result<RunningServer, StartError> {
    let upstream = upstream::connect(settings, settings.auth.uses_operator_key()).await?;
    let listener =
        tokio::net::TcpListener::bind(settings.listen).await.map_err(|source| StartError::Listen { address: settings.listen, source })?;
    let address = listener.local_addr().map_err(|source| StartError::Listen { address: settings.listen, source })?;
    let public_base = settings.auth.public_url().map(str::to_owned).unwrap_or_else(|| format!("http://{address}"));
    let tables = state::open(&settings.database).await?;
    let session_store = Arc::new(SqlSessionStore::new(tables.clone(), settings.auth != AuthMode::None));
    let auth = auth_layers::for_mode(settings, &public_base, &upstream, &session_store).await?;
    let tools = tool_server(&upstream, settings, auth.credentials.clone(), tables)?;
    let sessions_closed = CancellationToken::new();
    let mcp = mcp_router(tools.clone(), settings, address, sessions_closed.child_token(), session_store);
    let shutdown = CancellationToken::new();
    let app = application(auth.protect(mcp), auth.routes.clone(), readiness(tools.clone(), shutdown.clone()), &settings.allowed_hosts);
    let upstream_url = upstream.base_url.clone();
    let sandbox_inboxes = upstream.sandbox_inboxes.clone();
    let closing = Closing {
        tools,
        sessions_closed,
        authorization_server: auth.authorization_server,
        upstream,
        unready_before_shutdown: settings.unready_before_shutdown,
    };
    let task = tokio::spawn(serve(listener, app, shutdown.clone(), closing));
    Ok(RunningServer { address, upstream_url, sandbox_inboxes, shutdown, task })
}

/// `/mcp`: rmcp's streamable HTTP service with the server's host, origin and body limits, and
/// legacy sessions kept in the database so that any replica can continue them.
fn mcp_router(
    tools: ToolServer<ServerHost>,
    settings: &Settings,
    address: SocketAddr,
    sessions_closed: CancellationToken,
    session_store: Arc<SqlSessionStore>,
) -> axum::Router {
    let mut origins = settings.allowed_origins.clone();
    if settings.listen.port() == 0 {
        // Port 0 picks the port at bind time; the default origins must name the real one.
        origins.extend([format!("http://localhost:{}", address.port()), format!("http://127.0.0.1:{}", address.port())]);
    }
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(sessions_closed)
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(settings.max_body_bytes);
    config.session_store = Some(session_store);
    let mut sessions = LocalSessionManager::default();
    // An idle session's memory is freed; the session itself lives on in the store.
    sessions.session_config.keep_alive = Some(settings.session_idle_timeout);
    let service: StreamableHttpService<ToolServer<ServerHost>, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(tools.clone()), sessions.into(), config);
    axum::Router::new().fallback_service(service)
}

/// Everything the server answers, only for the hosts it serves, with a request id on every
/// request and in its log span.
fn application(mcp: axum::Router, auth_routes: axum::Router, readiness: axum::Router, allowed_hosts: &[String]) -> axum::Router {
    let hosts = Arc::new(host_check::AllowedHosts::new(allowed_hosts));
    axum::Router::new()
        .nest("/mcp", mcp)
        .merge(auth_routes)
        .merge(readiness)
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(hosts, host_check::check_host))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// `/readyz`: 200 once the database answers with its tables in place, else 503, so that a
/// load balancer sends nothing to a replica that cannot serve; 503 too from the moment a
/// shutdown begins. `/healthz` only says the process runs.
fn readiness(tools: ToolServer<ServerHost>, shutdown: CancellationToken) -> axum::Router {
    axum::Router::new().route(
        "/readyz",
        get(move || {
            let (tools, shutdown) = (tools.clone(), shutdown.clone());
            async move {
                if shutdown.is_cancelled() {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready: shutting down")
                } else if tools.host().database_ready().await {
                    (axum::http::StatusCode::OK, "ready")
                } else {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready: the database does not answer")
                }
            }
        }),
    )
}

/// What a shutdown closes, in order, once the listener has stopped accepting.
struct Closing {
    tools: ToolServer<ServerHost>,
    sessions_closed: CancellationToken,
    authorization_server: Option<Arc<AuthorizationServer>>,
    upstream: Upstream,
    /// How long requests are still served after `stop`, while `/readyz` says 503.
    unready_before_shutdown: Duration,
}

/// Serves until `stop` is cancelled. On shutdown axum stops accepting at once; sessions (and
/// their SSE streams, which keep connections open) close only once the tool calls in flight
/// are done.
async fn serve(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken, closing: Closing) {
    // Behind a load balancer, requests keep coming until its health checks see /readyz fail.
    let stop_accepting = CancellationToken::new();
    let (stopped, delay, closing_listener) = (stop.clone(), closing.unready_before_shutdown, stop_accepting.clone());
    tokio::spawn(async move {
        stopped.cancelled().await;
        tokio::time::sleep(delay).await;
        closing_listener.cancel();
    });
    tokio::spawn(drain(stop_accepting.clone(), closing.tools.clone(), closing.sessions_closed.clone()));
    // Without TCP_NODELAY an SSE answer written in parts waits on the client's delayed ACK:
    // 40 ms added to every tool call.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {error}");
        }
    });
    // Connection info gives the authorization server each caller's address, for its limits.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop_accepting.cancelled_owned()).await {
        tracing::error!("the HTTP server failed: {error}");
    }
    if let Some(authorization_server) = closing.authorization_server {
        authorization_server.close().await;
    }
    if let Some(sandbox) = closing.upstream.sandbox {
        sandbox.shutdown().await;
    }
}

/// Once `stop` is cancelled: waits for the tool calls in flight (up to [`DRAIN_TIMEOUT`]),
/// then closes the MCP sessions.
async fn drain(stop: CancellationToken, tools: ToolServer<ServerHost>, sessions_closed: CancellationToken) {
    stop.cancelled().await;
    tracing::info!("shutting down: waiting for tool calls in flight");
    if tokio::time::timeout(DRAIN_TIMEOUT, tools.drained()).await.is_err() {
        tracing::warn!("tool calls still running after {DRAIN_TIMEOUT:?}; closing anyway");
    }
    // A finished call's result still has to pass through rmcp's session to its stream;
    // closing sessions at once would drop it.
    tokio::time::sleep(RESPONSE_FLUSH_GRACE).await;
    sessions_closed.cancel();
}

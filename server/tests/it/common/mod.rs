//! Shared set-up of the end-to-end tests: a real server on loopback, a real rmcp client.

pub(crate) mod browser;
pub(crate) mod spawned;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clerk_mcp::config::{AuthMode, ConfigError};
use clerk_mcp::{RunningServer, Settings};
use clerk_store::DatabaseUrl;
use rmcp::model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

pub(crate) struct TestServer {
    pub server: RunningServer,
    pub directory: tempfile::TempDir,
}

/// Settings for a test server on loopback, read as the command line `args` would give them.
/// Sign-in is off (`--auth none`) unless `args` turn it on: most tests are about the tools,
/// not OAuth. Each of these defaults gives way to the same flag in `args`.
pub(crate) fn try_settings(directory: &std::path::Path, args: &[&str]) -> Result<Settings, ConfigError> {
    let directory = directory.to_str().expect("temporary directories have UTF-8 paths");
    let test_defaults = [
        ("--auth", "none"),
        ("--data-dir", directory),
        ("--listen", "127.0.0.1:0"),
        ("--sandbox-delivery-delay-ms", "100"),
        ("--sandbox-rate-limit", "0"),
    ];
    let mut command_line = vec!["clerk-mcp"];
    for (flag, value) in test_defaults {
        if !args.contains(&flag) {
            command_line.extend([flag, value]);
        }
    }
    command_line.extend(args);
    let (_, settings) = Settings::from_args(command_line)?;
    if args.contains(&"--database-url") {
        return Ok(settings);
    }
    Ok(match postgres_for_this_run() {
        Some(url) => on_database(settings, url),
        None => settings,
    })
}

/// `settings` with their state in `url`. Put in after the settings are checked: a shared
/// database asks for an upstream and configured keys, which a single test server on the
/// embedded sandbox does not need.
pub(crate) fn on_database(mut settings: Settings, url: DatabaseUrl) -> Settings {
    if let AuthMode::Builtin { database, .. } = &mut settings.auth {
        *database = url.clone();
    }
    settings.database = url;
    settings
}

/// With `CLERK_MCP_TEST_DATABASE=postgres` (as `.ci/run`'s second pass sets it), each server
/// keeps its sign-ins and idempotency keys in a fresh PostgreSQL database instead of SQLite, so
/// that the same tests check both stores.
fn postgres_for_this_run() -> Option<DatabaseUrl> {
    if std::env::var("CLERK_MCP_TEST_DATABASE").as_deref() != Ok("postgres") {
        return None;
    }
    // Settings are read outside the test's runtime, so the database is made on a thread of its own.
    let url = std::thread::spawn(|| tokio::runtime::Runtime::new().unwrap().block_on(clerk_store::testing::fresh_postgres_database()))
        .join()
        .unwrap();
    Some(url)
}

/// [`try_settings`], which must succeed.
pub(crate) fn settings(directory: &std::path::Path, args: &[&str]) -> Settings {
    try_settings(directory, args).unwrap_or_else(|error| panic!("{error}"))
}

/// A server on loopback with [`settings`] of `args`, in a new data directory.
pub(crate) async fn start(args: &[&str]) -> TestServer {
    let directory = tempfile::tempdir().unwrap();
    let settings = settings(directory.path(), args);
    let server = clerk_mcp::start_http(&settings).await.unwrap_or_else(|error| panic!("{error}"));
    TestServer { server, directory }
}

/// A client that keeps the progress notifications it receives.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

pub(crate) type Client = RunningService<RoleClient, Recorder>;

/// A plain HTTP client, for requests MCP clients would not make.
pub(crate) fn http() -> reqwest::Client {
    clerk_support::tls::install_crypto_provider();
    reqwest::Client::new()
}

pub(crate) async fn connect(url: &str) -> (Client, Recorder) {
    clerk_support::tls::install_crypto_provider();
    let recorder = Recorder::default();
    let client = recorder.clone().serve(StreamableHttpClientTransport::from_uri(url.to_owned())).await.expect("the client connects");
    (client, recorder)
}

/// An rmcp session that sends this bearer token with every request.
pub(crate) async fn connect_with_token(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    clerk_support::tls::install_crypto_provider();
    let transport =
        StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(url).auth_header(token.to_owned()));
    ().serve(transport).await.expect("a valid token connects")
}

/// The status and `WWW-Authenticate` challenge of an MCP initialize with this bearer token.
pub(crate) async fn initialize_status(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = http().post(url).header("accept", "application/json, text/event-stream").json(&serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let challenge = response.headers().get("www-authenticate").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), challenge)
}

pub(crate) async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    call_with(client, tool, arguments).await
}

/// [`call`] from a client with any handler.
pub(crate) async fn call_with<H: ClientHandler>(client: &RunningService<RoleClient, H>, tool: &str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().expect("arguments are an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|error| panic!("{tool}: {error}"))
}

pub(crate) fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|content| content.as_text().map(|text| text.text.clone())).collect::<Vec<_>>().join("\n")
}

/// The structured result of a call that must have succeeded.
pub(crate) fn ok(result: CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "the call failed: {}", text_of(&result));
    result.structured_content.expect("a successful call has structuredContent")
}

/// The error text of a call that must have failed as a tool error.
pub(crate) fn tool_error(result: CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "expected a tool error, got {:?}", result.structured_content);
    text_of(&result)
}

/// An upstream that answers every request after `delay` with an empty contact list, and
/// counts the requests whose client went away before the answer.
pub(crate) async fn slow_upstream(delay: Duration) -> (String, Arc<AtomicUsize>) {
    upstream_answering(delay, r#"{"data":[]}"#).await
}

/// An upstream that answers every request after `delay` with 200 and `body`, and counts the
/// requests whose client went away before the answer.
pub(crate) async fn upstream_answering(delay: Duration, body: &'static str) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let abandoned = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&abandoned);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut request = vec![0_u8; 8192];
                let _ = socket.read(&mut request).await;
                let mut rest = [0_u8; 1];
                tokio::select! {
                    () = tokio::time::sleep(delay) => {
                        let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                        let _ = socket.write_all(answer.as_bytes()).await;
                    }
                    read = socket.read(&mut rest) => {
                        if matches!(read, Ok(0) | Err(_)) {
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    (format!("http://{address}"), abandoned)
}

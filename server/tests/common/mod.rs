//! Shared set-up of the end-to-end tests: a real server on loopback, a real rmcp client.

#![allow(dead_code)]

pub mod browser;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clerk_mcp::config::Options;
use clerk_mcp::{RunningServer, Settings};
use rmcp::model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

pub struct TestServer {
    pub server: RunningServer,
    pub directory: tempfile::TempDir,
}

/// Settings for a test server on loopback. Sign-in is off (`--auth none`) unless `configure`
/// turns it on: most tests are about the tools, not OAuth.
pub fn settings(directory: &std::path::Path, configure: impl FnOnce(&mut Options)) -> Settings {
    let mut options = Options {
        auth: Some(clerk_mcp::AuthMode::None),
        data_dir: Some(directory.to_owned()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        sandbox_delivery_delay_ms: Some(100),
        sandbox_rate_limit: Some(0),
        ..Options::default()
    };
    configure(&mut options);
    Settings::resolve(&options).unwrap()
}

pub async fn start(configure: impl FnOnce(&mut Options)) -> TestServer {
    let directory = tempfile::tempdir().unwrap();
    let settings = settings(directory.path(), configure);
    let server = clerk_mcp::start_http(&settings).await.unwrap_or_else(|error| panic!("{error}"));
    TestServer { server, directory }
}

/// A client that keeps the progress notifications it receives.
#[derive(Clone, Default)]
pub struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

pub type Client = RunningService<RoleClient, Recorder>;

/// reqwest (here and inside rmcp's client) is built without a default crypto provider.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client, for requests MCP clients would not make.
pub fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::new()
}

pub async fn connect(url: &str) -> (Client, Recorder) {
    install_crypto_provider();
    let recorder = Recorder::default();
    let client = recorder.clone().serve(StreamableHttpClientTransport::from_uri(url.to_owned())).await.expect("the client connects");
    (client, recorder)
}

/// An rmcp session that sends this bearer token with every request.
pub async fn connect_with_token(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    install_crypto_provider();
    let transport =
        StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(url).auth_header(token.to_owned()));
    ().serve(transport).await.expect("a valid token connects")
}

/// The status and `WWW-Authenticate` challenge of an MCP initialize with this bearer token.
pub async fn initialize_status(url: &str, token: Option<&str>) -> (u16, String) {
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

pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().expect("arguments are an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|error| panic!("{tool}: {error}"))
}

pub fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|content| content.as_text().map(|text| text.text.clone())).collect::<Vec<_>>().join("\n")
}

/// The structured result of a call that must have succeeded.
pub fn ok(result: CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "the call failed: {}", text_of(&result));
    result.structured_content.expect("a successful call has structuredContent")
}

/// The error text of a call that must have failed as a tool error.
pub fn tool_error(result: CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "expected a tool error, got {:?}", result.structured_content);
    text_of(&result)
}

/// An upstream that answers every request after `delay` with an empty contact list, and
/// counts the requests whose client went away before the answer.
pub async fn slow_upstream(delay: Duration) -> (String, Arc<AtomicUsize>) {
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
                        let body = r#"{"data":[]}"#;
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

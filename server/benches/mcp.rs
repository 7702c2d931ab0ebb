//! Benchmark of the MCP server binary: tools/call throughput and latency over streamable HTTP,
//! the same operations called directly with the SDK (the difference is what the MCP layer
//! adds), memory when idle and with 1,000 open sessions, time from start to ready, and what
//! checking an OAuth access token (`--auth builtin`) adds to each call against `--auth none`,
//! what the safety of sends costs (`safe_sends`), and the PostgreSQL store against SQLite
//! (`postgres`). Run with
//! `cargo bench -p clerk-mcp --bench mcp`; it starts the release binary itself.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

/// The tests' browser, for signing in as a user would. The bench uses only its sign-in; the
/// tests use the rest.
#[path = "../tests/it/common/browser.rs"]
#[allow(dead_code)]
mod browser;

#[path = "mcp/safe_sends.rs"]
mod safe_sends;

#[path = "mcp/postgres.rs"]
mod postgres;

#[path = "mcp/memory.rs"]
mod memory;

#[path = "mcp/cpu.rs"]
mod cpu;

#[path = "mcp/peers.rs"]
mod peers;

const RUN_FOR: Duration = Duration::from_secs(4);

/// Numbers the texts of the benchmark's sends: identical texts in a row would be refused as
/// accidental repeats.
static SEND_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_send_body() -> String {
    format!("Benchmark {}", SEND_NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

struct Server {
    child: std::process::Child,
    address: std::net::SocketAddr,
    sandbox_url: String,
    sender: String,
    api_key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and measures how long until `/healthz` answers.
fn start_server(data_dir: &std::path::Path, auth: &str, extra_args: &[&str]) -> (Server, Duration) {
    use std::io::BufRead;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"))
        .args(["--auth", auth, "--listen", "127.0.0.1:0", "--sandbox-rate-limit", "0", "--data-dir"])
        .arg(data_dir)
        .args(extra_args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut address, mut sandbox_url, mut sender) = (None, None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Clerk Chat MCP server on http://") {
            address = Some(url.trim_end_matches("/mcp").parse().unwrap());
        } else if let Some(rest) = line.strip_prefix("Upstream: the embedded sandbox at ") {
            sandbox_url = Some(rest.split(' ').next().unwrap().to_owned());
        } else if let Some(rest) = line.strip_prefix("Sandbox numbers to send from: ") {
            sender = Some(rest.split(' ').next().unwrap().to_owned());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let address: std::net::SocketAddr = address.expect("the banner names the URL");
    while !answers_ok(address, "/healthz") {
        std::thread::sleep(Duration::from_millis(1));
    }
    let ready = started.elapsed();
    let api_key = std::fs::read_to_string(data_dir.join("sandbox/api-key")).unwrap();
    (Server { child, address, sandbox_url: sandbox_url.unwrap(), sender: sender.unwrap(), api_key }, ready)
}

/// Whether `GET path` on the server answers 200, asked over a plain connection.
fn answers_ok(address: std::net::SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return false };
    let _ = stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// One MCP session on its own keep-alive connection, spoken with plain hyper to keep the
/// client's share of the two cores small.
struct Session {
    sender: SendRequest<Full<Bytes>>,
    id: String,
    next: u64,
    bearer: Option<Arc<str>>,
}

async fn open_session(address: std::net::SocketAddr, bearer: Option<Arc<str>>) -> Session {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut session = Session { sender, id: String::new(), next: 1, bearer };
    let initialize = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
    let (headers, _) = session.post(&initialize).await;
    session.id = headers.get("mcp-session-id").unwrap().to_str().unwrap().to_owned();
    session.post(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    session
}

impl Session {
    async fn post(&mut self, message: &serde_json::Value) -> (hyper::HeaderMap, String) {
        let mut request = hyper::Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        if !self.id.is_empty() {
            request = request.header("mcp-session-id", &self.id).header("mcp-protocol-version", "2025-11-25");
        }
        if let Some(bearer) = &self.bearer {
            request = request.header("authorization", format!("Bearer {bearer}"));
        }
        let request = request.body(Full::new(Bytes::from(message.to_string()))).unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (headers, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn call_tool(&mut self, name: &str, arguments: &serde_json::Value) {
        self.call_tool_result(name, arguments).await;
    }

    /// Calls a tool that must succeed, and returns its `structuredContent`.
    async fn call_tool_result(&mut self, name: &str, arguments: &serde_json::Value) -> serde_json::Value {
        let result = self.request("tools/call", serde_json::json!({"name": name, "arguments": arguments})).await;
        assert!(result.is_object() && result["isError"] != serde_json::json!(true), "{name} failed: {result}");
        result["structuredContent"].clone()
    }

    /// Sends one request and returns its `result` (null when the answer has none).
    async fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let id = self.next;
        self.next += 1;
        let (_, body) = self.post(&serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        // The answer comes as JSON or as server-sent events, one of which is the response.
        let response = body.lines().filter_map(|line| line.strip_prefix("data:")).find(|data| data.contains("\"result\"")).unwrap_or(&body);
        serde_json::from_str::<serde_json::Value>(response.trim()).map(|response| response["result"].clone()).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
enum Operation {
    GetMessages,
    SendMessage,
    /// A send with a fresh idempotency key: MCP only (the SDK knows no keys).
    KeyedSendMessage,
}

impl Operation {
    fn tool(self) -> &'static str {
        match self {
            Operation::GetMessages => "get_messages",
            Operation::SendMessage | Operation::KeyedSendMessage => "send_message",
        }
    }
}

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn summarize(mut latencies: Vec<Duration>, elapsed: Duration) -> Measured {
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Measured { per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50: at(0.5), p99: at(0.99) }
}

/// How a worker reaches the operation: an MCP session, or the SDK directly.
enum Path {
    Mcp(Session),
    Sdk,
}

impl Path {
    async fn run(&mut self, server: &ServerInfo, operation: Operation) {
        match self {
            Path::Mcp(session) => run_mcp(session, server, operation).await,
            Path::Sdk => run_sdk(server, operation).await,
        }
    }
}

/// Closed-loop load: every worker runs the operation back to back for RUN_FOR.
async fn measure(server: &Arc<ServerInfo>, operation: Operation, paths: Vec<Path>) -> Measured {
    let started = Instant::now();
    let workers: Vec<_> = paths
        .into_iter()
        .map(|mut path| {
            let server = Arc::clone(server);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < RUN_FOR {
                    let call_started = Instant::now();
                    path.run(&server, operation).await;
                    latencies.push(call_started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    summarize(latencies, started.elapsed())
}

async fn measure_mcp(server: &Arc<ServerInfo>, operation: Operation, concurrency: usize) -> Measured {
    // Sessions open and warm up together: a peer that closes idle connections after a few
    // seconds would otherwise drop the first ones before the last are ready.
    let sessions = (0..concurrency).map(|_| async {
        let mut session = open_session(server.address, server.bearer.clone()).await;
        for _ in 0..3 {
            run_mcp(&mut session, server, operation).await;
        }
        Path::Mcp(session)
    });
    let paths = futures::future::join_all(sessions).await;
    measure(server, operation, paths).await
}

async fn measure_sdk(server: &Arc<ServerInfo>, operation: Operation, concurrency: usize) -> Measured {
    measure(server, operation, (0..concurrency).map(|_| Path::Sdk).collect()).await
}

async fn run_mcp(session: &mut Session, server: &ServerInfo, operation: Operation) {
    let (tool, arguments) = server.naming.call(operation, &server.sender);
    session.call_tool(tool, &arguments).await
}

async fn run_sdk(server: &ServerInfo, operation: Operation) {
    match operation {
        Operation::GetMessages => {
            server.sdk.find_messages().limit(std::num::NonZeroU32::new(50).unwrap()).send().await.unwrap();
        }
        Operation::KeyedSendMessage => unreachable!("the SDK knows no idempotency keys: measured through MCP only"),
        Operation::SendMessage => {
            let body = clerk_chat::types::SendMessageRequest::builder()
                .sender(server.sender.as_str())
                .recipients(vec!["+15559876543".parse().unwrap()])
                .body(next_send_body());
            server.sdk.send_message().body(body).send().await.unwrap();
        }
    }
}

struct ServerInfo {
    address: std::net::SocketAddr,
    sender: String,
    sdk: clerk_chat::Client,
    /// The access token MCP calls carry, when the server signs callers in.
    bearer: Option<Arc<str>>,
    /// The tools' names and arguments: this server's, or a peer's.
    naming: peers::Naming,
}

/// A fixed read dataset: 1,000 messages, written before any read is measured.
async fn seed_messages(server: &ServerInfo) {
    let mut session = open_session(server.address, server.bearer.clone()).await;
    for _ in 0..1000 {
        run_mcp(&mut session, server, Operation::SendMessage).await;
    }
}

/// Signs in to a `--auth builtin` server as a browser would (register, consent page, one click
/// on the sandbox team, code for token) and returns the access token.
async fn sign_in(address: std::net::SocketAddr) -> Arc<str> {
    let tokens = browser::Browser::new(format!("http://{address}")).sign_in_to_sandbox().await;
    tokens["access_token"].as_str().unwrap().into()
}

/// What a worker needs of a running server; with a bearer token when it signs callers in.
fn server_info(server: &Server, bearer: Option<Arc<str>>) -> Arc<ServerInfo> {
    peers::server_info_at(server, server.address, bearer, peers::Naming::Ours)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench -p clerk-mcp --bench mcp -- safe-sends` runs only the safety of sends.
    if std::env::args().any(|argument| argument == "safe-sends") {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        safe_sends::safe_sends_against_none(&runtime);
        safe_sends::keyed_sends_with_retries(&runtime);
        return;
    }
    // `-- postgres` runs only the shared store against SQLite.
    if std::env::args().any(|argument| argument == "postgres") {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        postgres::postgres_against_sqlite(&runtime);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // `-- peers` runs only the table beside rmcp-openapi-server and FastMCP, on a server of its own.
    if std::env::args().any(|argument| argument == "peers") {
        peers::peers_side_by_side(&runtime);
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (server, ready) = start_server(directory.path(), "none", &[]);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let idle_rss = memory::rss_mib(pid);
    let info = server_info(&server, None);
    let only = |part: &str| std::env::args().any(|argument| argument == part);
    // `-- cpu` measures on a server that has opened no other sessions.
    let sessions_rss = if only("cpu") {
        None
    } else {
        let (sessions_rss, sessions_only_mib) = memory::idle_sessions(&runtime, info.address, pid);
        println!(
            "memory per idle legacy session: {:.1} KiB with its keep-alive connection open, {:.1} KiB once the connection is closed",
            memory::kib_each(sessions_rss - idle_rss),
            memory::kib_each(sessions_only_mib)
        );
        Some(sessions_rss)
    };
    if only("sessions") {
        return;
    }
    // A fixed read dataset: 1,000 messages, written before any read is measured.
    runtime.block_on(async {
        seed_messages(&info).await;
    });
    cpu::cpu_per_tools_call(&runtime, &info, pid);
    if only("cpu") {
        return;
    }
    println!(
        "clerk-mcp benchmark, {} s per row, server (with its embedded sandbox) and client on this machine's {} cores",
        RUN_FOR.as_secs(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("start to ready (/healthz answers): {:.1} ms", ready.as_secs_f64() * 1000.0);
    mcp_against_sdk(&runtime, &info);
    oauth_against_none(&runtime);
    safe_sends::safe_sends_against_none(&runtime);
    safe_sends::keyed_sends_with_retries(&runtime);
    postgres::postgres_against_sqlite(&runtime);
    peers::peers_side_by_side(&runtime);
    println!("RSS idle (after start): {idle_rss:.1} MiB");
    if let Some(sessions_rss) = sessions_rss {
        println!("RSS with 1,000 open, idle sessions (measured before the load): {sessions_rss:.1} MiB");
    }
}

/// Each operation through MCP and directly with the SDK: what the MCP layer adds.
fn mcp_against_sdk(runtime: &tokio::runtime::Runtime, info: &Arc<ServerInfo>) {
    println!(
        "{:<14} {:>5} {:>12} {:>9} {:>9} {:>12} {:>9} {:>9} {:>13} {:>9}",
        "operation", "conc.", "mcp calls/s", "mcp p50", "mcp p99", "sdk calls/s", "sdk p50", "sdk p99", "overhead p50", "mcp/sdk"
    );
    for operation in [Operation::GetMessages, Operation::SendMessage] {
        for concurrency in [1, 16, 64] {
            let sdk = runtime.block_on(measure_sdk(info, operation, concurrency));
            let mcp = runtime.block_on(measure_mcp(info, operation, concurrency));
            println!(
                "{:<14} {:>5} {:>12.0} {:>9.2} {:>9.2} {:>12.0} {:>9.2} {:>9.2} {:>10.2} ms {:>8.2}x",
                operation.tool(),
                concurrency,
                mcp.per_second,
                ms(mcp.p50),
                ms(mcp.p99),
                sdk.per_second,
                ms(sdk.p50),
                ms(sdk.p99),
                ms(mcp.p50) - ms(sdk.p50),
                mcp.per_second / sdk.per_second,
            );
        }
    }
}

/// The same calls on two fresh servers with the same 1,000 messages, one of which signs
/// callers in: each request's access token is checked (ES256 signature, claims, revocation)
/// and the account's upstream client looked up.
fn oauth_against_none(runtime: &tokio::runtime::Runtime) {
    let fresh = |auth: &str| {
        let directory = tempfile::tempdir().unwrap();
        let (server, _) = start_server(directory.path(), auth, &[]);
        let bearer = (auth == "builtin").then(|| runtime.block_on(sign_in(server.address)));
        let info = server_info(&server, bearer);
        runtime.block_on(seed_messages(&info));
        (directory, server, info)
    };
    let (_plain_directory, _plain_server, plain_info) = fresh("none");
    let (_oauth_directory, _oauth_server, oauth_info) = fresh("builtin");
    println!();
    println!(
        "{:<14} {:>5} {:>16} {:>9} {:>16} {:>9} {:>13}",
        "operation", "conc.", "auth none /s", "p50", "auth builtin /s", "p50", "OAuth adds p50"
    );
    for operation in [Operation::GetMessages, Operation::SendMessage] {
        for concurrency in [1, 16] {
            let plain = runtime.block_on(measure_mcp(&plain_info, operation, concurrency));
            let signed_in = runtime.block_on(measure_mcp(&oauth_info, operation, concurrency));
            println!(
                "{:<14} {:>5} {:>16.0} {:>9.2} {:>16.0} {:>9.2} {:>10.2} ms",
                operation.tool(),
                concurrency,
                plain.per_second,
                ms(plain.p50),
                signed_in.per_second,
                ms(signed_in.p50),
                ms(signed_in.p50) - ms(plain.p50),
            );
        }
    }
}

//! The same calls on the two other ways people serve an OpenAPI spec over MCP, against the same
//! sandbox and its messages: rmcp-openapi-server, which interprets the spec at run time, and
//! FastMCP's `from_openapi`. Optional rows: `scripts/bench-peers.sh` installs both into
//! `target/peers`, and when it cannot, the rows are skipped with the reason printed.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Operation, Server, ServerInfo, cpu, measure_mcp, ms, next_send_body, open_session, seed_messages, server_info, start_server};

/// How a server names its tools and their arguments.
#[derive(Clone, Copy)]
pub(super) enum Naming {
    /// This server's: the seed's tool names, snake_case arguments, optional `media_urls`.
    Ours,
    /// The spec's operation ids and parameter names, as both peers derive them; rmcp-openapi
    /// wants a request body as one `request_body` argument, FastMCP its fields as arguments.
    OperationIds { body_as_one_argument: bool },
}

/// Numbers the benchmark's idempotency keys, so that every keyed send is a new one.
static KEY_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Naming {
    /// The tool and arguments of one call of `operation`, sent from `sender`.
    pub(super) fn call(self, operation: Operation, sender: &str) -> (&'static str, Value) {
        let recipients = ["+15559876543"];
        match (self, operation) {
            (Naming::Ours, Operation::GetMessages) => ("get_messages", json!({"limit": 50})),
            (Naming::Ours, Operation::SendMessage) => {
                ("send_message", json!({"sender": sender, "recipients": recipients, "body": next_send_body()}))
            }
            (Naming::Ours, Operation::KeyedSendMessage) => {
                let key = KEY_NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let arguments = json!({"sender": sender, "recipients": recipients, "body": next_send_body(), "idempotency_key": format!("bench-{key}")});
                ("send_message", arguments)
            }
            (Naming::OperationIds { .. }, Operation::GetMessages) => ("findMessages", json!({"limit": 50})),
            (Naming::OperationIds { body_as_one_argument }, Operation::SendMessage | Operation::KeyedSendMessage) => {
                let body = json!({"sender": sender, "recipients": recipients, "body": next_send_body(), "mediaUrls": []});
                ("sendMessage", if body_as_one_argument { json!({"request_body": body}) } else { body })
            }
        }
    }
}

/// What a worker needs of the MCP server at `address` (a peer, a replica) that works on the
/// sandbox of `server`, whose SDK client calls that sandbox directly.
pub(super) fn server_info_at(server: &Server, address: SocketAddr, bearer: Option<Arc<str>>, naming: Naming) -> Arc<ServerInfo> {
    let key = clerk_chat::ApiKey::new(server.api_key.trim()).unwrap();
    let sdk = clerk_chat::Client::with_api_key(&server.sandbox_url, &key).unwrap();
    Arc::new(ServerInfo { address, sender: server.sender.clone(), sdk, bearer, naming })
}

/// A peer's server process, stopped when dropped.
struct Peer {
    name: &'static str,
    child: Child,
    info: Arc<ServerInfo>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One server's figures, in the order of the table.
struct Row {
    name: &'static str,
    get_per_second: f64,
    send_per_second: f64,
    get_p50_ms: f64,
    cpu_get_ms: f64,
    cpu_send_ms: f64,
    tools_list_bytes: usize,
    page: PageSize,
}

/// What a 50-message page costs a client: bytes of the text block and of `structuredContent`,
/// and their tokens (tiktoken's o200k_base).
struct PageSize {
    text_bytes: usize,
    structured_bytes: usize,
    text: String,
    structured: String,
}

/// Runs the peers beside a fresh server of ours holding 1,000 messages, all against its
/// sandbox, and prints the table and the ratios the performance targets name. Fresh, because
/// the sessions and messages earlier parts of the bench leave behind would weigh on one side.
pub(super) fn peers_side_by_side(runtime: &tokio::runtime::Runtime) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let setup = Command::new("bash").arg(root.join("scripts/bench-peers.sh")).stdout(Stdio::null()).output();
    match setup {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let reason = String::from_utf8_lossy(&output.stderr);
            println!("peers skipped: scripts/bench-peers.sh failed: {}", reason.trim().lines().last().unwrap_or("no message"));
            return;
        }
        Err(error) => {
            println!("peers skipped: cannot run scripts/bench-peers.sh: {error}");
            return;
        }
    }
    let peers_dir = root.join("target/peers");
    let directory = tempfile::tempdir().unwrap();
    let (server, _) = start_server(directory.path(), "none", &[]);
    let ours = server_info(&server, None);
    runtime.block_on(seed_messages(&ours));
    let mut rows = vec![measure_row(runtime, "this server", &ours, server.child.id(), true)];
    for start in [start_rmcp_openapi as fn(&std::path::Path, &std::path::Path, &Server) -> Result<Peer, String>, start_fastmcp] {
        match start(&root, &peers_dir, &server) {
            Ok(peer) => rows.push(measure_row(runtime, peer.name, &peer.info, peer.child.id(), false)),
            Err(reason) => println!("a peer skipped: {reason}"),
        }
    }
    print_rows(&rows, &root, &peers_dir);
}

fn measure_row(runtime: &tokio::runtime::Runtime, name: &'static str, info: &Arc<ServerInfo>, pid: u32, sandbox_inside: bool) -> Row {
    println!("measuring {name}");
    let get = runtime.block_on(measure_mcp(info, Operation::GetMessages, 64));
    let get_single = runtime.block_on(measure_mcp(info, Operation::GetMessages, 1));
    let send = runtime.block_on(measure_mcp(info, Operation::SendMessage, 64));
    // This server's process also runs the sandbox: its share, measured with direct SDK calls,
    // is taken off so that every row counts only the MCP server's own work.
    let cpu_of = |operation| {
        let through_mcp = runtime.block_on(cpu::per_call(info, pid, operation, true));
        let sandbox = if sandbox_inside { runtime.block_on(cpu::per_call(info, pid, operation, false)) } else { 0.0 };
        through_mcp - sandbox
    };
    let (cpu_get_ms, cpu_send_ms) = (cpu_of(Operation::GetMessages), cpu_of(Operation::SendMessage));
    let (tools_list_bytes, page) = runtime.block_on(listing_and_page(info));
    Row {
        name,
        get_per_second: get.per_second,
        send_per_second: send.per_second,
        get_p50_ms: ms(get_single.p50),
        cpu_get_ms,
        cpu_send_ms,
        tools_list_bytes,
        page,
    }
}

/// The bytes of `tools/list`'s tools as compact JSON, and one page of 50 messages.
async fn listing_and_page(info: &Arc<ServerInfo>) -> (usize, PageSize) {
    let mut session = open_session(info.address, info.bearer.clone()).await;
    let listing = session.request("tools/list", json!({})).await;
    let tools_list_bytes = listing["tools"].to_string().len();
    let (tool, arguments) = info.naming.call(Operation::GetMessages, &info.sender);
    let result = session.request("tools/call", json!({"name": tool, "arguments": arguments})).await;
    let text: String = result["content"].as_array().into_iter().flatten().filter_map(|block| block["text"].as_str()).collect();
    let structured = result.get("structuredContent").map(Value::to_string).unwrap_or_default();
    (tools_list_bytes, PageSize { text_bytes: text.len(), structured_bytes: structured.len(), text, structured })
}

fn start_rmcp_openapi(root: &std::path::Path, peers: &std::path::Path, server: &Server) -> Result<Peer, String> {
    // It reads only JSON specs.
    let spec = peers.join("clerk-chat.json");
    let converted = peers_py(root, peers, "json").arg(root.join("openapi/clerk-chat.yaml")).arg(&spec).status();
    if !converted.is_ok_and(|status| status.success()) {
        return Err("rmcp-openapi-server: the spec could not be converted to JSON".to_owned());
    }
    let port = free_port();
    let mut command = Command::new(peers.join("bin/rmcp-openapi-server"));
    command
        .arg(spec)
        .args(["--base-url", &server.sandbox_url, "--bind-address", "127.0.0.1", "--port", &port.to_string(), "--stateful"])
        .args(["--header", &format!("apiKey: {}", server.api_key.trim())]);
    start_peer("rmcp-openapi-server 0.32", command, port, server, Naming::OperationIds { body_as_one_argument: true })
}

fn start_fastmcp(root: &std::path::Path, peers: &std::path::Path, server: &Server) -> Result<Peer, String> {
    let port = free_port();
    let mut command = peers_py(root, peers, "fastmcp");
    command.arg(root.join("openapi/clerk-chat.yaml"));
    command.args([&server.sandbox_url, server.api_key.trim(), &port.to_string()]);
    start_peer("FastMCP 4.2 from_openapi", command, port, server, Naming::OperationIds { body_as_one_argument: false })
}

/// Starts a peer and waits until it answers MCP's `initialize`, for at most 60 s.
fn start_peer(name: &'static str, mut command: Command, port: u16, server: &Server, naming: Naming) -> Result<Peer, String> {
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().map_err(|error| format!("{name} does not start: {error}"))?;
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let info = server_info_at(server, address, None, naming);
    let peer = Peer { name, child, info };
    let started = Instant::now();
    while std::net::TcpStream::connect(address).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{name} did not listen on {address} within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(peer)
}

/// A port nothing listens on now, for a peer that cannot be told to pick one itself.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `peers.py COMMAND` run by the Python of `target/peers`.
fn peers_py(root: &std::path::Path, peers: &std::path::Path, command: &str) -> Command {
    let mut python = Command::new(peers.join("venv/bin/python"));
    python.arg(root.join("server/benches/mcp/peers.py")).arg(command);
    python
}

/// Tokens of each page's text and structured content, counted by `peers.py tokens`.
fn count_tokens(rows: &[Row], root: &std::path::Path, peers: &std::path::Path) -> Option<Vec<(usize, usize)>> {
    let mut texts = serde_json::Map::new();
    for (index, row) in rows.iter().enumerate() {
        texts.insert(format!("{index}.text"), json!(row.page.text));
        texts.insert(format!("{index}.structured"), json!(row.page.structured));
    }
    let mut child = peers_py(root, peers, "tokens")
        .env("TIKTOKEN_CACHE_DIR", peers.join("tiktoken-cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(Value::Object(texts).to_string().as_bytes()).ok()?;
    let counts: Value = serde_json::from_slice(&child.wait_with_output().ok()?.stdout).ok()?;
    let count = |key: String| counts[key].as_u64().map(|tokens| tokens as usize);
    (0..rows.len()).map(|index| Some((count(format!("{index}.text"))?, count(format!("{index}.structured"))?))).collect()
}

fn print_rows(rows: &[Row], root: &std::path::Path, peers: &std::path::Path) {
    let tokens = count_tokens(rows, root, peers);
    println!("side by side, against the same sandbox and its messages (CPU: the MCP server's process only):");
    println!(
        "{:<26} {:>9} {:>9} {:>8} {:>9} {:>9} {:>10} {:>11} {:>10} {:>11} {:>12}",
        "server",
        "get/s @64",
        "send/s @64",
        "get p50",
        "CPU get",
        "CPU send",
        "tools/list",
        "page text",
        "text tok",
        "structured",
        "struct. tok"
    );
    for (index, row) in rows.iter().enumerate() {
        let (text_tokens, structured_tokens) = tokens.as_ref().map_or((0, 0), |tokens| tokens[index]);
        println!(
            "{:<26} {:>9.0} {:>9.0} {:>6.2}ms {:>7.3}ms {:>7.3}ms {:>10} {:>11} {:>10} {:>11} {:>12}",
            row.name,
            row.get_per_second,
            row.send_per_second,
            row.get_p50_ms,
            row.cpu_get_ms,
            row.cpu_send_ms,
            row.tools_list_bytes,
            row.page.text_bytes,
            text_tokens,
            row.page.structured_bytes,
            structured_tokens
        );
    }
    let ours = &rows[0];
    for peer in &rows[1..] {
        println!(
            "this server / {}: get_messages calls/s at 64 {:.2}x, send_message {:.2}x; CPU per get_messages {:.2}x, per send_message {:.2}x; tools/list bytes {:.2}x",
            peer.name,
            ours.get_per_second / peer.get_per_second,
            ours.send_per_second / peer.send_per_second,
            ours.cpu_get_ms / peer.cpu_get_ms,
            ours.cpu_send_ms / peer.cpu_send_ms,
            ours.tools_list_bytes as f64 / peer.tools_list_bytes as f64,
        );
    }
    if tokens.is_none() {
        println!("(token counts skipped: tiktoken did not run)");
    }
}

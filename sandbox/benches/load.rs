//! Load benchmark of the sandbox: requests/s and p50/p99 latency of find messages and send
//! message at concurrency 1 and 32, beside `GET /healthz` (no database, no auth) measured in the
//! same run as the baseline. Run with `cargo bench -p clerk-sandbox --bench load`.
//!
//! The load comes from plain hyper HTTP/1.1 connections, one per worker, kept alive: a light
//! client, since client and sandbox share this machine's cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clerk_sandbox::{Sandbox, SandboxConfig};

const RUN_FOR: Duration = Duration::from_secs(4);

#[derive(Clone, Copy)]
enum Operation {
    Health,
    FindMessages,
    SendMessage,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Health => "GET /healthz (baseline)",
            Operation::FindMessages => "find messages (limit 50)",
            Operation::SendMessage => "send message",
        }
    }
}

struct Target {
    address: std::net::SocketAddr,
    /// The team that is read: it holds a fixed number of messages for the whole run.
    reader_key: String,
    /// The team that sends, so that sends do not grow the dataset the reads measure.
    sender_key: String,
    send_body: String,
}

/// Messages in the read team: every find returns a full page of 50 and counts them all.
const READ_TEAM_MESSAGES: usize = 1000;

type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

async fn connect(target: &Target) -> Connection {
    let stream = tokio::net::TcpStream::connect(target.address).await.expect("the sandbox accepts connections");
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    sender
}

async fn one_request(connection: &mut Connection, target: &Target, operation: Operation) {
    let key = if matches!(operation, Operation::SendMessage) { &target.sender_key } else { &target.reader_key };
    let builder = hyper::Request::builder().header("host", "127.0.0.1").header("apiKey", key);
    let request = match operation {
        Operation::Health => builder.uri("/healthz").body(Default::default()),
        Operation::FindMessages => builder.uri("/public/messages?limit=50").body(Default::default()),
        Operation::SendMessage => builder
            .method("POST")
            .uri("/public/messages")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(target.send_body.clone()))),
    }
    .unwrap();
    connection.ready().await.expect("the connection stays open");
    let response = connection.send_request(request).await.expect("the sandbox answers");
    assert!(response.status().is_success(), "{}", response.status());
    http_body_util::BodyExt::collect(response.into_body()).await.expect("the body arrives");
}

struct Measured {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn measure(target: Arc<Target>, operation: Operation, concurrency: usize) -> Measured {
    let mut connections = Vec::new();
    for _ in 0..concurrency {
        let mut connection = connect(&target).await;
        // Warm up the connection and the server's caches.
        for _ in 0..5 {
            one_request(&mut connection, &target, operation).await;
        }
        connections.push(connection);
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for mut connection in connections {
        let target = Arc::clone(&target);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < RUN_FOR {
                let request_started = Instant::now();
                one_request(&mut connection, &target, operation).await;
                latencies.push(request_started.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Measured { requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50: percentile(0.50), p99: percentile(0.99) }
}

fn main() {
    let directory = tempfile::tempdir().unwrap();
    // The sandbox gets its own runtime, as it would in its own process.
    let server_runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut config = SandboxConfig::new(directory.path().join("bench.db"));
    config.rate_limit_per_second = 0;
    let sandbox = server_runtime.block_on(Sandbox::start_with(config)).unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    let client_runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let senders = server_runtime.block_on(sandbox.create_team("Benchmark senders")).unwrap();
    let seeding = Target {
        address: sandbox.base_url().trim_start_matches("http://").parse().unwrap(),
        reader_key: team.api_key.clone(),
        sender_key: team.api_key.clone(),
        send_body: serde_json::json!({"sender": team.inboxes[0].phone, "recipients": ["+15559876543"], "body": "Benchmark message", "mediaUrls": []}).to_string(),
    };
    client_runtime.block_on(async {
        let mut connection = connect(&seeding).await;
        for _ in 0..READ_TEAM_MESSAGES {
            one_request(&mut connection, &seeding, Operation::SendMessage).await;
        }
    });
    let target = Arc::new(Target {
        sender_key: senders.api_key.clone(),
        send_body: serde_json::json!({"sender": senders.inboxes[0].phone, "recipients": ["+15559876543"], "body": "Benchmark message", "mediaUrls": []}).to_string(),
        ..seeding
    });
    println!(
        "sandbox load, {} s per row, finds over a team of {READ_TEAM_MESSAGES} messages, client and server on this machine's {} cores",
        RUN_FOR.as_secs(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("{:<28} {:>5} {:>10} {:>9} {:>9} {:>16}", "operation", "conc.", "req/s", "p50 ms", "p99 ms", "req/s vs healthz");
    for concurrency in [1, 32] {
        let baseline = client_runtime.block_on(measure(Arc::clone(&target), Operation::Health, concurrency));
        for operation in [Operation::Health, Operation::FindMessages, Operation::SendMessage] {
            let measured = if matches!(operation, Operation::Health) {
                Measured { ..baseline }
            } else {
                client_runtime.block_on(measure(Arc::clone(&target), operation, concurrency))
            };
            println!(
                "{:<28} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>15.2}x",
                operation.name(),
                concurrency,
                measured.requests_per_second,
                measured.p50.as_secs_f64() * 1000.0,
                measured.p99.as_secs_f64() * 1000.0,
                measured.requests_per_second / baseline.requests_per_second
            );
        }
    }
    finds_as_history_grows(&client_runtime, &target, &directory.path().join("bench.db"), &team.team_id);
    server_runtime.block_on(sandbox.shutdown());
}

/// A team's history, grown to this many messages, for the last rows.
const GROWN_TEAM_MESSAGES: i64 = 100_000;

/// A find of 50 at 1,000 messages and again once the same team holds 100,000: what a page
/// costs as a team's history grows. The messages are copied in with SQL beside the running
/// sandbox (sending 99,000 through HTTP would take minutes), which its triggers see as inserts.
fn finds_as_history_grows(runtime: &tokio::runtime::Runtime, target: &Arc<Target>, database: &std::path::Path, team: &str) {
    let at_first = runtime.block_on(measure(Arc::clone(target), Operation::FindMessages, 1));
    runtime.block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut connection).await.unwrap();
        loop {
            let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE team_id = ?").bind(team).fetch_one(&mut connection).await.unwrap();
            if held >= GROWN_TEAM_MESSAGES {
                break;
            }
            sqlx::query(
                "INSERT INTO messages (team_id, inbox_id, conversation_id, campaign_id, inbound, media_urls, provider, created, sent_at, done_at, final_status, fixed_json, final_fields_json)
                 SELECT team_id, inbox_id, conversation_id, campaign_id, inbound, media_urls, provider, created, sent_at, done_at, final_status, fixed_json, final_fields_json
                 FROM messages WHERE team_id = ? LIMIT ?",
            )
            .bind(team)
            .bind((GROWN_TEAM_MESSAGES - held).min(held))
            .execute(&mut connection)
            .await
            .unwrap();
        }
    });
    let grown = runtime.block_on(measure(Arc::clone(target), Operation::FindMessages, 1));
    println!(
        "find messages (limit 50), 1 session: p50 {:.2} ms at {READ_TEAM_MESSAGES} messages, {:.2} ms at {GROWN_TEAM_MESSAGES}: {:.2}x",
        at_first.p50.as_secs_f64() * 1000.0,
        grown.p50.as_secs_f64() * 1000.0,
        grown.p50.as_secs_f64() / at_first.p50.as_secs_f64()
    );
}

//! What the safety of sends costs: sends with idempotency keys, and sends checked by the
//! repeat guard, against sends with no check at all, in the same run; then the load of the
//! issue that made them: 32 sessions x 2,000 keyed sends retrying 10% of calls (half of the
//! retries while the first call is still in flight), where exactly one message per key must
//! reach Clerk Chat and no call may fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Operation, ServerInfo, measure_mcp, ms, open_session, server_info, start_server};

/// Sessions and sends of the load with retries.
const LOAD_SESSIONS: usize = 32;
const LOAD_SENDS_PER_SESSION: usize = 2_000;

/// Sends with a key and with the repeat guard against sends with no check, on fresh servers.
pub(super) fn safe_sends_against_none(runtime: &tokio::runtime::Runtime) {
    let unchecked_directory = tempfile::tempdir().unwrap();
    let (unchecked_server, _) = start_server(unchecked_directory.path(), "none", &["--repeat-window", "0"]);
    let unchecked = server_info(&unchecked_server, None);
    let guarded_directory = tempfile::tempdir().unwrap();
    let (guarded_server, _) = start_server(guarded_directory.path(), "none", &[]);
    let guarded = server_info(&guarded_server, None);
    println!();
    println!(
        "{:<5} {:>14} {:>9} {:>12} {:>9} {:>9} {:>15} {:>9} {:>9}",
        "conc.", "no check /s", "p50", "with key /s", "p50", "ratio", "repeat guard /s", "p50", "ratio"
    );
    for concurrency in [1, 32] {
        // No key on a server with `--repeat-window 0`: nothing is checked or stored. A fresh key
        // per send: a claim and a settle. No key with the default window: a read and a write.
        let nothing = runtime.block_on(measure_mcp(&unchecked, Operation::SendMessage, concurrency));
        let keyed = runtime.block_on(measure_mcp(&unchecked, Operation::KeyedSendMessage, concurrency));
        let repeat = runtime.block_on(measure_mcp(&guarded, Operation::SendMessage, concurrency));
        println!(
            "{:<5} {:>14.0} {:>9.2} {:>12.0} {:>9.2} {:>8.2}x {:>15.0} {:>9.2} {:>8.2}x",
            concurrency,
            nothing.per_second,
            ms(nothing.p50),
            keyed.per_second,
            ms(keyed.p50),
            keyed.per_second / nothing.per_second,
            repeat.per_second,
            ms(repeat.p50),
            repeat.per_second / nothing.per_second,
        );
    }
}

/// Every tenth call is retried: on even sends beside the first attempt (on a second session),
/// on odd ones after it answered. A fixed mix of the numbers, so that runs are repeatable.
fn retried(session: usize, send: usize) -> Option<bool> {
    (session * 7919 + send * 104_729).is_multiple_of(10).then_some(send.is_multiple_of(2))
}

/// One worker of the load: its sends, with their retries. Returns (calls, retries).
async fn keyed_worker(server: Arc<ServerInfo>, worker: usize, with_keys: bool) -> (usize, usize) {
    let mut session = open_session(server.address, None).await;
    let mut beside = open_session(server.address, None).await;
    let (mut calls, mut retries) = (0, 0);
    for send in 0..LOAD_SENDS_PER_SESSION {
        let mut arguments =
            serde_json::json!({"sender": server.sender, "recipients": ["+15559876543"], "body": format!("Load {worker}/{send}")});
        if !with_keys {
            session.call_tool("send_message", &arguments).await;
            calls += 1;
            continue;
        }
        arguments["idempotency_key"] = serde_json::json!(format!("load-{worker}-{send}"));
        match retried(worker, send) {
            None => {
                session.call_tool("send_message", &arguments).await;
                calls += 1;
            }
            Some(concurrently) => {
                let (first, retry) = if concurrently {
                    tokio::join!(session.call_tool_result("send_message", &arguments), beside.call_tool_result("send_message", &arguments))
                } else {
                    let first = session.call_tool_result("send_message", &arguments).await;
                    (first, session.call_tool_result("send_message", &arguments).await)
                };
                assert_eq!(first, retry, "a retry answers the first call's result");
                calls += 2;
                retries += 1;
            }
        }
    }
    (calls, retries)
}

async fn message_total(server: &ServerInfo) -> i64 {
    server.sdk.find_messages().limit(std::num::NonZeroU32::new(1).unwrap()).send().await.unwrap().into_inner().total
}

/// The load with retries, then the same sends without keys (and without retries) on the same
/// server: messages upstream must equal the keys, and the rate with keys is set against it.
pub(super) fn keyed_sends_with_retries(runtime: &tokio::runtime::Runtime) {
    let directory = tempfile::tempdir().unwrap();
    let (server, _) = start_server(directory.path(), "none", &[]);
    let info = server_info(&server, None);
    let run = |with_keys: bool| {
        runtime.block_on(async {
            let before = message_total(&info).await;
            let started = Instant::now();
            let workers: Vec<_> = (0..LOAD_SESSIONS)
                .map(|worker| tokio::spawn(keyed_worker(Arc::clone(&info), worker + if with_keys { 0 } else { LOAD_SESSIONS }, with_keys)))
                .collect();
            let (mut calls, mut retries) = (0, 0);
            for worker in workers {
                let (worker_calls, worker_retries) = worker.await.unwrap();
                calls += worker_calls;
                retries += worker_retries;
            }
            let elapsed = started.elapsed();
            let sent = message_total(&info).await - before;
            (calls, retries, sent, elapsed)
        })
    };
    let (keyed_calls, retries, keyed_sent, keyed_elapsed) = run(true);
    let (plain_calls, _, plain_sent, plain_elapsed) = run(false);
    let keys = LOAD_SESSIONS * LOAD_SENDS_PER_SESSION;
    assert_eq!(keyed_sent as usize, keys, "exactly one message per key reached Clerk Chat");
    assert_eq!(plain_sent as usize, keys);
    let rate = |calls: usize, elapsed: Duration| calls as f64 / elapsed.as_secs_f64();
    println!();
    println!(
        "{LOAD_SESSIONS} sessions x {LOAD_SENDS_PER_SESSION} keyed sends, {retries} retried ({} beside the first call): {keyed_calls} calls in {:.1} s ({:.0} calls/s), {keyed_sent} messages upstream for {keys} keys, 0 errors",
        retries / 2,
        keyed_elapsed.as_secs_f64(),
        rate(keyed_calls, keyed_elapsed)
    );
    println!(
        "the same {keys} sends without keys: {plain_calls} calls in {:.1} s ({:.0} calls/s); sends with keys run at {:.2}x that rate",
        plain_elapsed.as_secs_f64(),
        rate(plain_calls, plain_elapsed),
        rate(keyed_calls, keyed_elapsed) / rate(plain_calls, plain_elapsed)
    );
}

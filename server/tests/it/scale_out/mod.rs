//! Scale out: three replicas of the real binary behind HAProxy (round robin, no stickiness)
//! on one PostgreSQL database and one standalone sandbox. A user signs in through the balancer
//! with rmcp's OAuth client, so that every step may land on another replica; 32 sessions (half
//! legacy, half 2026-07-28) call tools through it; a revocation reaches every replica within a
//! second; a replica killed mid-load loses and duplicates nothing once clients retry with
//! their idempotency keys; a rolling restart under load fails no call.

mod cluster;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::common::browser::{Browser, redirect_location};
use crate::common::{self, text_of};
use cluster::Cluster;

const SESSIONS: usize = 32;
/// Calls per session while a replica is killed.
const CRASH_STEPS: usize = 20;
const CALLBACK: &str = "http://127.0.0.1:47000/callback";

/// Signs in through the balancer with rmcp's OAuth client (discovery, registration, consent
/// with the team's key, code exchange), refreshes once, and returns the access token.
async fn sign_in_with_rmcp(cluster: &Cluster) -> String {
    let mut state = OAuthState::new(cluster.mcp_url(), None).await.expect("rmcp discovers the server through the balancer");
    let scopes: Vec<&str> = clerk_chat::tools::TOOLS.iter().map(|tool| tool.scope).collect();
    state.start_authorization(AuthorizationRequest::new(CALLBACK).with_client_name("scale-out test").with_scopes(scopes)).await.unwrap();
    let browser = Browser::new(cluster.base.clone());
    let page = browser.open_consent(&state.get_authorization_url().await.unwrap()).await;
    let answer = browser.submit(&page, &[("decision", "allow"), ("api_key", &cluster.team.api_key)]).await;
    state.handle_callback_url(&redirect_location(&answer)).await.expect("the code is exchanged");
    let manager = state.into_authorization_manager().expect("signed in");
    manager.refresh_token().await.expect("the refresh token works through the balancer");
    manager.get_access_token().await.unwrap()
}

type Client = RunningService<RoleClient, ()>;

/// A session through the balancer: legacy (initialize, Mcp-Session-Id) or 2026-07-28
/// (stateless, no session).
async fn connect(url: &str, token: &str, legacy: bool) -> Result<Client, String> {
    common::http();
    let transport =
        StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(url).auth_header(token.to_owned()));
    let connected = if legacy {
        ().serve(transport).await
    } else {
        ().serve_with_lifecycle(transport, ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] }).await
    };
    connected.map_err(|error| format!("connect: {error}"))
}

/// How a phase went.
#[derive(Debug, Default)]
struct Tally {
    calls: AtomicUsize,
    transport_failures: AtomicUsize,
    tool_failures: AtomicUsize,
    /// Calls that never succeeded, after retries where the phase allows them.
    failed_calls: AtomicUsize,
    samples: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn failure(&self, counter: &AtomicUsize, what: String) {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut samples = self.samples.lock().unwrap();
        if samples.len() < 5 {
            samples.push(what);
        }
    }

    fn line(&self, phase: &str) -> String {
        format!(
            "{phase}: {} calls, {} failed for good; attempts failed: {} transport, {} tool error; e.g. {:?}",
            self.calls.load(Ordering::SeqCst),
            self.failed_calls.load(Ordering::SeqCst),
            self.transport_failures.load(Ordering::SeqCst),
            self.tool_failures.load(Ordering::SeqCst),
            self.samples.lock().unwrap()
        )
    }
}

/// The work of one call: a read on even steps, a keyed send on odd ones.
fn step(phase: &str, session: usize, step: usize, sender: &str) -> (&'static str, Value) {
    if step.is_multiple_of(2) {
        ("search_contacts", json!({"query": "Ada"}))
    } else {
        let body = format!("{phase} {session}/{step}");
        ("send_message", json!({"sender": sender, "recipients": ["+15559876543"], "body": body, "idempotency_key": body}))
    }
}

/// One session making calls until `steps` are done or `stop` is set. With `retry`, a failed
/// call is tried again (same idempotency key), on a new session when the old one broke.
async fn run_session(url: String, token: String, phase: &'static str, session: usize, plan: Plan, tally: Arc<Tally>) {
    let legacy = session < SESSIONS / 2;
    let mut client = None;
    for number in 0.. {
        if number >= plan.steps || plan.stop.as_ref().is_some_and(|stop| stop.load(Ordering::SeqCst)) {
            break;
        }
        let (tool, arguments) = step(phase, session, number, &plan.sender);
        tally.calls.fetch_add(1, Ordering::SeqCst);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = match &client {
                Some(client) => call(client, tool, &arguments).await,
                None => match tokio::time::timeout(CALL_TIMEOUT, connect(&url, &token, legacy)).await {
                    Ok(Ok(connected)) => {
                        client = Some(connected);
                        continue;
                    }
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(format!("connect: no answer within {CALL_TIMEOUT:?}")),
                },
            };
            match outcome {
                Ok(Ok(())) => break,
                Ok(Err(tool_error)) => tally.failure(&tally.tool_failures, format!("{tool}: {tool_error}")),
                Err(transport) => {
                    tally.failure(&tally.transport_failures, format!("{tool}: {transport}"));
                    client = None;
                }
            }
            if !plan.retry || attempts >= 40 {
                tally.failed_calls.fetch_add(1, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    if let Some(client) = client {
        let _ = client.cancel().await;
    }
}

/// How long a client waits for a call's answer, as real clients bound their requests: a call
/// in flight on a replica that dies may never be answered on its stream.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The outer error is the transport's (or the wait's), the inner the tool's own.
async fn call(client: &Client, tool: &str, arguments: &Value) -> Result<Result<(), String>, String> {
    let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.as_object().unwrap().clone());
    match tokio::time::timeout(CALL_TIMEOUT, client.call_tool(request)).await {
        Ok(Ok(result)) if result.is_error == Some(true) => Ok(Err(text_of(&result))),
        Ok(Ok(_)) => Ok(Ok(())),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
    }
}

#[derive(Clone)]
struct Plan {
    steps: usize,
    retry: bool,
    stop: Option<Arc<AtomicBool>>,
    sender: String,
}

/// Runs `SESSIONS` sessions of `plan` at once, and their tally.
fn start_phase(cluster: &Cluster, token: &str, phase: &'static str, plan: Plan) -> (Arc<Tally>, tokio::task::JoinHandle<()>) {
    let tally = Arc::new(Tally::default());
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|session| tokio::spawn(run_session(cluster.mcp_url(), token.to_owned(), phase, session, plan.clone(), tally.clone())))
        .collect();
    let all = tokio::spawn(async move {
        for session in sessions {
            session.await.unwrap();
        }
    });
    (tally, all)
}

/// How long until every replica refuses the token, each asked directly.
async fn revocation_reaches_every_replica(cluster: &Cluster, token: &str) -> Duration {
    let started = Instant::now();
    for replica in &cluster.replicas {
        let url = format!("http://127.0.0.1:{}/mcp", replica.port);
        while common::initialize_status(&url, Some(token)).await.0 != 401 {
            assert!(started.elapsed() < Duration::from_secs(1), "replica {} still accepts a revoked token after 1 s", replica.port);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    started.elapsed()
}

/// A sign-in revoked through the balancer is refused by every replica within a second: the
/// report line.
async fn revocation_phase(cluster: &Cluster) -> String {
    let answer = [("decision", "allow"), ("api_key", cluster.team.api_key.as_str())];
    let (client_id, tokens) = Browser::new(cluster.base.clone()).sign_in(&answer).await;
    let revoked_token = tokens["access_token"].as_str().unwrap();
    for replica in &cluster.replicas {
        let url = format!("http://127.0.0.1:{}/mcp", replica.port);
        assert_eq!(common::initialize_status(&url, Some(revoked_token)).await.0, 200, "the new sign-in works on every replica");
    }
    let revoke = common::http()
        .post(format!("{}/revoke", cluster.base))
        .form(&[("token", tokens["refresh_token"].as_str().unwrap()), ("client_id", &client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 200);
    let delay = revocation_reaches_every_replica(cluster, revoked_token).await;
    format!("revocation refused by all 3 replicas after {delay:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_serve_every_request_on_any_replica() {
    let mut cluster = Cluster::start(3).await;
    let token = sign_in_with_rmcp(&cluster).await;
    let sender = cluster.sender();
    let plan = |steps, retry, stop| Plan { steps, retry, stop, sender: sender.clone() };
    let mut report = Vec::new();

    // Steady load: every call works, legacy sessions move between replicas.
    let (steady, running) = start_phase(&cluster, &token, "steady", plan(10, false, None));
    running.await.unwrap();
    report.push(steady.line("steady load, 32 sessions x 10 calls"));
    assert_eq!(steady.failed_calls.load(Ordering::SeqCst), 0, "{}", steady.line("steady"));
    let continued = cluster.logs().matches("continuing an MCP session opened by another replica").count();
    assert!(continued >= SESSIONS / 2, "legacy sessions continued on other replicas {continued} times");
    report.push(format!("legacy sessions continued on another replica: {continued} times"));

    report.push(revocation_phase(&cluster).await);

    // A replica killed mid-load: retried calls with their keys send each message once.
    let before = crate::safe_sends::message_total(&cluster.sandbox, &cluster.team.api_key).await;
    let (crash, running) = start_phase(&cluster, &token, "crash", plan(CRASH_STEPS, true, None));
    // Killed a quarter of the way in, with calls (sends among them) in flight on every replica.
    let waiting = Instant::now();
    while crash.calls.load(Ordering::SeqCst) < SESSIONS * CRASH_STEPS / 4 {
        assert!(waiting.elapsed() < Duration::from_secs(60), "{}", crash.line("the crash load does not progress"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done_at_kill = crash.calls.load(Ordering::SeqCst);
    cluster.replicas[1].kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.replicas[1].start();
    cluster.replicas[1].wait_ready().await;
    running.await.unwrap();
    report.push(crash.line(&format!("kill -9 of a replica after {done_at_kill} of {} calls began, then restart", SESSIONS * CRASH_STEPS)));
    assert!(done_at_kill < SESSIONS * CRASH_STEPS, "the kill came mid-load");
    assert_eq!(crash.failed_calls.load(Ordering::SeqCst), 0, "{}", crash.line("crash"));
    // The team's outbound messages, read once: how many copies each key's text has.
    let mut copies = std::collections::HashMap::<String, usize>::new();
    for message in crate::safe_sends::outbound_messages(&cluster.sandbox, &cluster.team.api_key).await {
        *copies.entry(message["body"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    let mut per_key = std::collections::BTreeMap::<usize, usize>::new();
    for session in 0..SESSIONS {
        for number in (1..CRASH_STEPS).step_by(2) {
            *per_key.entry(copies.get(&format!("crash {session}/{number}")).copied().unwrap_or(0)).or_default() += 1;
        }
    }
    let sent = crate::safe_sends::message_total(&cluster.sandbox, &cluster.team.api_key).await - before;
    let keys = SESSIONS * CRASH_STEPS / 2;
    report.push(format!("messages per key after the crash (copies: keys): {per_key:?}; {sent} sent for {keys} keys"));
    assert_eq!(per_key, [(1, keys)].into_iter().collect(), "0 lost, 0 duplicated");
    assert_eq!(sent as usize, keys);

    // A rolling restart under load: SIGTERM, wait, start, one replica after another.
    let stop = Arc::new(AtomicBool::new(false));
    let (rolling, running) = start_phase(&cluster, &token, "rolling", plan(usize::MAX, false, Some(stop.clone())));
    for index in 0..cluster.replicas.len() {
        cluster.replicas[index].terminate().await;
        cluster.replicas[index].start();
        cluster.replicas[index].wait_ready().await;
        // HAProxy's checks see it ready again before the next one stops.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::SeqCst);
    running.await.unwrap();
    report.push(rolling.line("rolling restart of 3 replicas under load"));
    println!("scale-out figures:\n  {}", report.join("\n  "));
    assert_eq!(rolling.failed_calls.load(Ordering::SeqCst), 0, "{}", rolling.line("rolling"));
    assert!(rolling.calls.load(Ordering::SeqCst) > SESSIONS, "calls ran during the restart");
}

//! The safety of sends through a real server on a sandbox the test controls (so that it can
//! count what reached Clerk Chat and make Clerk Chat answer late): idempotency keys, the
//! repeat guard, unknown outcomes and their reconciliation, and confirmation of broadcasts.

mod confirmation;
mod idempotency;
mod load;
mod repeats;
mod unknown_outcomes;

use clerk_mcp::RunningServer;
use clerk_sandbox::{Sandbox, SandboxConfig, TeamSeed};
use serde_json::{Value, json};

use crate::common;

/// A sandbox with its seeded team, and a server calling it with that team's key.
pub(crate) struct OnSandbox {
    pub(crate) sandbox: Sandbox,
    pub(crate) team: TeamSeed,
    pub(crate) server: RunningServer,
    /// Holds both databases; removed when the test ends.
    _directory: tempfile::TempDir,
}

/// A standalone sandbox (no rate limit) in a new directory.
pub(crate) async fn standalone_sandbox(directory: &std::path::Path) -> (Sandbox, TeamSeed) {
    let mut config = SandboxConfig::new(directory.join("upstream.db"));
    config.rate_limit_per_second = 0;
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    (sandbox, team)
}

/// A server with `args` on a standalone sandbox.
pub(crate) async fn on_sandbox(args: &[&str]) -> OnSandbox {
    let directory = tempfile::tempdir().unwrap();
    let (sandbox, team) = standalone_sandbox(directory.path()).await;
    let mut command_line = vec!["--upstream", sandbox.base_url()];
    command_line.extend(args);
    let mut settings = common::settings(directory.path(), &command_line);
    settings.api_key = Some(team.api_key.clone());
    let server = clerk_mcp::start_http(&settings).await.unwrap_or_else(|error| panic!("{error}"));
    OnSandbox { sandbox, team, server, _directory: directory }
}

impl OnSandbox {
    /// The team's first number, to send from.
    pub(crate) fn sender(&self) -> String {
        self.team.inboxes[0].phone.clone()
    }

    /// Every sent message with this text, read from the sandbox itself.
    pub(crate) async fn sent_with_body(&self, body: &str) -> Vec<Value> {
        sent_with_body(&self.sandbox, &self.team.api_key, body).await
    }

    /// Queues a fault for the team's next request (`POST /sandbox/faults`).
    pub(crate) async fn queue_fault(&self, fault: Value) {
        queue_fault(&self.sandbox, &self.team.api_key, fault).await;
    }

    pub(crate) async fn shutdown(self) {
        self.server.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// Every outbound message of the team with this text, over all pages.
pub(crate) async fn sent_with_body(sandbox: &Sandbox, api_key: &str, body: &str) -> Vec<Value> {
    outbound_messages(sandbox, api_key).await.into_iter().filter(|message| message["body"] == body).collect()
}

/// Every outbound message of the team, over all pages.
pub(crate) async fn outbound_messages(sandbox: &Sandbox, api_key: &str) -> Vec<Value> {
    let mut found = Vec::new();
    for page in 1.. {
        let answer = messages_page(sandbox, api_key, &format!("limit=50&page={page}")).await;
        found.extend(answer["data"].as_array().unwrap().iter().filter(|message| message["inbound"] == false).cloned());
        if answer["links"]["next"].is_null() {
            break;
        }
    }
    found
}

/// How many messages the team has in all, sent and received.
pub(crate) async fn message_total(sandbox: &Sandbox, api_key: &str) -> u64 {
    messages_page(sandbox, api_key, "limit=1").await["total"].as_u64().unwrap()
}

/// `GET /public/messages?QUERY` of the team, as JSON.
async fn messages_page(sandbox: &Sandbox, api_key: &str, query: &str) -> Value {
    common::http()
        .get(format!("{}/public/messages?{query}", sandbox.base_url()))
        .header("apiKey", api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn queue_fault(sandbox: &Sandbox, api_key: &str, fault: Value) {
    let answer =
        common::http().post(format!("{}/sandbox/faults", sandbox.base_url())).header("apiKey", api_key).json(&fault).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 201, "the fault {fault} is queued");
}

/// `send_message` arguments from `sender` to one number.
pub(crate) fn message(sender: &str, body: &str) -> Value {
    json!({"sender": sender, "recipients": ["+15559876543"], "body": body})
}

/// `arguments` with an idempotency key.
pub(crate) fn with_key(mut arguments: Value, key: &str) -> Value {
    arguments["idempotency_key"] = json!(key);
    arguments
}

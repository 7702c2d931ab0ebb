//! Unknown outcomes: Clerk Chat takes the message but answers after `--upstream-timeout`. The
//! call says its outcome is unknown; a retry looks the message up and sends nothing, with a
//! key or (within the repeat window) without one, also after the server was killed.

use serde_json::{Value, json};

use super::{message, on_sandbox, queue_fault, sent_with_body, standalone_sandbox, with_key};
use crate::common::spawned::SpawnedServer;
use crate::common::{call, connect, ok, tool_error};

/// A late answer to the next send: later than the one-second `--upstream-timeout` of these
/// tests. Only a POST meets it, so the test's own reads of the messages pass it by.
fn late_answer() -> Value {
    json!({"delay_ms": 2500, "method": "POST"})
}

#[tokio::test]
async fn a_retry_after_an_unknown_outcome_finds_the_message_instead_of_sending_it_again() {
    let test = on_sandbox(&["--upstream-timeout", "1"]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.sender();

    test.queue_fault(late_answer()).await;
    let text = tool_error(call(&client, "send_message", with_key(message(&sender, "Late answer"), "late-1")).await);
    assert!(text.contains("the outcome is unknown") && text.contains("Retry with the same idempotency_key"), "{text}");
    let stored = test.sent_with_body("Late answer").await;
    assert_eq!(stored.len(), 1, "Clerk Chat took the message although no answer came back");

    let retry = ok(call(&client, "send_message", with_key(message(&sender, "Late answer"), "late-1")).await);
    assert_eq!(retry["data"]["id"], stored[0]["id"], "the retry answers the message it found");
    assert!(retry["outcome"].as_str().unwrap().contains("Nothing was sent again"), "{retry}");
    let again = ok(call(&client, "send_message", with_key(message(&sender, "Late answer"), "late-1")).await);
    assert_eq!(again, retry, "from then on the key answers the found result");
    assert_eq!(test.sent_with_body("Late answer").await.len(), 1, "nothing was sent twice");

    // Without a key, the repeat guard does the same within its window.
    test.queue_fault(late_answer()).await;
    let text = tool_error(call(&client, "send_message", message(&sender, "Late, no key")).await);
    assert!(text.contains("the outcome is unknown") && text.contains("Retry with the same arguments within 10 minute(s)"), "{text}");
    let retry = ok(call(&client, "send_message", message(&sender, "Late, no key")).await);
    assert!(retry["outcome"].is_string(), "{retry}");
    assert_eq!(test.sent_with_body("Late, no key").await.len(), 1);
    client.cancel().await.unwrap();
    test.shutdown().await;
}

#[tokio::test]
async fn the_lookup_survives_a_kill_between_the_calls_and_a_kill_during_one() {
    let directory = tempfile::tempdir().unwrap();
    let (sandbox, team) = standalone_sandbox(directory.path()).await;
    let sender = team.inboxes[0].phone.clone();
    let mut server = SpawnedServer::start(
        &["--auth", "none", "--upstream", sandbox.base_url(), "--upstream-timeout", "1"],
        &[("CLERK_API_KEY", team.api_key.as_str())],
    );

    queue_fault(&sandbox, &team.api_key, late_answer()).await;
    let (client, _) = connect(&format!("{}/mcp", server.base)).await;
    let text = tool_error(call(&client, "send_message", with_key(message(&sender, "Killed between"), "crash-1")).await);
    assert!(text.contains("the outcome is unknown"), "{text}");
    drop(client);
    server.kill_and_restart();
    let (client, _) = connect(&format!("{}/mcp", server.base)).await;
    let retry = ok(call(&client, "send_message", with_key(message(&sender, "Killed between"), "crash-1")).await);
    assert!(retry["outcome"].is_string(), "the key outlived the process: {retry}");
    assert_eq!(sent_with_body(&sandbox, &team.api_key, "Killed between").await.len(), 1);

    // Killed while the call waits for Clerk Chat: the key is left in flight, with no one to
    // finish it. A retry waits until the call is plainly dead, then looks the message up.
    queue_fault(&sandbox, &team.api_key, json!({"delay_ms": 900, "method": "POST"})).await;
    let in_flight = {
        let url = format!("{}/mcp", server.base);
        let sender = sender.clone();
        tokio::spawn(async move {
            let (client, _) = connect(&url).await;
            client
                .call_tool(
                    rmcp::model::CallToolRequestParams::new("send_message")
                        .with_arguments(with_key(message(&sender, "Killed during"), "crash-2").as_object().unwrap().clone()),
                )
                .await
        })
    };
    while sent_with_body(&sandbox, &team.api_key, "Killed during").await.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill_and_restart();
    // The client of the killed process may keep trying to resume its stream; it is done with.
    in_flight.abort();
    let (client, _) = connect(&format!("{}/mcp", server.base)).await;
    let retry = ok(call(&client, "send_message", with_key(message(&sender, "Killed during"), "crash-2")).await);
    assert!(retry["outcome"].is_string(), "{retry}");
    assert_eq!(sent_with_body(&sandbox, &team.api_key, "Killed during").await.len(), 1, "nothing was sent twice");
    client.cancel().await.unwrap();
    drop(server);
    sandbox.shutdown().await;
}

//! Idempotency keys: a retry answers the first result and sends nothing; the same key with
//! other arguments is refused; concurrent calls with one key send once; the cost of a send.

use serde_json::json;

use super::{message, on_sandbox, with_key};
use crate::common::{call, connect, ok, tool_error};

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_first_result_and_sends_nothing() {
    let test = on_sandbox(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.sender();

    let first = ok(call(&client, "send_message", with_key(message(&sender, "Key test"), "order-1001")).await);
    let retry = ok(call(&client, "send_message", with_key(message(&sender, "Key test"), "order-1001")).await);
    assert_eq!(first, retry, "the retry's result is the first call's, status and all");
    assert_eq!(test.sent_with_body("Key test").await.len(), 1, "one message reached Clerk Chat");
    assert_eq!(first["cost"], json!({"segments": 1, "encoding": "GSM-7", "characters": 8, "recipients": 1}));

    // The same key in another session of the same account is the same key.
    let (other_session, _) = connect(&test.server.mcp_url()).await;
    let again = ok(call(&other_session, "send_message", with_key(message(&sender, "Key test"), "order-1001")).await);
    assert_eq!(again["data"]["id"], first["data"]["id"]);

    let text = tool_error(call(&client, "send_message", with_key(message(&sender, "Key test, edited"), "order-1001")).await);
    assert!(
        text.contains("nothing was sent") && text.contains("\"order-1001\" was already used for a call with other arguments"),
        "{text}"
    );
    assert!(test.sent_with_body("Key test, edited").await.is_empty(), "the other text was not sent");

    // A fresh key sends the same text again, on purpose.
    ok(call(&client, "send_message", json!({"sender": sender, "recipients": ["+15559876543"], "body": "Key test", "idempotency_key": "order-1002", "allow_repeat": true})).await);
    assert_eq!(test.sent_with_body("Key test").await.len(), 2);

    let empty = tool_error(call(&client, "send_message", with_key(message(&sender, "Key test"), "")).await);
    assert!(empty.contains("idempotency_key"), "an empty key is refused by the schema: {empty}");
    client.cancel().await.unwrap();
    other_session.cancel().await.unwrap();
    test.shutdown().await;
}

#[tokio::test]
async fn concurrent_calls_with_one_key_send_one_message() {
    let test = on_sandbox(&["--sandbox-delivery-delay-ms", "100"]).await;
    let url = test.server.mcp_url();
    let sender = test.sender();
    let calls = (0..8).map(|_| {
        let (url, sender) = (url.clone(), sender.clone());
        tokio::spawn(async move {
            let (client, _) = connect(&url).await;
            let result = ok(call(&client, "send_message", with_key(message(&sender, "Concurrent key"), "same-key")).await);
            client.cancel().await.unwrap();
            result
        })
    });
    let results: Vec<_> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    assert!(results.iter().all(|result| result == &results[0]), "every call answers the one result: {results:?}");
    assert_eq!(test.sent_with_body("Concurrent key").await.len(), 1, "one message reached Clerk Chat");
    test.shutdown().await;
}

#[tokio::test]
async fn the_cost_says_when_a_character_doubles_it() {
    let test = on_sandbox(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let body = format!("{} 🎉", "Sale starts now!".repeat(5));
    let sent =
        ok(call(&client, "send_message", json!({"sender": test.sender(), "recipients": ["+15559876543", "+15559876544"], "body": body}))
            .await);
    assert_eq!(sent["cost"], json!({"segments": 2, "encoding": "UCS-2", "characters": 83, "recipients": 2}));
    assert_eq!(sent["data"]["segments"], 2, "the runtime's count is the sandbox's");
    let campaign =
        ok(call(&client, "create_campaign", json!({"sender": test.sender(), "list_name": "Demo customers", "body": "Hi €"})).await);
    assert_eq!(campaign["cost"], json!({"segments": 1, "encoding": "GSM-7", "characters": 5}));
    client.cancel().await.unwrap();
    test.shutdown().await;
}

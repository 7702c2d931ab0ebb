//! The repeat guard: an identical send without a key within the window is refused with the
//! earlier message's id and time; `allow_repeat` sends it; after the window it sends.

use std::time::Duration;

use serde_json::json;

use super::{message, on_sandbox};
use crate::common::{call, connect, ok, tool_error};

#[tokio::test]
async fn an_identical_send_within_the_window_is_refused_until_allowed_or_the_window_passes() {
    let test = on_sandbox(&["--repeat-window", "2"]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.sender();
    let two_recipients = |first: &str, second: &str| json!({"sender": sender, "recipients": [first, second], "body": "Repeat test"});

    let first = ok(call(&client, "send_message", two_recipients("+15559876543", "+15559876544")).await);
    let id = first["data"]["id"].to_string();
    // The same people in another order are the same send.
    let text = tool_error(call(&client, "send_message", two_recipients("+15559876544", "+15559876543")).await);
    assert!(text.contains("nothing was sent: an identical call (same sender, recipients, body)"), "{text}");
    assert!(text.contains(&format!("id {id}")) && text.contains("allow_repeat: true"), "{text}");
    assert_eq!(test.sent_with_body("Repeat test").await.len(), 1);

    let mut on_purpose = two_recipients("+15559876543", "+15559876544");
    on_purpose["allow_repeat"] = json!(true);
    ok(call(&client, "send_message", on_purpose).await);
    assert_eq!(test.sent_with_body("Repeat test").await.len(), 2, "allow_repeat sends it again");

    // Another text, or another recipient, is not a repeat.
    ok(call(&client, "send_message", message(&sender, "Repeat test")).await);
    assert_eq!(test.sent_with_body("Repeat test").await.len(), 3);

    tokio::time::sleep(Duration::from_millis(2200)).await;
    ok(call(&client, "send_message", two_recipients("+15559876543", "+15559876544")).await);
    assert_eq!(test.sent_with_body("Repeat test").await.len(), 4, "after the window it sends");
    client.cancel().await.unwrap();
    test.shutdown().await;
}

#[tokio::test]
async fn an_identical_campaign_is_refused_and_a_zero_window_turns_the_guard_off() {
    let test = on_sandbox(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let campaign = json!({"sender": test.sender(), "list_name": "Demo customers", "body": "Campaign repeat", "name": "First"});
    let first = ok(call(&client, "create_campaign", campaign.clone()).await);
    let mut renamed = campaign.clone();
    renamed["name"] = json!("Second");
    let text = tool_error(call(&client, "create_campaign", renamed).await);
    assert!(
        text.contains("same list_name, sender, body") && text.contains(&format!("id {}", first["data"]["id"])),
        "the name is not part of what makes a campaign the same: {text}"
    );
    client.cancel().await.unwrap();
    test.shutdown().await;

    let test = on_sandbox(&["--repeat-window", "0"]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    for _ in 0..2 {
        ok(call(&client, "send_message", message(&test.sender(), "No guard")).await);
    }
    assert_eq!(test.sent_with_body("No guard").await.len(), 2);
    client.cancel().await.unwrap();
    test.shutdown().await;
}

//! `find_messages().stream()` against a sandbox: every message once, newest first, across
//! pages, ending after the last page; a failed page ends the stream with its error.

use std::collections::HashSet;

use clerk_chat::types::SendMessageRequest;
use clerk_chat::{ApiKey, Client, ClientOptions, RetryPolicy};
use futures::{StreamExt, TryStreamExt};

#[tokio::test]
async fn a_stream_yields_every_message_once_across_pages_and_ends_after_the_last() {
    let sandbox = clerk_sandbox::Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().expect("a fresh sandbox has its demo team").clone();
    let client = Client::with_api_key(sandbox.base_url(), &ApiKey::new(team.api_key.as_str()).unwrap()).unwrap();
    for number in 0..120 {
        let request = SendMessageRequest::builder()
            .sender(team.inboxes[0].phone.as_str())
            .recipients(vec!["+15559876543".parse().unwrap()])
            .body(format!("message {number}"));
        client.send_message().body(request).send().await.unwrap();
    }

    let messages: Vec<_> = client.find_messages().limit(50).stream().try_collect().await.unwrap();
    assert_eq!(messages.len(), 120, "three pages: 50, 50 and 20");
    assert_eq!(messages.iter().map(|message| message.id).collect::<HashSet<_>>().len(), 120, "no message twice");
    assert_eq!(messages[0].body, "message 119", "newest first");
    let exact: Vec<_> = client.find_messages().limit(40).stream().try_collect().await.unwrap();
    assert_eq!(exact.len(), 120, "a last page that is full ends the stream too");

    // A failed page: the sandbox answers the team's next request with 503, and a client that
    // does not retry meets it.
    sandbox.queue_fault(&team.api_key, clerk_sandbox::Fault::Status(503)).unwrap();
    let options = ClientOptions::default().retry_policy(RetryPolicy::none());
    let once = Client::with_options(sandbox.base_url(), &ApiKey::new(team.api_key.as_str()).unwrap(), &options).unwrap();
    let mut stream = once.find_messages().stream();
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(503), "{error}");
    assert!(stream.next().await.is_none(), "the stream ends with the error");
    sandbox.shutdown().await;
}

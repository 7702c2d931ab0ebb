//! Many sessions sending with keys while retrying some calls, some of them while the first is
//! still in flight: exactly one message per key reaches Clerk Chat, and no call fails. (The
//! benchmark runs the full 32 x 2,000; this is its shape at a size CI runs in seconds.)

use serde_json::json;

use super::{message_total, on_sandbox};
use crate::common::{call, connect, ok};

const SESSIONS: usize = 32;
const SENDS_PER_SESSION: usize = 20;

/// Every tenth call is retried: on even ones at once, beside the first attempt; on odd ones
/// after it answered. Chosen by a fixed mix of the numbers, so runs are repeatable.
fn retried(session: usize, send: usize) -> Option<bool> {
    let mixed = (session * 7919 + send * 104_729) % 10;
    (mixed == 0).then_some(send.is_multiple_of(2))
}

#[tokio::test]
async fn retries_under_load_send_each_keyed_message_once() {
    let test = on_sandbox(&["--sandbox-delivery-delay-ms", "50"]).await;
    let before = message_total(&test.sandbox, &test.team.api_key).await;
    let url = test.server.mcp_url();
    let sender = test.sender();
    let sessions = (0..SESSIONS).map(|session| {
        let (url, sender) = (url.clone(), sender.clone());
        tokio::spawn(async move {
            let (client, _) = connect(&url).await;
            let mut retries = 0;
            for send in 0..SENDS_PER_SESSION {
                let arguments = json!({
                    "sender": sender, "recipients": ["+15559876543"], "body": format!("Load {session}/{send}"),
                    "idempotency_key": format!("load-{session}-{send}")
                });
                match retried(session, send) {
                    None => {
                        ok(call(&client, "send_message", arguments).await);
                    }
                    Some(concurrently) => {
                        retries += 1;
                        let (first, retry) = if concurrently {
                            tokio::join!(call(&client, "send_message", arguments.clone()), call(&client, "send_message", arguments.clone()))
                        } else {
                            let first = call(&client, "send_message", arguments.clone()).await;
                            (first, call(&client, "send_message", arguments).await)
                        };
                        assert_eq!(ok(first), ok(retry), "a retry answers the first result");
                    }
                }
            }
            client.cancel().await.unwrap();
            retries
        })
    });
    let retries: usize = futures::future::join_all(sessions).await.into_iter().map(Result::unwrap).sum();
    assert!(retries >= SESSIONS * SENDS_PER_SESSION / 20, "enough retries ran: {retries}");
    let sent = message_total(&test.sandbox, &test.team.api_key).await - before;
    assert_eq!(sent as usize, SESSIONS * SENDS_PER_SESSION, "one message per key ({retries} retries)");
    test.shutdown().await;
}

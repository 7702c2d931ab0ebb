//! What the SDK retries, against a sandbox with queued faults: a read after a 503 or a 429
//! (waiting as `Retry-After` asks), never a send, nothing with `RetryPolicy::none()`, and
//! nothing past the budget.

use std::time::{Duration, Instant};

use clerk_chat::types::SendMessageRequest;
use clerk_chat::{ApiKey, Client, ClientOptions, RetryPolicy};
use clerk_sandbox::{Fault, Sandbox};

fn client(sandbox: &Sandbox, policy: RetryPolicy) -> Client {
    let key = ApiKey::new(sandbox.seeded_team().unwrap().api_key.as_str()).unwrap();
    Client::with_options(sandbox.base_url(), &key, &ClientOptions::default().retry_policy(policy)).unwrap()
}

#[tokio::test]
async fn reads_are_retried_sends_never() {
    let sandbox = Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    let retrying = client(&sandbox, RetryPolicy::default().first_backoff(Duration::from_millis(10)));

    sandbox.queue_fault(&team.api_key, Fault::Status(503)).unwrap();
    retrying.find_messages().send().await.expect("a read after one 503 is retried");

    sandbox.queue_fault(&team.api_key, Fault::Status(429)).unwrap();
    let started = Instant::now();
    retrying.search_contacts().send().await.expect("a read after a 429 is retried");
    assert!(started.elapsed() >= Duration::from_secs(1), "the sandbox's 429 says Retry-After: 1");

    sandbox.queue_fault(&team.api_key, Fault::Status(503)).unwrap();
    let send =
        SendMessageRequest::builder().sender(team.inboxes[0].phone.as_str()).recipients(vec!["+15559876543".parse().unwrap()]).body("hi");
    let error = retrying.send_message().body(send).send().await.unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(503), "a send is not retried: {error}");
    let sent = retrying.find_messages().send().await.unwrap();
    assert_eq!(sent.total, 0, "and nothing was sent");

    let not_retrying = client(&sandbox, RetryPolicy::none());
    sandbox.queue_fault(&team.api_key, Fault::Status(502)).unwrap();
    let error = not_retrying.find_messages().send().await.unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(502), "{error}");

    // Within the budget: 200 ms, 400 ms, ... of backoff cannot fit a third attempt in 500 ms.
    let budgeted = client(
        &sandbox,
        RetryPolicy::default().max_retries(10).first_backoff(Duration::from_millis(200)).budget(Duration::from_millis(500)),
    );
    for _ in 0..5 {
        sandbox.queue_fault(&team.api_key, Fault::Status(503)).unwrap();
    }
    let error = budgeted.find_messages().send().await.unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(503), "{error}");
    let mut left = 0;
    while not_retrying.find_messages().send().await.is_err() {
        left += 1;
    }
    assert!((2..=3).contains(&left), "the budget stopped the retries with {left} of 5 faults left");
    sandbox.shutdown().await;
}

//! What a failed call tells through `ErrorExt`: Clerk Chat's messages and whether a retry can
//! help, for a refusal, a busy upstream and an unreachable one.

use clerk_chat::types::SendMessageRequest;
use clerk_chat::{ApiKey, Client, ClientOptions, ErrorExt, RetryPolicy};
use clerk_sandbox::{Fault, Sandbox};

#[tokio::test]
async fn a_failure_says_why_and_whether_to_retry() {
    let sandbox = Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    let options = ClientOptions::default().retry_policy(RetryPolicy::none());
    let client = Client::with_options(sandbox.base_url(), &ApiKey::new(team.api_key.as_str()).unwrap(), &options).unwrap();

    let foreign_sender = SendMessageRequest::builder().sender("+15550009999").recipients(vec!["+15559876543".parse().unwrap()]).body("hi");
    let refused = client.send_message().body(foreign_sender).send().await.unwrap_err();
    assert!(!refused.is_retryable(), "{refused}");
    let messages = refused.messages();
    assert!(!messages.is_empty() && messages.iter().any(|message| message.contains("sender")), "{messages:?}");

    sandbox.queue_fault(&team.api_key, Fault::Status(503)).unwrap();
    let busy = client.find_messages().send().await.unwrap_err();
    assert!(busy.is_retryable() && busy.status().map(|status| status.as_u16()) == Some(503), "{busy}");
    sandbox.queue_fault(&team.api_key, Fault::Status(429)).unwrap();
    let limited = client.find_messages().send().await.unwrap_err();
    assert_eq!(limited.retry_after(), Some(std::time::Duration::from_secs(1)), "the sandbox's 429 asks for a second");
    assert_eq!(refused.retry_after(), None);

    let base_url = sandbox.base_url().to_owned();
    sandbox.shutdown().await;
    let gone =
        Client::with_options(&base_url, &ApiKey::new("ck_any").unwrap(), &options).unwrap().find_messages().send().await.unwrap_err();
    assert!(gone.is_retryable() && gone.messages().is_empty(), "{gone}");
}

#[test]
fn an_unusable_key_reads_as_its_message_even_when_main_prints_debug() {
    let empty = ApiKey::new("").unwrap_err();
    assert_eq!(format!("{empty:?}"), empty.to_string());
    assert!(format!("Error: {empty:?}").contains("the API key is empty; create one in Clerk Chat"), "{empty:?}");
}

#[test]
fn a_value_that_breaks_a_pattern_is_shown_with_what_was_expected() {
    let error = "+1 555".parse::<clerk_chat::types::PhoneNumber>().unwrap_err().to_string();
    assert_eq!(error, r#""+1 555" is not valid here: A phone number in E.164 format, such as +15551234567."#);
}

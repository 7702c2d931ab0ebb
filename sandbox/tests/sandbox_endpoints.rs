//! The sandbox's own endpoints (`/sandbox/...`) need a team's key and touch only that team,
//! contacts' emails are checked as the spec's `format: email` says, and a field a request does
//! not have is refused rather than dropped.

use serde_json::{Value, json};

use clerk_sandbox::{Sandbox, SandboxConfig};

async fn start() -> (Sandbox, String, tempfile::TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig::new(directory.path().join("sandbox.db"));
    config.rate_limit_per_second = 0;
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let key = sandbox.seeded_team().unwrap().api_key.clone();
    (sandbox, key, directory)
}

fn http() -> reqwest::Client {
    clerk_support::tls::install_crypto_provider();
    reqwest::Client::new()
}

async fn post(sandbox: &Sandbox, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = http().post(format!("{}{path}", sandbox.base_url())).json(&body);
    if let Some(key) = key {
        request = request.header("apiKey", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn teams_and_faults_need_a_key_and_a_fault_reaches_only_its_team() {
    let (sandbox, key, _directory) = start().await;
    assert_eq!(post(&sandbox, "/sandbox/teams", None, json!({"name": "Anonymous"})).await.0, 401);
    assert_eq!(post(&sandbox, "/sandbox/faults", None, json!({"status": 503})).await.0, 401);
    let (status, other) = post(&sandbox, "/sandbox/teams", Some(&key), json!({"name": "Other team"})).await;
    assert_eq!(status, 201, "{other}");
    let other_key = other["api_key"].as_str().unwrap();

    let (status, queued) = post(&sandbox, "/sandbox/faults", Some(&key), json!({"status": 503, "count": 1})).await;
    assert_eq!((status, queued["queued"].as_u64()), (201, Some(1)));
    let messages = |key: String| http().get(format!("{}/public/messages", sandbox.base_url())).header("apiKey", key).send();
    assert_eq!(messages(other_key.to_owned()).await.unwrap().status().as_u16(), 200, "another team is not affected");
    assert_eq!(messages(key.clone()).await.unwrap().status().as_u16(), 503, "the team that queued it gets it");
    assert_eq!(messages(key.clone()).await.unwrap().status().as_u16(), 200, "once");

    let (status, refused) = post(&sandbox, "/sandbox/faults", Some(&key), json!({"status": 500, "count": 1000})).await;
    assert_eq!(status, 201, "{refused}");
    let (status, refused) = post(&sandbox, "/sandbox/faults", Some(&key), json!({"status": 500, "count": 1})).await;
    assert_eq!(status, 422, "at most 1,000 queued: {refused}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_late_answer_fault_takes_effect_then_answers_late_and_meets_only_its_method() {
    let (sandbox, key, _directory) = start().await;
    let inbox = sandbox.seeded_team().unwrap().inboxes[0].phone.clone();
    for bad in [json!({"status": 503, "delay_ms": 100}), json!({"delay_ms": 0}), json!({"delay_ms": 100, "method": "TRACE"})] {
        let (status, error) = post(&sandbox, "/sandbox/faults", Some(&key), bad.clone()).await;
        assert_eq!(status, 422, "{bad} is refused: {error}");
    }
    let (status, _) = post(&sandbox, "/sandbox/faults", Some(&key), json!({"delay_ms": 1500, "method": "POST"})).await;
    assert_eq!(status, 201);
    // A GET passes the fault by; it waits for the next POST.
    let read = http().get(format!("{}/public/messages", sandbox.base_url())).header("apiKey", &key).send().await.unwrap();
    assert_eq!(read.status().as_u16(), 200);
    let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_millis(300)).build().unwrap();
    let send = impatient
        .post(format!("{}/public/messages", sandbox.base_url()))
        .header("apiKey", &key)
        .json(&json!({"sender": inbox, "recipients": ["+15559876543"], "body": "Answered late", "mediaUrls": []}))
        .send()
        .await;
    assert!(send.unwrap_err().is_timeout(), "the answer came after the client gave up");
    let page: Value =
        http().get(format!("{}/public/messages", sandbox.base_url())).header("apiKey", &key).send().await.unwrap().json().await.unwrap();
    assert!(page["data"].as_array().unwrap().iter().any(|message| message["body"] == "Answered late"), "yet the message was taken");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_contact_email_must_be_an_email_address() {
    let (sandbox, key, _directory) = start().await;
    let (status, error) = post(&sandbox, "/public/contacts", Some(&key), json!({"name": "Ada", "email": "not-an-email"})).await;
    assert_eq!(status, 422);
    assert!(error["message"][0].as_str().unwrap().contains("email must be an email address"), "{error}");
    let (status, created) = post(&sandbox, "/public/contacts", Some(&key), json!({"name": "Ada", "email": "ada@example.com"})).await;
    assert_eq!(status, 201, "{created}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_field_the_request_does_not_have_is_refused_with_the_closest_name() {
    let (sandbox, key, _directory) = start().await;
    let sender = sandbox.seeded_team().unwrap().inboxes[0].phone.clone();
    let body = json!({"sender": sender, "list_name": "VIPs", "body": "hi", "mediaUrls": []});
    let (status, error) = post(&sandbox, "/public/campaigns", Some(&key), body).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("list_name is not a field of this request; did you mean `listName`?"), "{error}");
    let batch = json!({"contacts": [{"name": "Ada", "externalId": "crm-1"}]});
    let (status, error) = post(&sandbox, "/public/contacts/batch", Some(&key), batch).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("contacts.0.externalId is not a field of this request"), "{error}");
    sandbox.shutdown().await;
}

/// `Sandbox::start` and `queue_fault`, as an SDK user's tests use them: a fault is refused by
/// name when it cannot be queued, and a queued one meets only the team's next request.
#[tokio::test]
async fn a_test_sandbox_starts_in_one_call_and_queues_faults_as_methods() {
    let sandbox = clerk_sandbox::Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().expect("a fresh sandbox has its demo team").clone();
    let wrong_key = sandbox.queue_fault("ck_nobody", clerk_sandbox::Fault::Status(503)).unwrap_err();
    assert!(matches!(wrong_key, clerk_sandbox::SandboxError::UnknownApiKey), "{wrong_key}");
    let not_a_fault = sandbox.queue_fault(&team.api_key, clerk_sandbox::Fault::Status(404)).unwrap_err();
    assert_eq!(not_a_fault.to_string(), "cannot queue the fault: a fault's status is 429 or 500-599");
    let too_late = sandbox.queue_fault(&team.api_key, clerk_sandbox::Fault::LateAnswer(std::time::Duration::ZERO)).unwrap_err();
    assert!(too_late.to_string().contains("1 ms to 10 minutes"), "{too_late}");

    sandbox.queue_fault(&team.api_key, clerk_sandbox::Fault::Status(429)).unwrap();
    let messages = format!("{}/public/messages", sandbox.base_url());
    let first = http().get(&messages).header("apiKey", &team.api_key).send().await.unwrap();
    assert_eq!(first.status().as_u16(), 429);
    let second = http().get(&messages).header("apiKey", &team.api_key).send().await.unwrap();
    assert_eq!(second.status().as_u16(), 200, "one fault meets one request");
    sandbox.shutdown().await;
}

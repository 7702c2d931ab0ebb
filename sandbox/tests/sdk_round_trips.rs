//! Every operation of the spec through the typed SDK against a running sandbox, including the
//! error statuses the spec documents.

use std::num::NonZeroU32;
use std::time::Duration;

use clerk_chat::types::{self, MessageStatus};
use clerk_chat::{ApiKey, Client, ClientOptions, Error, RetryPolicy};
use clerk_sandbox::{FAILING_NUMBER, Sandbox, SandboxConfig, TeamSeed};

struct Running {
    sandbox: Sandbox,
    team: TeamSeed,
    client: Client,
    _directory: tempfile::TempDir,
}

async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Running {
    let directory = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig::new(directory.path().join("sandbox.db"));
    config.delivery_delay = Duration::from_millis(100);
    config.rate_limit_per_second = 0;
    configure(&mut config);
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let team = sandbox.seeded_team().expect("a new database is seeded").clone();
    let client = client_for(&sandbox, &team.api_key);
    Running { sandbox, team, client, _directory: directory }
}

async fn start() -> Running {
    start_with(|_| {}).await
}

/// An SDK client that retries nothing: these tests check the sandbox's own answers.
fn client_for(sandbox: &Sandbox, key: &str) -> Client {
    let options = ClientOptions::default().retry_policy(RetryPolicy::none());
    Client::with_options(sandbox.base_url(), &ApiKey::new(key).unwrap(), &options).unwrap()
}

/// A plain HTTP client, for requests the typed SDK refuses to build.
fn raw_http() -> reqwest::Client {
    clerk_support::tls::install_crypto_provider();
    reqwest::Client::new()
}

fn status_of<T: std::fmt::Debug>(error: Error<T>) -> u16 {
    error.status().unwrap_or_else(|| panic!("expected an HTTP error status, got {error:?}")).as_u16()
}

fn message_of(error: Error<types::ErrorResponse>) -> String {
    match error {
        Error::ErrorResponse(response) => match response.into_inner().message {
            Some(types::ErrorResponseMessage::String(text)) => text,
            Some(types::ErrorResponseMessage::Array(items)) => items.join("; "),
            None => String::new(),
        },
        other => panic!("expected a documented error response, got {other:?}"),
    }
}

fn sms(sender: &str, recipients: &[&str], body: &str) -> types::builder::SendMessageRequest {
    types::SendMessageRequest::builder()
        .sender(sender)
        .recipients(recipients.iter().map(|recipient| recipient.parse().unwrap()).collect::<Vec<_>>())
        .body(body)
}

#[tokio::test]
async fn send_then_find_a_message_and_watch_it_get_delivered() {
    let running = start().await;
    let sender = &running.team.inboxes[0].phone;
    let sent = running.client.send_message().body(sms(sender, &["+15559876543"], "Your appointment is confirmed")).send().await.unwrap();
    assert_eq!(sent.status().as_u16(), 201);
    let message = sent.into_inner().data;
    assert_eq!(message.status, MessageStatus::Sending);
    assert_eq!(message.segments, Some(1));
    assert_eq!(message.members, vec![sender.clone(), "+15559876543".to_owned()]);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let page = running.client.find_messages().limit(NonZeroU32::new(10).unwrap()).send().await.unwrap().into_inner();
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].id, message.id);
    assert_eq!(page.data[0].status, MessageStatus::Delivered);
    assert!(page.links.next.is_none() && page.links.prev.is_none());
}

#[tokio::test]
async fn the_reserved_number_fails_and_says_why() {
    let running = start().await;
    let sent = running
        .client
        .send_message()
        .body(sms(&running.team.inboxes[0].phone, &[FAILING_NUMBER], "hi"))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let page = running.client.find_messages().send().await.unwrap().into_inner();
    let message = page.data.iter().find(|message| message.id == sent.id).unwrap();
    assert_eq!(message.status, MessageStatus::Failed);
    assert!(message.error.as_deref().unwrap().contains("reserved for failures"));
}

#[tokio::test]
async fn segments_follow_the_encoding() {
    let running = start().await;
    let sender = &running.team.inboxes[0].phone;
    let long_gsm = "a".repeat(161);
    let emoji = format!("{}👋", "a".repeat(69));
    for (body, expected) in [(long_gsm.as_str(), 2), (emoji.as_str(), 2), ("Hi €", 1)] {
        let message = running.client.send_message().body(sms(sender, &["+15559876543"], body)).send().await.unwrap().into_inner().data;
        assert_eq!(message.segments, Some(expected), "{body}");
    }
}

#[tokio::test]
async fn pages_link_to_each_other() {
    let running = start().await;
    let sender = &running.team.inboxes[0].phone;
    for index in 0..5 {
        running.client.send_message().body(sms(sender, &["+15559876543"], &format!("message {index}"))).send().await.unwrap();
    }
    let two = NonZeroU32::new(2).unwrap();
    let page = running.client.find_messages().limit(two).page(two).send().await.unwrap().into_inner();
    assert_eq!((page.total, page.data.len()), (5, 2));
    assert_eq!(page.data[0].body, "message 2", "newest first");
    assert!(page.links.next.as_deref().unwrap().contains("page=3"));
    assert!(page.links.prev.as_deref().unwrap().contains("page=1"));
    let inbox: clerk_chat::types::InboxId = running.team.inboxes[1].id.parse().unwrap();
    let other_inbox = running.client.find_messages().inbox_ids(vec![inbox]).send().await.unwrap().into_inner();
    assert_eq!(other_inbox.total, 0);
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert_eq!(running.client.find_messages().start(future).send().await.unwrap().into_inner().total, 0);
}

#[tokio::test]
async fn contacts_are_created_searched_updated_and_deleted() {
    let running = start().await;
    let created = running
        .client
        .create_contact()
        .body(
            types::CreateContactRequest::builder()
                .name(Some("Jane Smith".parse().unwrap()))
                .phone(Some("+15551230000".parse::<types::PhoneNumber>().unwrap()))
                .email(Some("jane@example.com".parse().unwrap())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let contact = created.into_inner().data;
    let found = running.client.search_contacts().phone("+15551230000").send().await.unwrap().into_inner().data;
    assert_eq!(found.iter().map(|contact| contact.id.clone()).collect::<Vec<_>>(), vec![contact.id.clone()]);
    assert_eq!(running.client.search_contacts().query("jane").send().await.unwrap().into_inner().data.len(), 1);

    let mut data = serde_json::Map::new();
    data.insert("company".to_owned(), "Acme".into());
    let updated = running
        .client
        .update_contact()
        .id(contact.id.as_str())
        .body(types::UpdateContactRequest::builder().name(Some("Jane Q. Smith".parse().unwrap())).data(Some(types::ContactData(data))))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(updated.name.as_deref(), Some("Jane Q. Smith"));
    assert_eq!(updated.phone.as_deref(), Some("+15551230000"), "fields left out keep their value");
    assert_eq!(updated.data.unwrap().get("company"), Some(&serde_json::Value::from("Acme")));

    let deleted = running.client.delete_contact().id(contact.id.as_str()).send().await.unwrap().into_inner().data;
    assert_eq!(deleted.id, contact.id);
    let again = running.client.delete_contact().id(contact.id.as_str()).send().await.unwrap_err();
    assert_eq!(status_of(again), 404);
}

#[tokio::test]
async fn a_batch_is_created_whole_or_not_at_all() {
    let running = start().await;
    let entry = |name: &str, phone: &str| types::CreateContactRequest {
        name: Some(name.parse().unwrap()),
        phone: Some(phone.parse().unwrap()),
        email: None,
        public: None,
        data: None,
    };
    let batch = types::CreateContactsBatchRequest { contacts: vec![entry("A", "+15551230001"), entry("B", "+15551230002")] };
    let created = running.client.create_contacts_batch().body(batch).send().await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.into_inner().data.len(), 2);

    // The SDK refuses a bad phone itself, so send the bad batch as raw JSON.
    let http = raw_http();
    let response = http
        .post(format!("{}/public/contacts/batch", running.sandbox.base_url()))
        .header("apiKey", &running.team.api_key)
        .json(&serde_json::json!({"contacts": [{"name": "C", "phone": "+15551230003"}, {"name": "D", "phone": "555-0100"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"][0].as_str().unwrap().starts_with("contacts.1.phone must be a phone number in E.164 format"), "{body}");
    assert!(
        running
            .client
            .search_contacts()
            .query("C")
            .send()
            .await
            .unwrap()
            .into_inner()
            .data
            .iter()
            .all(|contact| contact.name.as_deref() != Some("C"))
    );
}

#[tokio::test]
async fn a_campaign_skips_opted_out_contacts() {
    let running = start().await;
    let request = types::CreateAndTriggerCampaignRequest::builder()
        .sender(running.team.inboxes[0].phone.as_str())
        .list_name(running.team.list_name.as_str())
        .body("Spring sale!")
        .provider(types::Provider::Telnyx);
    let campaign = running.client.create_and_trigger_campaign().body(request).send().await.unwrap().into_inner().data;
    assert_eq!(campaign.status, types::CampaignStatus::Sent);
    assert_eq!(campaign.recipient_count, Some(4), "five contacts, one opted out");
    let messages = running.client.find_messages().send().await.unwrap().into_inner().data;
    assert_eq!(messages.len(), 4);
    assert!(messages.iter().all(|message| message.campaign_id == Some(campaign.id)));
    assert!(messages.iter().all(|message| !message.members.contains(&running.team.opted_out_phone)));
}

#[tokio::test]
async fn a_scheduled_campaign_fires_at_its_time() {
    let running = start().await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(600);
    let request = types::CreateAndTriggerCampaignRequest::builder()
        .sender(running.team.inboxes[0].phone.as_str())
        .list_name(running.team.list_name.as_str())
        .body("Reminder")
        .timestamp(Some(at));
    let campaign = running.client.create_and_trigger_campaign().body(request).send().await.unwrap().into_inner().data;
    assert_eq!(campaign.status, types::CampaignStatus::Scheduled);
    assert_eq!(running.client.find_messages().send().await.unwrap().into_inner().total, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(running.client.find_messages().send().await.unwrap().into_inner().total, 4);
}

#[tokio::test]
async fn users_are_added_and_searched() {
    let running = start().await;
    let added = running
        .client
        .add_clerk_chat_user()
        .body(
            types::AddClerkChatUserRequest::builder()
                .email("ada@example.com")
                .first_name(Some("Ada".parse().unwrap()))
                .role(Some(types::UserRole::Agent)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    assert_eq!(added.into_inner().role, "agent");
    let found =
        running.client.search_clerk_chat_users().emails(vec!["ada@example.com".parse().unwrap()]).send().await.unwrap().into_inner();
    assert_eq!(found.total, 1);
    assert_eq!(found.data[0].role, Some(types::UserRole::Agent));
    assert_eq!(running.client.search_clerk_chat_users().send().await.unwrap().into_inner().total, 2, "the seeded owner and Ada");
    let duplicate = running
        .client
        .add_clerk_chat_user()
        .body(types::AddClerkChatUserRequest::builder().email("ada@example.com"))
        .send()
        .await
        .unwrap_err();
    assert!(message_of(duplicate).contains("already in this team"));
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401() {
    let running = start().await;
    let wrong = client_for(&running.sandbox, "ck_sandbox_not_a_key");
    assert_eq!(status_of(wrong.find_messages().send().await.unwrap_err()), 401);
    let response = raw_http().get(format!("{}/public/contacts", running.sandbox.base_url())).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn another_teams_contact_is_404_and_never_shown() {
    let running = start().await;
    let other = running.sandbox.create_team("Other team").await.unwrap();
    let other_client = client_for(&running.sandbox, &other.api_key);
    let theirs = other_client.search_contacts().send().await.unwrap().into_inner().data;
    assert_eq!(theirs.len(), 5);
    let ours = running.client.search_contacts().send().await.unwrap().into_inner().data;
    assert!(ours.iter().all(|contact| theirs.iter().all(|their| their.id != contact.id)));
    let target = theirs[0].id.as_str();
    assert_eq!(
        status_of(
            running
                .client
                .update_contact()
                .id(target)
                .body(types::UpdateContactRequest::builder().name(Some("mine".parse().unwrap())))
                .send()
                .await
                .unwrap_err()
        ),
        404
    );
    assert_eq!(status_of(running.client.delete_contact().id(target).send().await.unwrap_err()), 404);
    assert_eq!(other_client.search_contacts().send().await.unwrap().into_inner().data.len(), 5, "nothing of theirs changed");
    let their_inbox = &other.inboxes[0].phone;
    let error = running.client.send_message().body(sms(their_inbox, &["+15559876543"], "hi")).send().await.unwrap_err();
    assert!(message_of(error).contains("is not a number of this team"));
}

#[tokio::test]
async fn invalid_input_is_422_with_a_message() {
    let running = start().await;
    let http = raw_http();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", running.sandbox.base_url())).header("apiKey", &running.team.api_key).json(&body).send()
    };
    let sender = running.team.inboxes[0].phone.clone();
    let cases = [
        (
            "/public/messages",
            serde_json::json!({"sender": sender, "recipients": ["+1 555 0100"], "body": "hi", "mediaUrls": []}),
            "recipients.0 must be a phone number in E.164",
        ),
        (
            "/public/messages",
            serde_json::json!({"sender": 15551234567_u64, "recipients": ["+15559876543"], "body": "hi", "mediaUrls": []}),
            "not the number 15551234567",
        ),
        (
            "/public/messages",
            serde_json::json!({"sender": sender, "recipients": [], "body": "hi", "mediaUrls": []}),
            "recipients must contain at least 1 item",
        ),
        (
            "/public/messages",
            serde_json::json!({"sender": sender, "recipients": [running.team.opted_out_phone], "body": "hi", "mediaUrls": []}),
            "opted out",
        ),
        (
            "/public/campaigns",
            serde_json::json!({"sender": sender, "listName": "Demo customers", "body": "hi", "mediaUrls": [], "provider": "carrier-pigeon"}),
            "provider must be one of",
        ),
        ("/public/contacts", serde_json::json!({"phone": "5551234"}), "phone must be a phone number in E.164"),
    ];
    for (path, body, expected) in cases {
        let response = post(path, body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 422, "{body}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert!(answer.to_string().contains(expected), "{body} gave {answer}");
    }
    let response = running.client.find_messages().limit(NonZeroU32::new(51).unwrap()).send().await.unwrap_err();
    assert!(message_of(response).contains("limit must be an integer from 1 to 50"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let running = start().await;
    let response = raw_http()
        .post(format!("{}/public/contacts", running.sandbox.base_url()))
        .header("apiKey", &running.team.api_key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["statusCode"], 400);
}

#[tokio::test]
async fn a_team_over_its_rate_gets_429_and_others_do_not() {
    let running = start_with(|config| config.rate_limit_per_second = 5).await;
    let mut limited = 0;
    for _ in 0..30 {
        if let Err(error) = running.client.search_contacts().send().await {
            assert_eq!(status_of(error), 429);
            limited += 1;
        }
    }
    assert!(limited >= 15, "only {limited} of 30 were limited");
    let other = running.sandbox.create_team("Quiet team").await.unwrap();
    client_for(&running.sandbox, &other.api_key).search_contacts().send().await.expect("another team has its own budget");
}

#[tokio::test]
async fn mms_through_a_provider_without_mms_is_refused_with_the_reason() {
    let running = start().await;
    let request = types::CreateAndTriggerCampaignRequest::builder()
        .sender(running.team.inboxes[0].phone.as_str())
        .list_name(running.team.list_name.as_str())
        .body("See the photo")
        .media_urls(vec!["https://example.com/photo.jpg".parse::<types::MediaUrl>().unwrap()])
        .provider(types::Provider::NonVoip);
    let error = running.client.create_and_trigger_campaign().body(request).send().await.unwrap_err();
    assert!(message_of(error).contains("provider non_voip does not carry MMS"));
}

#[tokio::test]
async fn an_inbound_reply_shows_up_and_stop_opts_out() {
    let running = start().await;
    let http = raw_http();
    let contact_phone = running.client.search_contacts().query("Ada").send().await.unwrap().into_inner().data[0].phone.clone().unwrap();
    let inbound = http
        .post(format!("{}/sandbox/inbound", running.sandbox.base_url()))
        .header("apiKey", &running.team.api_key)
        .json(&serde_json::json!({"from": contact_phone, "to": running.team.inboxes[0].phone, "body": "STOP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(inbound.status().as_u16(), 201);
    let page = running.client.find_messages().send().await.unwrap().into_inner();
    assert_eq!(page.data[0].inbound, Some(true));
    assert_eq!(page.data[0].body, "STOP");
    let contact = running.client.search_contacts().phone(contact_phone.as_str()).send().await.unwrap().into_inner().data.remove(0);
    assert_eq!(contact.opt_out, Some(true));
}

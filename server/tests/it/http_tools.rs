//! Every tool over streamable HTTP with rmcp's client, against the embedded sandbox: happy
//! paths, bad input, provider selection, upstream failures, progress, and the tools/list snapshot.

use std::time::Duration;

use crate::common::{self, call, connect, ok, start, tool_error};
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, RequestMetaObject};
use serde_json::json;

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    let test = start(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let tools = client.list_all_tools().await.unwrap();
    let info = client.peer_info().unwrap().server_info.clone().expect("the server names itself");
    assert_eq!(info.name, "clerk");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    insta::assert_json_snapshot!("tools_list", tools);
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn every_tool_works_against_the_sandbox() {
    let test = start(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.server.sandbox_inboxes[0].phone.clone();

    let sent = ok(call(
        &client,
        "send_message",
        json!({"sender": sender, "recipients": ["+15559876543"], "body": "Your appointment is confirmed"}),
    )
    .await);
    assert_eq!(sent["data"]["status"], "sending");
    let message_id = sent["data"]["id"].clone();

    tokio::time::sleep(Duration::from_millis(350)).await;
    let messages = ok(call(&client, "get_messages", json!({"limit": 10})).await);
    assert_eq!(messages["total"], 1);
    assert_eq!(messages["data"][0]["id"], message_id);
    assert_eq!(messages["data"][0]["status"], "delivered");

    let contact = ok(call(
        &client,
        "create_contact",
        json!({"name": "Jane Smith", "phone": "+15551234567", "email": "jane@example.com", "data": {"tier": "gold"}}),
    )
    .await);
    let contact_id = contact["data"]["id"].as_str().unwrap().to_owned();
    let found = ok(call(&client, "search_contacts", json!({"phone": "+15551234567"})).await);
    assert_eq!(found["data"][0]["id"], contact_id.as_str());
    let updated = ok(call(&client, "update_contact", json!({"contact_id": contact_id, "name": "Jane Q. Smith"})).await);
    assert_eq!(updated["data"]["name"], "Jane Q. Smith");
    assert_eq!(updated["data"]["email"], "jane@example.com");
    let batch =
        ok(call(&client, "create_contacts_batch", json!({"contacts": [{"name": "A", "phone": "+15551230001"}, {"name": "B"}]})).await);
    assert_eq!(batch["data"].as_array().unwrap().len(), 2);
    let deleted = ok(call(&client, "delete_contact", json!({"contact_id": contact_id})).await);
    assert_eq!(deleted["data"]["id"], contact_id.as_str());

    let campaign =
        ok(call(&client, "create_campaign", json!({"sender": sender, "list_name": "Demo customers", "body": "Spring sale!"})).await);
    assert_eq!(campaign["data"]["status"], "sent");
    assert_eq!(campaign["data"]["recipientCount"], 4);

    let user = ok(call(&client, "add_user", json!({"email": "ada@example.com", "first_name": "Ada", "role": "agent"})).await);
    assert_eq!(user["role"], "agent");
    let users = ok(call(&client, "search_users", json!({"emails": ["ada@example.com"]})).await);
    assert_eq!(users["total"], 1);
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_that_say_how_to_fix_them() {
    let test = start(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.server.sandbox_inboxes[0].phone.clone();
    let text =
        tool_error(call(&client, "send_message", json!({"sender": sender, "recipients": ["+15559876543", "+1 555"], "body": "hi"})).await);
    assert!(text.contains("recipients[1] \"+1 555\" is not in the expected format"), "{text}");
    assert!(text.contains("such as +15551234567"), "{text}");
    let text = tool_error(call(&client, "get_messages", json!({"limit": 500})).await);
    assert!(text.contains("limit is 500, more than the maximum 50"), "{text}");
    let text = tool_error(call(&client, "update_contact", json!({"name": "x"})).await);
    assert!(text.contains("contact_id is missing"), "{text}");
    let text = tool_error(call(&client, "create_contact", json!({"name": "Ada", "email": "not-an-email"})).await);
    assert!(
        text.contains("\"not-an-email\" is not a valid email") && text.contains("ada@example.com"),
        "checked before anything is stored: {text}"
    );
    let text = tool_error(
        call(&client, "send_message", json!({"sender": sender, "recipients": ["+15559876543"], "body": "hi", "media": []})).await,
    );
    assert!(text.contains("unknown argument(s) `media`") && text.contains("`media` should probably be `media_urls`"), "{text}");
    // A business rule of the upstream: the answer carries its status and message.
    let text =
        tool_error(call(&client, "send_message", json!({"sender": "+15550000000", "recipients": ["+15559876543"], "body": "hi"})).await);
    assert!(text.contains("Clerk Chat answered 422 Unprocessable Entity: sender +15550000000 is not a number of this team"), "{text}");
    assert!(text.contains("will not help"), "{text}");
    let text = tool_error(call(&client, "delete_contact", json!({"contact_id": "ct_nope"})).await);
    assert!(text.contains("404 Not Found"), "{text}");
    // An unknown tool is a protocol error, and the session goes on.
    let unknown = client.call_tool(CallToolRequestParams::new("send_fax")).await;
    assert!(unknown.is_err());
    ok(call(&client, "search_contacts", json!({})).await);
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn provider_selection_follows_argument_then_route_then_default() {
    let test =
        start(&["--provider", "twilio,telnyx,bandwidth", "--default-provider", "bandwidth", "--provider-route", "+1200=telnyx"]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let tools = client.list_all_tools().await.unwrap();
    let campaign_tool = tools.iter().find(|tool| tool.name == "create_campaign").unwrap();
    assert_eq!(
        campaign_tool.input_schema["properties"]["provider"]["enum"],
        json!(["twilio", "bandwidth", "telnyx"]),
        "only enabled providers are offered"
    );

    let sender = test.server.sandbox_inboxes[0].phone.clone();
    assert!(sender.starts_with("+1200"), "the first sandbox team's numbers start with +1200: {sender}");
    let campaign = |provider: Option<&str>, sender: &str| {
        // The same campaign on purpose, over and over: past the repeat guard.
        let mut arguments = json!({"sender": sender, "list_name": "Demo customers", "body": "Hello", "allow_repeat": true});
        if let Some(provider) = provider {
            arguments["provider"] = json!(provider);
        }
        arguments
    };
    let explicit = ok(call(&client, "create_campaign", campaign(Some("twilio"), &sender)).await);
    assert_eq!(explicit["provider_selection"], json!({"provider": "twilio", "reason": "given as the `provider` argument"}));
    assert_eq!(explicit["data"]["provider"], "twilio");
    let routed = ok(call(&client, "create_campaign", campaign(None, &sender)).await);
    assert_eq!(routed["provider_selection"], json!({"provider": "telnyx", "reason": "the route for senders starting with +1200"}));
    assert_eq!(routed["data"]["provider"], "telnyx");
    let text = tool_error(call(&client, "create_campaign", campaign(Some("whatsapp"), &sender)).await);
    assert!(text.contains("provider \"whatsapp\" is not allowed") && text.contains("\"twilio\", \"bandwidth\", \"telnyx\""), "{text}");
    client.cancel().await.unwrap();
    test.server.shutdown().await;

    // Without a matching route the default applies.
    let test = start(&["--provider", "twilio,bandwidth", "--default-provider", "bandwidth"]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    let sender = test.server.sandbox_inboxes[0].phone.clone();
    let defaulted = ok(call(&client, "create_campaign", campaign(None, &sender)).await);
    assert_eq!(defaulted["provider_selection"], json!({"provider": "bandwidth", "reason": "the server's default provider"}));
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn progress_is_reported_when_the_client_asks() {
    let test = start(&[]).await;
    let (client, recorder) = connect(&test.server.mcp_url()).await;
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(ProgressToken(NumberOrString::String("batch-1".into())));
    let mut request = CallToolRequestParams::new("create_contacts_batch")
        .with_arguments(json!({"contacts": [{"name": "A"}]}).as_object().unwrap().clone());
    request.meta = Some(meta);
    let result = client.call_tool(request).await.unwrap();
    assert_ne!(result.is_error, Some(true));
    // Notifications travel on the same stream, before the result.
    let progress = recorder.progress.lock().unwrap().clone();
    assert_eq!(progress.iter().map(|note| note.progress).collect::<Vec<_>>(), vec![0.0, 1.0], "{progress:?}");
    // rmcp's client swaps the token for its request id; the server echoes whatever arrived.
    assert!(progress.iter().all(|note| note.progress_token == progress[0].progress_token), "{progress:?}");
    assert_eq!(progress[0].message.as_deref(), Some("sending create_contacts_batch to Clerk Chat"));
    // A tool the manifest does not mark for progress sends none.
    ok(call(&client, "search_contacts", json!({})).await);
    assert_eq!(recorder.progress.lock().unwrap().len(), 2);
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

/// Clerk Chat's answers are passed on as JSON, not parsed into types: one unlike the API's
/// description is refused with where it breaks the output schema, not shown to the model.
#[tokio::test]
async fn an_answer_unlike_the_api_description_is_refused_with_where_it_breaks() {
    let body = r#"{"data":[{"id":"c1","optOut":"sometimes","phone":null}]}"#;
    let (upstream, _) = common::upstream_answering(Duration::ZERO, body).await;
    let directory = tempfile::tempdir().unwrap();
    let mut settings = common::settings(directory.path(), &["--upstream", &upstream]);
    settings.api_key = Some("ck_test_key".to_owned());
    let server = clerk_mcp::start_http(&settings).await.unwrap();
    let (client, _) = connect(&server.mcp_url()).await;
    let text = tool_error(call(&client, "search_contacts", json!({})).await);
    assert!(text.contains("did not match its API description: at `/data/0/optOut` it breaks the schema's `type` rule"), "{text}");
    assert!(!text.contains("sometimes"), "what the upstream sent stays out of the message: {text}");
}

/// Upstream failures against a sandbox the test controls: 429, 5xx, and the sandbox gone.
#[tokio::test]
async fn upstream_failures_say_what_happened_and_whether_to_retry() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = clerk_sandbox::SandboxConfig::new(directory.path().join("upstream.db"));
    config.rate_limit_per_second = 0;
    let sandbox = clerk_sandbox::Sandbox::start_with(config).await.unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    let mut settings = common::settings(directory.path(), &["--upstream", sandbox.base_url()]);
    settings.api_key = Some(team.api_key.clone());
    let server = clerk_mcp::start_http(&settings).await.unwrap();
    let (client, _) = connect(&server.mcp_url()).await;
    ok(call(&client, "search_contacts", json!({})).await);

    let http = common::http();
    for (status, expected) in [(429, "429 Too Many Requests"), (503, "503 Service Unavailable"), (500, "500 Internal Server Error")] {
        let queued = http
            .post(format!("{}/sandbox/faults", sandbox.base_url()))
            .header("apiKey", &team.api_key)
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(queued.status().as_u16(), 201, "the team's own key queues a fault for it");
        let text = tool_error(call(&client, "get_messages", json!({})).await);
        assert!(text.contains(expected) && text.contains("Retrying after a short wait may help"), "{text}");
    }
    ok(call(&client, "get_messages", json!({})).await);

    sandbox.shutdown().await;
    let text = tool_error(call(&client, "get_messages", json!({})).await);
    assert!(text.contains("could not reach Clerk Chat: the connection was refused or failed"), "{text}");
    let text = tool_error(
        call(&client, "send_message", json!({"sender": team.inboxes[0].phone, "recipients": ["+15559876543"], "body": "hi"})).await,
    );
    assert!(text.contains("could not reach Clerk Chat"), "{text}");
    assert!(!text.contains(&team.api_key), "the key never appears in errors");
    client.cancel().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn readyz_says_whether_the_database_answers() {
    let database = clerk_store::testing::fresh_postgres_database().await;
    let clerk_store::DatabaseUrl::Postgres(url) = &database else { unreachable!("a PostgreSQL database") };
    let directory = tempfile::tempdir().unwrap();
    let settings = common::on_database(common::settings(directory.path(), &[]), database.clone());
    let server = clerk_mcp::start_http(&settings).await.unwrap();
    let test = common::TestServer { server, directory };
    let http = common::http();
    let readyz = || http.get(format!("http://{}/readyz", test.server.address)).header("host", "10.0.0.7:8080").send();
    let answer = readyz().await.unwrap();
    assert_eq!((answer.status().as_u16(), answer.text().await.unwrap()), (200, "ready".to_owned()), "probed by address, any Host");

    // The database goes away under the running server.
    let options = url.connect_options();
    let name = options.get_database().unwrap().to_owned();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options.database("postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut admin).await.unwrap();
    let answer = readyz().await.unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    assert_eq!(answer.text().await.unwrap(), "not ready: the database does not answer");
    let alive = http.get(format!("http://{}/healthz", test.server.address)).send().await.unwrap();
    assert_eq!(alive.status().as_u16(), 200, "yet the process is alive");
    test.server.shutdown().await;
}

#[tokio::test]
async fn healthz_and_dns_rebinding_protection() {
    let test = start(&[]).await;
    let http = common::http();
    let base = format!("http://{}", test.server.address);
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |host: &str, origin: Option<&str>| {
        let mut request =
            http.post(format!("{base}/mcp")).header("host", host).header("accept", "application/json, text/event-stream").json(&initialize);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(post("evil.example", None).await.unwrap().status().as_u16(), 403);
    assert_eq!(post("localhost", Some("https://evil.example")).await.unwrap().status().as_u16(), 403);
    let port = test.server.address.port();
    assert_eq!(post("localhost", Some(&format!("http://localhost:{port}"))).await.unwrap().status().as_u16(), 200);
    let answer = post("127.0.0.1", None).await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    // A 2025-06-18 client gets 2025-06-18: one endpoint serves every revision rmcp speaks.
    let body = answer.text().await.unwrap();
    assert!(body.contains(r#""protocolVersion":"2025-06-18""#), "{body}");
    let large = "x".repeat(2 * 1024 * 1024);
    let response = http
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(large)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413, "bodies over the limit are refused");
    test.server.shutdown().await;
}

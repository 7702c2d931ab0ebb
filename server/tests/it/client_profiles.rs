//! `--client`: each profile's tools/list, as a snapshot, and the server's own validation still
//! the authority: a rule a profile leaves out of the listed schema is enforced, and the error
//! says the rule was not shown.

use serde_json::{Value, json};

use crate::common;

/// The tools as the profile lists them, sorted by name.
async fn listed(profile: &str) -> Value {
    let test = common::start(&["--client", profile]).await;
    let (client, _) = common::connect(&test.server.mcp_url()).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut listed: Vec<Value> = tools
        .into_iter()
        .map(|tool| json!({"name": tool.name, "inputSchema": *tool.input_schema, "outputSchema": tool.output_schema.map(|schema| (*schema).clone())}))
        .collect();
    listed.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    client.cancel().await.unwrap();
    test.server.shutdown().await;
    Value::Array(listed)
}

#[tokio::test]
async fn each_profile_lists_its_schemas() {
    for profile in ["generic", "claude", "cursor", "openai", "gemini"] {
        let tools = listed(profile).await;
        insta::assert_json_snapshot!(format!("client_profile_{profile}"), tools);
    }
}

#[tokio::test]
async fn a_rule_the_profile_leaves_out_is_still_enforced_and_the_error_says_so() {
    // Gemini is not shown `additionalProperties: false`; a misspelt argument is still refused.
    let test = common::start(&["--client", "gemini"]).await;
    let (client, _) = common::connect(&test.server.mcp_url()).await;
    let refused = common::tool_error(common::call(&client, "get_messages", json!({"limt": 5})).await);
    assert!(refused.contains("unknown argument(s) `limt`"), "{refused}");
    assert!(refused.contains("leaves out; it still applies"), "{refused}");
    // A rule the profile shows is reported as usual.
    let generic = common::start(&[]).await;
    let (plain, _) = common::connect(&generic.server.mcp_url()).await;
    let usual = common::tool_error(common::call(&plain, "get_messages", json!({"limt": 5})).await);
    assert!(!usual.contains("it still applies"), "{usual}");
    for (client, server) in [(client, test), (plain, generic)] {
        client.cancel().await.unwrap();
        server.server.shutdown().await;
    }
}

#[tokio::test]
async fn openai_strict_clients_send_null_for_what_they_leave_out_and_are_understood() {
    let test = common::start(&["--client", "openai"]).await;
    let (client, _) = common::connect(&test.server.mcp_url()).await;
    let listed = client.list_all_tools().await.unwrap();
    let get_messages = listed.iter().find(|tool| tool.name == "get_messages").unwrap();
    let every: Vec<&str> = get_messages.input_schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(get_messages.input_schema["required"], json!(every), "strict mode: every property required");
    let nulls: serde_json::Map<String, Value> = every.iter().map(|name| ((*name).to_owned(), Value::Null)).collect();
    let page = common::ok(common::call(&client, "get_messages", Value::Object(nulls)).await);
    assert_eq!(page["total"], 0);
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

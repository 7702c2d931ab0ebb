//! Accounts apart: scopes limit what a token may call, each team sees only its own data, and an
//! MCP session answers only the account that opened it.

use super::*;

#[tokio::test]
async fn a_token_without_the_scope_cannot_send_and_teams_see_only_their_own_contacts() {
    let setup = setup().await;
    // Team A: the sandbox demo team, in one click, with read scopes only.
    let (_, team_a) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    // Team B: another sandbox team, signed in with its own API key.
    let team_b_key = setup.new_sandbox_team_key("Team B").await;
    let (_, team_b) = setup.sign_in("contacts:read contacts:write", &[("decision", "allow"), ("api_key", &team_b_key)]).await;
    assert_ne!(claims_of(&access(&team_a))["sub"], claims_of(&access(&team_b))["sub"], "two accounts");

    let response = common::http()
        .post(setup.test.server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(access(&team_a))
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "send_message", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"messages:send\""), "{challenge}");

    let b = setup.connect_with(&access(&team_b)).await;
    let made = b
        .call_tool(
            CallToolRequestParams::new("create_contact")
                .with_arguments(arguments(json!({"phone": "+15550001111", "name": "Zed Bravo-only"}))),
        )
        .await
        .unwrap();
    let made = common::ok(made);
    let found_by_b = common::ok(
        b.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Zed"})))).await.unwrap(),
    );
    assert_eq!(found_by_b["data"].as_array().unwrap().len(), 1, "{found_by_b}");
    b.cancel().await.unwrap();

    let a = setup.connect_with(&access(&team_a)).await;
    let found_by_a = common::ok(
        a.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Zed"})))).await.unwrap(),
    );
    assert_eq!(found_by_a["data"], json!([]), "team A cannot see team B's contact {made}");
    let ada = common::ok(
        a.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap(),
    );
    assert_eq!(ada["data"].as_array().unwrap().len(), 1, "team A sees its own");
    a.cancel().await.unwrap();
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn an_mcp_session_serves_only_the_account_that_opened_it() {
    let setup = setup().await;
    let (_, owner) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let intruder_key = setup.new_sandbox_team_key("Intruder team").await;
    let (_, intruder) = setup.sign_in("contacts:read", &[("decision", "allow"), ("api_key", &intruder_key)]).await;

    let post = |token: String, session: Option<String>, message: Value| {
        let mut request = common::http()
            .post(setup.test.server.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .bearer_auth(token)
            .json(&message);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = post(access(&owner), None, initialize).await.unwrap();
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let stolen = post(access(&intruder), Some(session.clone()), list.clone()).await.unwrap();
    assert_eq!(stolen.status().as_u16(), 404, "another account's token cannot use the session");
    let own = post(access(&owner), Some(session), list).await.unwrap();
    assert_eq!(own.status().as_u16(), 200, "its owner still can");
    setup.test.server.shutdown().await;
}

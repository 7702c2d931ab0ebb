//! One account cannot open MCP sessions without end: past the cap a new one is refused with
//! what to do, and closing one makes room. An idle session's memory is freed after
//! `--session-idle-timeout`, and its next request restores it: the client sees no difference.

use serde_json::json;

use crate::common::{self, browser::Browser};

#[tokio::test]
async fn an_account_may_open_64_sessions_and_another_after_closing_one() {
    let test = common::start(&["--auth", "builtin"]).await;
    let browser = Browser::new(format!("http://{}", test.server.address));
    let token = browser.sign_in_to_sandbox().await["access_token"].as_str().unwrap().to_owned();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let open = || {
        common::http()
            .post(test.server.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .bearer_auth(&token)
            .json(&initialize)
            .send()
    };
    let mut sessions = Vec::new();
    for n in 0..64 {
        let response = open().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "session {n}");
        sessions.push(response.headers()["mcp-session-id"].to_str().unwrap().to_owned());
    }
    let over = open().await.unwrap();
    assert_eq!(over.status().as_u16(), 429);
    assert!(over.text().await.unwrap().contains("already has 64 open MCP sessions"));
    let closed = common::http()
        .delete(test.server.mcp_url())
        .bearer_auth(&token)
        .header("mcp-session-id", &sessions[0])
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    assert_eq!(open().await.unwrap().status().as_u16(), 200, "closing one made room");
    test.server.shutdown().await;
}

#[tokio::test]
async fn an_idle_session_is_freed_and_its_next_request_restores_it() {
    let server = common::spawned::SpawnedServer::start(
        &["--auth", "none", "--session-idle-timeout", "1"],
        &[("RUST_LOG", "info,rmcp::transport::streamable_http_server=debug")],
    );
    let url = format!("{}/mcp", server.base);
    let (client, _) = common::connect(&url).await;
    common::ok(common::call(&client, "search_contacts", json!({"query": "Ada"})).await);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let found = common::ok(common::call(&client, "search_contacts", json!({"query": "Ada"})).await);
    assert_eq!(found["data"][0]["name"], "Ada Lovelace", "the same session answers after its idle timeout");
    assert!(server.log().contains("session restored from external store"), "the session was freed and restored: {}", server.log());
    client.cancel().await.unwrap();
}

//! What a new user and the model meet first: the hints of a refused start and of a 401, the
//! stdio banner on stderr without colours or rmcp's session dumps, and an unknown tool named
//! with the closest one.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::common;

#[tokio::test]
async fn a_port_in_use_says_which_setting_picks_another() {
    let running = common::start(&[]).await;
    let directory = tempfile::tempdir().unwrap();
    let address = running.server.address.to_string();
    let settings = common::settings(directory.path(), &["--listen", &address]);
    let error = clerk_mcp::start_http(&settings).await.err().expect("the address is taken").to_string();
    assert!(error.contains(&format!("cannot listen on {address}")), "{error}");
    assert!(error.contains("choose another address with --listen (or CLERK_MCP_LISTEN)"), "{error}");
    running.server.shutdown().await;
}

#[tokio::test]
async fn a_request_without_a_token_on_loopback_is_told_about_auth_none() {
    let test = common::start(&["--auth", "builtin"]).await;
    let response = common::http().post(test.server.mcp_url()).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(body["hint"].as_str().unwrap().contains("start it with --auth none"), "{body}");
    test.server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_tool_is_named_with_the_closest_one() {
    let test = common::start(&[]).await;
    let (client, _) = common::connect(&test.server.mcp_url()).await;
    let request = CallToolRequestParams::new("send_sms").with_arguments(json!({}).as_object().unwrap().clone());
    let error = client.call_tool(request).await.expect_err("there is no send_sms").to_string();
    assert!(error.contains("tool not found: `send_sms`; did you mean `send_message`?"), "{error}");
    assert!(error.contains("the tools are: "), "{error}");
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn stdio_writes_the_banner_to_stderr_in_plain_text_without_session_dumps() {
    let directory = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    command.arg("stdio").arg("--data-dir").arg(directory.path()).env_remove("RUST_LOG");
    let (transport, stderr) = TokioChildProcess::builder(command).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    assert_eq!(client.peer_info().unwrap().server_info.clone().unwrap().name, "clerk", "the hosted server's name");
    let instructions = client.peer_info().unwrap().instructions.clone().unwrap_or_default();
    assert!(instructions.contains("The sandbox team sends from +12005550100"), "the model can learn its numbers: {instructions}");
    client.list_all_tools().await.unwrap();
    client.cancel().await.unwrap();
    let mut text = String::new();
    stderr.unwrap().read_to_string(&mut text).await.unwrap();
    for line in [
        "Clerk Chat MCP server on stdio",
        "Upstream: the embedded sandbox at http://127.0.0.1:",
        "Sandbox numbers to send from: +12005550100",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(text.contains(&format!("Data directory: {}", directory.path().display())), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes in a log file:\n{text}");
    assert!(!text.contains("peer_info"), "rmcp's session lines stay at debug:\n{text}");
}

//! The tools over stdio, as Claude Desktop runs the server: the real binary as a child process.

use crate::common::{ok, text_of, tool_error};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

#[tokio::test]
async fn the_tools_work_over_stdio_on_the_embedded_sandbox() {
    let directory = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    command.arg("stdio").arg("--data-dir").arg(directory.path()).args(["--sandbox-delivery-delay-ms", "100"]).env("RUST_LOG", "debug");
    let transport = TokioChildProcess::new(command).expect("the server starts");
    let client = ().serve(transport).await.expect("the server speaks MCP on stdout and nothing else");
    let info = client.peer_info().unwrap().server_info.clone().unwrap();
    assert_eq!(info.name, "clerk");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), clerk_chat::tools::TOOLS.len());

    let call = |name: &'static str, arguments: serde_json::Value| {
        let request = CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone());
        let client = &client;
        async move { client.call_tool(request).await.unwrap() }
    };
    // The first team of a new sandbox sends from +12005550100.
    let sent = ok(call("send_message", json!({"sender": "+12005550100", "recipients": ["+15559876543"], "body": "over stdio"})).await);
    assert_eq!(sent["data"]["body"], "over stdio");
    let messages = ok(call("get_messages", json!({})).await);
    assert_eq!(messages["total"], 1);
    let failed = call("send_message", json!({"sender": "+12005550100", "recipients": [15559876543_u64], "body": "x"})).await;
    let text = tool_error(failed.clone());
    assert!(text.contains("recipients[0] is 15559876543, a number, but must be a string"), "{}", text_of(&failed));
    client.cancel().await.unwrap();
}

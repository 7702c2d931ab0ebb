//! The operator's choice of tools (`--read-only`, `--tools`, `--tool-scopes`,
//! `--exclude-tools`) through real clients: what is listed, what can be called, which scopes
//! are advertised, what the consent page offers, and what is refused at start.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::common::{self, browser::Browser, browser::VERIFIER, browser::challenge_of};

const CALLBACK: &str = "http://127.0.0.1:47000/callback";

/// The read-only tools' names, sorted as tools/list sorts them.
fn read_only_tools() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = clerk_chat::tools::TOOLS.iter().filter(|spec| spec.hints.read_only).map(|spec| spec.name).collect();
    names.sort_unstable();
    names
}

/// What a call of `tool` answers: the protocol error's text, with the tool's name and any
/// suggestion of a close name taken out, so that two unknown tools' answers compare equal.
async fn refusal<S: std::ops::Deref<Target = rmcp::Peer<rmcp::RoleClient>>>(client: &S, tool: &str) -> String {
    let request =
        CallToolRequestParams::new(tool.to_owned()).with_arguments(json!({"sender": "+12005550100"}).as_object().unwrap().clone());
    let text = match client.call_tool(request).await {
        Ok(result) => panic!("{tool} was served: {result:?}"),
        Err(error) => error.to_string().replace(tool, "NAME"),
    };
    match (text.find("did you mean `"), text.find("`? ")) {
        (Some(start), Some(end)) if end > start => format!("{}{}", &text[..start], &text[end + 3..]),
        _ => text,
    }
}

#[tokio::test]
async fn read_only_mode_lists_and_serves_only_the_read_tools_over_http() {
    let test = common::start(&["--read-only"]).await;
    let (client, _) = common::connect(&test.server.mcp_url()).await;
    let listed: Vec<String> = client.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.to_string()).collect();
    assert_eq!(listed, read_only_tools());
    let messages = common::ok(common::call(&client, "get_messages", json!({})).await);
    assert_eq!(messages["total"], 0, "a read tool is served");
    assert_eq!(refusal(&client, "send_message").await, refusal(&client, "no_such_tool").await, "a send is refused as an unknown tool is");
    client.cancel().await.unwrap();
    test.server.shutdown().await;
}

#[tokio::test]
async fn read_only_mode_works_over_stdio_too() {
    let directory = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    command.arg("stdio").arg("--data-dir").arg(directory.path()).env("CLERK_MCP_READ_ONLY", "true");
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let listed: Vec<String> = client.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.to_string()).collect();
    assert_eq!(listed, read_only_tools());
    assert_eq!(refusal(&client, "send_message").await, refusal(&client, "no_such_tool").await, "a send is refused as an unknown tool is");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn filters_choose_the_tools_their_scopes_and_what_the_consent_page_offers() {
    let args = ["--auth", "builtin", "--tool-scopes", "messages:read,contacts:read,contacts:write", "--exclude-tools", "delete_contact"];
    let test = common::start(&args).await;
    let base = format!("http://{}", test.server.address);
    let http = common::http();
    let resource: Value = http.get(format!("{base}/.well-known/oauth-protected-resource/mcp")).send().await.unwrap().json().await.unwrap();
    assert_eq!(resource["scopes_supported"], json!(["contacts:read", "contacts:write", "messages:read"]), "{resource}");

    // The consent page lists what the kept tools do, and nothing of the rest.
    let browser = Browser::new(base.clone());
    let client_id = browser.register(&[CALLBACK]).await;
    let challenge = challenge_of(VERIFIER);
    let resource_url = format!("{base}/mcp");
    let page = browser
        .open_consent(&browser.authorize_url(&[
            ("client_id", &client_id),
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
            ("scope", "messages:read contacts:read contacts:write"),
            ("resource", &resource_url),
        ]))
        .await;
    for kept in ["Find messages", "Search contacts", "Create a contact", "Update a contact"] {
        assert!(page.body.contains(kept), "the consent page offers {kept}");
    }
    for dropped in ["Delete a contact", "Send an SMS or MMS", "Add a team member"] {
        assert!(!page.body.contains(dropped), "the consent page does not offer {dropped}");
    }
    test.server.shutdown().await;

    let only = common::start(&["--tools", "get_messages,search_contacts,send_message", "--exclude-tools", "send_message"]).await;
    let (client, _) = common::connect(&only.server.mcp_url()).await;
    let listed: Vec<String> = client.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.to_string()).collect();
    assert_eq!(listed, ["get_messages", "search_contacts"], "--tools, then --exclude-tools");
    client.cancel().await.unwrap();
    only.server.shutdown().await;
}

#[test]
fn unknown_tools_and_scopes_and_an_empty_selection_are_refused_at_start_with_the_fix() {
    let directory = tempfile::tempdir().unwrap();
    let refused = |args: &[&str]| common::try_settings(directory.path(), args).expect_err("refused").to_string();
    let tool = refused(&["--tools", "get_message"]);
    assert!(tool.starts_with("--tools: there is no tool `get_message`; did you mean `get_messages`?"), "{tool}");
    let scope = refused(&["--tool-scopes", "message:read"]);
    assert!(scope.contains("there is no scope `message:read`; did you mean `messages:read`?"), "{scope}");
    assert!(scope.contains("the scopes are: messages:send, messages:read"), "{scope}");
    let excluded = refused(&["--exclude-tools", "sendmessage"]);
    assert!(excluded.contains("--exclude-tools: there is no tool `sendmessage`"), "{excluded}");
    let nothing = refused(&["--read-only", "--tools", "send_message"]);
    assert!(nothing.contains("leave no tool to serve"), "{nothing}");
}

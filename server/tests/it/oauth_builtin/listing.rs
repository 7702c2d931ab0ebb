//! `--list-tools`: by default a token sees every served tool (and steps up when a call needs a
//! scope it lacks); with `allowed` it sees only the tools its scopes allow.

use super::*;

async fn listed(setup: &Setup, token: &str) -> Vec<String> {
    let client = setup.connect_with(token).await;
    let mut names: Vec<String> = client.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.to_string()).collect();
    names.sort();
    client.cancel().await.unwrap();
    names
}

#[tokio::test]
async fn a_token_lists_every_tool_by_default_and_only_its_own_with_list_tools_allowed() {
    let mut all_tools: Vec<String> = clerk_chat::tools::TOOLS.iter().map(|spec| spec.name.to_owned()).collect();
    all_tools.sort();
    let default = setup().await;
    let (_, tokens) = default.sign_in("messages:read contacts:read", &[("decision", "sandbox")]).await;
    assert_eq!(listed(&default, &access(&tokens)).await, all_tools, "every tool, for step-up");
    default.test.server.shutdown().await;

    let allowed = setup_with(&["--list-tools", "allowed"]).await;
    let (_, tokens) = allowed.sign_in("messages:read contacts:read", &[("decision", "sandbox")]).await;
    assert_eq!(listed(&allowed, &access(&tokens)).await, ["get_messages", "search_contacts"]);
    allowed.test.server.shutdown().await;
}

//! The server cannot be used to send a browser anywhere: schemes that launch something never
//! register, real clients' redirect URIs do, and until the user answers the consent page even a
//! registered URI gets no redirect.

use serde_json::{Value, json};

use super::{authorize_url, register_from};
use crate::common::browser::{Browser, VERIFIER, challenge_of};
use crate::common::spawned::SpawnedServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launching_schemes_never_register_and_real_clients_do() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    for (n, uri) in [
        "ms-msdt:/id",
        "search-ms:query=x",
        "view-source:https://a.example",
        "intent://a.example/#Intent;end",
        "ws://a.example/",
        "ftp://a.example/",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, error) = register_from(&browser, &format!("198.51.100.{n}"), json!({"redirect_uris": [uri]})).await;
        assert_eq!(status, 400, "{uri}");
        assert_eq!(error["error"], "invalid_redirect_uri");
        assert!(error["error_description"].as_str().unwrap().contains("opens another program, page or connection"), "{uri}: {error}");
    }
    let (status, error) = register_from(&browser, "198.51.100.50", json!({"redirect_uris": ["steam://run/1"]})).await;
    assert_eq!(status, 400);
    assert!(error["error_description"].as_str().unwrap().contains("--redirect-scheme"), "{error}");
    // The redirect URIs real clients register (../shared/reference/client-quirks.md).
    let real: Value = json!({"client_name": "Real clients", "redirect_uris": [
        "http://127.0.0.1:53682/callback", "https://claude.ai/api/mcp/auth_callback", "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://www.cursor.com/agents/mcp/oauth/callback", "https://vscode.dev/redirect", "http://127.0.0.1:33418",
        "https://chatgpt.com/connector/oauth/abc123", "http://localhost:7777/oauth/callback"
    ]});
    assert_eq!(register_from(&browser, "198.51.100.51", real).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_to_a_registered_phishing_uri_is_a_page_not_a_redirect() {
    let server = SpawnedServer::start(&["--auth", "builtin"], &[]);
    let browser = Browser::new(server.base.clone());
    let (status, client) = register_from(&browser, "", json!({"redirect_uris": ["https://evil.example/phish"]})).await;
    assert_eq!(status, 201, "https registers: the rule is about what happens before consent");
    let challenge = challenge_of(VERIFIER);
    let url = browser.authorize_url(&[
        ("client_id", client["client_id"].as_str().unwrap()),
        ("response_type", "token"),
        ("redirect_uri", "https://evil.example/phish"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let response = browser.http.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("location").is_none(), "no redirect to the registered URI");
    assert!(response.text().await.unwrap().contains("Nothing was sent to it"));
    // And GET /authorize counts against the per-address limit like the POSTs.
    let mut last = 0;
    for _ in 0..30 {
        last = browser.http.get(authorize_url(&browser, "unknown-client", "s")).send().await.unwrap().status().as_u16();
    }
    assert_eq!(last, 429, "the 31st costly request from one address (one registration and 30 pages)");
}

//! What reaches a log line or a header cannot be forged, every route checks `Host`, the bearer
//! scheme is case-insensitive, and a request body is read only up to `--max-body-bytes`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{CALLBACK, register_from};
use crate::common::browser::Browser;
use crate::common::spawned::SpawnedServer;

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_or_a_name_cannot_forge_log_lines_or_break_the_challenge() {
    let server = SpawnedServer::start(&["--auth", "builtin"], &[]);
    let browser = Browser::new(server.base.clone());
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "k\r\nFORGED log line \\\" x=\"y"}).to_string());
    let forged = format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode("{}"));
    let response = browser
        .http
        .post(format!("{}/mcp", server.base))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(&forged)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.ends_with("error=\"invalid_token\", error_description=\"the token is signed with an unknown key\""), "{challenge}");
    assert!(!challenge.contains("FORGED"), "nothing of the token reaches the header: {challenge}");

    let (status, error) = register_from(&browser, "", json!({"client_name": "App\r\nFORGED log line", "redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, 400, "{error}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let log = server.log();
    assert!(log.contains("refused a bearer token"), "{log}");
    assert!(!log.lines().any(|line| line.trim_start().starts_with("FORGED")), "a forged line in the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_only_the_hosts_it_serves() {
    let server = SpawnedServer::start(&["--auth", "builtin"], &[]);
    let browser = Browser::new(server.base.clone());
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let get = |path: &str, host: String| browser.http.get(format!("{}{path}", server.base)).header("host", host).send();
    for path in
        ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server", "/jwks.json", "/authorize?client_id=x"]
    {
        assert_eq!(get(path, "evil.example".to_owned()).await.unwrap().status().as_u16(), 403, "{path}");
        assert_eq!(get(path, format!("attacker.example:{port}")).await.unwrap().status().as_u16(), 403, "{path}");
    }
    assert_eq!(get("/healthz", "10.0.0.7:8787".to_owned()).await.unwrap().status().as_u16(), 200, "probes by address are answered");
    // A Host that is not an authority is refused; a loopback alias is answered with itself,
    // rebuilt from its parts.
    let crafted = get("/.well-known/oauth-protected-resource/mcp", format!("localhost:{port}/x?y=\"z")).await.unwrap();
    assert_eq!(crafted.status().as_u16(), 400);
    let metadata: Value =
        get("/.well-known/oauth-protected-resource/mcp", format!("LOCALHOST:{port}")).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("http://localhost:{port}/mcp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive_and_bodies_are_read_only_up_to_the_limit() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--max-body-bytes", "4096"], &[]);
    let browser = Browser::new(server.base.clone());
    let tokens = browser.sign_in_to_sandbox().await;
    let token = tokens["access_token"].as_str().unwrap();
    let post = |authorization: String, body: Value| {
        browser
            .http
            .post(format!("{}/mcp", server.base))
            .header("accept", "application/json, text/event-stream")
            .header("authorization", authorization)
            .json(&body)
            .send()
    };
    assert_eq!(post(format!("bearer {token}"), initialize()).await.unwrap().status().as_u16(), 200);
    assert_eq!(post(format!("BEARER  {token}"), initialize()).await.unwrap().status().as_u16(), 200);
    let mut large = initialize();
    large["params"]["clientInfo"]["name"] = json!("n".repeat(6000));
    assert_eq!(post(format!("Bearer {token}"), large).await.unwrap().status().as_u16(), 413);
}

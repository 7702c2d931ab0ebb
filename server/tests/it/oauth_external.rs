//! `--auth external`: the server as an OAuth 2.1 protected resource in front of an existing
//! authorization server, checked with real signed tokens and a real JWKS on loopback.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use crate::common;

const ISSUER_KEY: &[u8] = include_bytes!("fixtures/test-issuer-es256.pem");
const ATTACKER_KEY: &[u8] = include_bytes!("fixtures/test-attacker-es256.pem");

/// A minimal authorization server: RFC 8414 metadata naming a JWKS with one ES256 key.
async fn issuer() -> String {
    issuer_naming(None).await
}

/// [`issuer`], whose metadata names `claimed` as its issuer instead of its own URL.
async fn issuer_naming(claimed: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let named = claimed.map(str::to_owned).unwrap_or_else(|| base.clone());
    let mut jwk = Jwk::from_encoding_key(&EncodingKey::from_ec_pem(ISSUER_KEY).unwrap(), Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".to_owned());
    let jwks = JwkSet { keys: vec![jwk] };
    let metadata = json!({"issuer": named, "jwks_uri": format!("{base}/jwks.json"), "authorization_endpoint": format!("{base}/authorize"), "token_endpoint": format!("{base}/token")});
    let app = axum::Router::new()
        .route("/.well-known/oauth-authorization-server", axum::routing::get(move || async move { axum::Json(metadata) }))
        .route("/jwks.json", axum::routing::get(move || async move { axum::Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn token(claims: Value, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_pem(key).unwrap()).unwrap()
}

struct Setup {
    server: clerk_mcp::RunningServer,
    issuer: String,
    resource: String,
    _directory: tempfile::TempDir,
}

async fn setup() -> Setup {
    let issuer = issuer().await;
    let directory = tempfile::tempdir().unwrap();
    let settings = common::settings(directory.path(), &["--auth", "external", "--issuer", &issuer, "--public-url", "http://127.0.0.1"]);
    let server = clerk_mcp::start_http(&settings).await.unwrap_or_else(|error| panic!("{error}"));
    Setup { server, issuer, resource: "http://127.0.0.1/mcp".to_owned(), _directory: directory }
}

fn claims(setup: &Setup, scope: &str) -> Value {
    json!({"iss": setup.issuer, "sub": "user-1", "aud": setup.resource, "exp": now() + 300, "nbf": now() - 10, "iat": now(), "scope": scope})
}

async fn status_with(setup: &Setup, token: Option<&str>) -> (u16, String) {
    common::initialize_status(&setup.server.mcp_url(), token).await
}

#[tokio::test]
async fn metadata_is_published_and_a_missing_token_gets_the_challenge() {
    let setup = setup().await;
    let base = format!("http://{}", setup.server.address);
    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let metadata: Value = common::http().get(format!("{base}{path}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(metadata["resource"], setup.resource.as_str());
        assert_eq!(metadata["authorization_servers"], json!([setup.issuer]));
        assert!(metadata["scopes_supported"].as_array().unwrap().contains(&json!("messages:send")));
    }
    let (status, challenge) = status_with(&setup, None).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\""), "{challenge}");
    assert!(challenge.contains("scope=\"") && challenge.contains("messages:send"), "{challenge}");
    setup.server.shutdown().await;
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let setup = setup().await;
    let good = claims(&setup, "messages:read");
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("https://other.example/mcp");
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example");
    let cases = [
        ("wrong audience", token(wrong_audience, ISSUER_KEY)),
        ("expired", token(expired, ISSUER_KEY)),
        ("wrong issuer", token(wrong_issuer, ISSUER_KEY)),
        ("bad signature", token(good.clone(), ATTACKER_KEY)),
        ("alg none", format!("{}.{}.", b64(r#"{"alg":"none","kid":"k1"}"#), b64(&good.to_string()))),
        ("not a token", "garbage".to_owned()),
    ];
    for (case, bad) in cases {
        let (status, challenge) = status_with(&setup, Some(&bad)).await;
        assert_eq!(status, 401, "{case}");
        assert!(challenge.contains("error=\"invalid_token\""), "{case}: {challenge}");
    }
    assert_eq!(status_with(&setup, Some(&token(good, ISSUER_KEY))).await.0, 200, "the good token works");
    setup.server.shutdown().await;
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_token_without_the_tools_scope_gets_403_insufficient_scope() {
    let setup = setup().await;
    let read_only = token(claims(&setup, "messages:read contacts:read"), ISSUER_KEY);
    let client = common::connect_with_token(&setup.server.mcp_url(), &read_only).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), clerk_chat::tools::TOOLS.len(), "tools are listed; calling one needs its scope");
    let read = client.call_tool(CallToolRequestParams::new("search_contacts")).await.unwrap();
    assert_ne!(read.is_error, Some(true));
    let send =
        client
            .call_tool(CallToolRequestParams::new("send_message").with_arguments(
                json!({"sender": "+12005550100", "recipients": ["+15559876543"], "body": "hi"}).as_object().unwrap().clone(),
            ))
            .await;
    assert!(send.is_err(), "the HTTP layer refuses the call: {send:?}");
    client.cancel().await.unwrap();

    // The challenge itself, as a client sees it, for step-up.
    let http = common::http();
    let initialize = http
        .post(setup.server.mcp_url())
        .bearer_auth(&read_only)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let session = initialize.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let response = http
        .post(setup.server.mcp_url())
        .bearer_auth(&read_only)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "send_message", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"messages:send\""), "{challenge}");
    setup.server.shutdown().await;
}

#[tokio::test]
async fn auth_none_refuses_to_listen_beyond_loopback() {
    let directory = tempfile::tempdir().unwrap();
    // Refused when the settings are read, before anything starts.
    let error = common::try_settings(directory.path(), &["--listen", "0.0.0.0:0"]).expect_err("refused").to_string();
    assert!(error.contains("--auth none serves without sign-in, so it listens only on loopback"), "{error}");
}

#[tokio::test]
async fn an_issuer_whose_metadata_names_another_issuer_is_refused() {
    let issuer = issuer_naming(Some("https://evil.example")).await;
    let directory = tempfile::tempdir().unwrap();
    let settings = common::settings(directory.path(), &["--auth", "external", "--issuer", &issuer, "--public-url", "http://127.0.0.1"]);
    let error = clerk_mcp::start_http(&settings).await.err().expect("refused at start").to_string();
    assert!(error.contains("names the issuer") && error.contains("evil.example"), "{error}");
}

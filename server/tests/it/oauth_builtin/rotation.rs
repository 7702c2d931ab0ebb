//! Rotating the token signing key in the README's three steps, each a restart with another
//! `--signing-key-file` list: nobody is signed out, tokens of the old key verify until the last
//! step, and a retired key verifies nothing.

use serde_json::Value;

use crate::common::{self, browser::Browser};

async fn start_with_keys(directory: &std::path::Path, port: u16, keys: &[&std::path::Path]) -> clerk_mcp::RunningServer {
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let keys: Vec<&str> = keys.iter().map(|key| key.to_str().unwrap()).collect();
    let keys = keys.join(",");
    // The same database at every restart, also in the PostgreSQL pass (which would give each
    // start a fresh one): the rotation is about the keys.
    let database = format!("sqlite://{}", directory.join("oauth.db").display());
    let arguments =
        ["--auth", "builtin", "--listen", &listen, "--public-url", &base, "--signing-key-file", &keys, "--database-url", &database];
    let settings = common::settings(directory, &arguments);
    clerk_mcp::start_http(&settings).await.unwrap_or_else(|error| panic!("{error}"))
}

fn key_id(tokens: &Value) -> String {
    jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap()).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_signing_key_is_rotated_in_three_restarts_without_signing_anyone_out() {
    let directory = tempfile::tempdir().unwrap();
    let (old, new) = (directory.path().join("old.pem"), directory.path().join("new.pem"));
    clerk_oauth::write_new_signing_key(&old).unwrap();
    clerk_oauth::write_new_signing_key(&new).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let browser = Browser::new(base.clone());
    let mcp = format!("{base}/mcp");
    let refresh = |client_id: String, tokens: Value| {
        let browser = Browser::new(base.clone());
        async move {
            let form =
                [("grant_type", "refresh_token"), ("client_id", &client_id), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
            let (status, refreshed) = browser.token(&form).await;
            assert_eq!(status, 200, "the refresh token works across the rotation: {refreshed}");
            refreshed
        }
    };

    let server = start_with_keys(directory.path(), port, &[&old]).await;
    let (client_id, first) = browser.sign_in(&[("decision", "sandbox")]).await;
    let old_key_id = key_id(&first);
    server.shutdown().await;

    // 1. The new key is published and trusted; the old one still signs.
    let server = start_with_keys(directory.path(), port, &[&old, &new]).await;
    let jwks: Value = common::http().get(format!("{base}/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "both keys are published: {jwks}");
    assert_eq!(common::initialize_status(&mcp, first["access_token"].as_str()).await.0, 200);
    let second = refresh(client_id.clone(), first.clone()).await;
    assert_eq!(key_id(&second), old_key_id, "the old key still signs");
    server.shutdown().await;

    // 2. The new key signs; the old one's tokens still verify.
    let server = start_with_keys(directory.path(), port, &[&new, &old]).await;
    assert_eq!(common::initialize_status(&mcp, first["access_token"].as_str()).await.0, 200, "an old-key token still works");
    let third = refresh(client_id.clone(), second).await;
    assert_ne!(key_id(&third), old_key_id, "the new key signs");
    assert_eq!(common::initialize_status(&mcp, third["access_token"].as_str()).await.0, 200);
    server.shutdown().await;

    // 3. The old key is retired: its tokens stop working, the sign-in does not.
    let server = start_with_keys(directory.path(), port, &[&new]).await;
    let (status, challenge) = common::initialize_status(&mcp, first["access_token"].as_str()).await;
    assert_eq!(status, 401, "a retired key verifies nothing");
    assert!(challenge.contains("unknown key"), "{challenge}");
    assert_eq!(common::initialize_status(&mcp, third["access_token"].as_str()).await.0, 200);
    let fourth = refresh(client_id, third).await;
    assert_eq!(common::initialize_status(&mcp, fourth["access_token"].as_str()).await.0, 200, "still signed in");
    server.shutdown().await;
}

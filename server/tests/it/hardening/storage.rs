//! `GET /authorize` cannot grow the database without bound: an oversized `state` is refused
//! before anything is stored, and the consent pages waiting for one client are capped.

use serde_json::json;

use super::{CALLBACK, authorize_url, forwarded_address, register_from};
use crate::common::browser::Browser;
use crate::common::spawned::SpawnedServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_requests_with_a_60_kb_state_store_nothing() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    let (status, client) = register_from(&browser, "198.51.100.1", json!({"redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, 201);
    let client_id = client["client_id"].as_str().unwrap();
    let before = server.database_bytes();
    let state = "s".repeat(60 * 1024);
    for n in 0..600 {
        let response = browser
            .http
            .get(authorize_url(&browser, client_id, &state))
            .header("x-forwarded-for", forwarded_address(n))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "request {n}");
        assert!(response.text().await.unwrap().contains("state is longer than 1024 characters"));
    }
    let growth = server.database_bytes().saturating_sub(before);
    eprintln!("database before {before} bytes, growth {growth} bytes");
    assert!(growth < 8 * 1024 * 1024, "600 requests grew the database by {growth} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_pages_waiting_for_one_client_are_capped() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    let (_, client) = register_from(&browser, "198.51.100.1", json!({"redirect_uris": [CALLBACK]})).await;
    let client_id = client["client_id"].as_str().unwrap();
    let open = |n: usize| browser.http.get(authorize_url(&browser, client_id, "s")).header("x-forwarded-for", forwarded_address(n)).send();
    for n in 0..500 {
        assert_eq!(open(n).await.unwrap().status().as_u16(), 200, "page {n}");
    }
    let over = open(500).await.unwrap();
    assert_eq!(over.status().as_u16(), 503);
    assert!(over.text().await.unwrap().contains("Too many sign-ins are waiting on this server"));
    // Another client is not held up by this one.
    let (_, other) = register_from(&browser, "198.51.100.2", json!({"redirect_uris": [CALLBACK]})).await;
    let response = browser.http.get(authorize_url(&browser, other["client_id"].as_str().unwrap(), "s")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

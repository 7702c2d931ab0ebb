//! A client's address comes from `X-Forwarded-For` only behind a configured proxy, and a
//! consent page cannot be used to try keys: it closes after five wrong ones, and key checks are
//! capped across all callers.

use serde_json::json;

use super::{CALLBACK, authorize_url, forwarded_address, register_from};
use crate::common::browser::{Browser, ConsentPage};
use crate::common::spawned::SpawnedServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_forwarded_for_is_ignored_without_a_trusted_proxy() {
    let server = SpawnedServer::start(&["--auth", "builtin"], &[]);
    let browser = Browser::new(server.base.clone());
    for n in 0..30 {
        let (status, _) = register_from(&browser, &forwarded_address(n), json!({"redirect_uris": [CALLBACK]})).await;
        assert_eq!(status, 201, "registration {n}");
    }
    let (status, error) = register_from(&browser, &forwarded_address(30), json!({"redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, 429, "the 31st registration from one peer is refused, whatever it claims: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1/32"], &[]);
    let browser = Browser::new(server.base.clone());
    for n in 0..40 {
        let (status, _) = register_from(&browser, &forwarded_address(n), json!({"redirect_uris": [CALLBACK]})).await;
        assert_eq!(status, 201, "client {n}");
    }
    for attempt in 0..30 {
        let (status, _) = register_from(&browser, "203.0.113.9", json!({"redirect_uris": [CALLBACK]})).await;
        assert_eq!(status, 201, "attempt {attempt}");
    }
    // A claim left of the proxy's own entry is the client's word, not the proxy's: ignored.
    let (status, _) = register_from(&browser, "10.9.9.9, 203.0.113.9", json!({"redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, 429);
}

async fn consent_page(browser: &Browser, address: &str) -> ConsentPage {
    let (_, client) = register_from(browser, address, json!({"redirect_uris": [CALLBACK]})).await;
    let url = authorize_url(browser, client["client_id"].as_str().unwrap(), "s");
    let response = browser.http.get(&url).header("x-forwarded-for", address).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    ConsentPage::read(response).await
}

async fn answer(browser: &Browser, page: &ConsentPage, address: &str, key: &str) -> (u16, String) {
    let form = [("request", page.request.as_str()), ("csrf", page.csrf.as_str()), ("decision", "allow"), ("api_key", key)];
    let response = browser
        .http
        .post(format!("{}/authorize", browser.base))
        .header("cookie", &page.cookie)
        .header("x-forwarded-for", address)
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_page_closes_after_five_wrong_keys() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    let page = consent_page(&browser, "198.51.100.1").await;
    for attempt in 1..5 {
        let (status, body) = answer(&browser, &page, "198.51.100.1", &format!("ck_wrong_{attempt}")).await;
        assert_eq!(status, 400, "attempt {attempt}");
        assert!(body.contains("Clerk Chat refused this API key"), "attempt {attempt}: {body}");
    }
    let (status, body) = answer(&browser, &page, "198.51.100.1", "ck_wrong_5").await;
    assert_eq!(status, 403);
    assert!(body.contains("closed after 5 wrong API keys"), "{body}");
    let (status, body) = answer(&browser, &page, "198.51.100.1", "ck_wrong_6").await;
    assert_eq!(status, 400);
    assert!(body.contains("This sign-in has expired"), "the page is gone: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_checks_are_capped_across_all_addresses() {
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    let mut pages = Vec::new();
    for n in 0..10 {
        pages.push((forwarded_address(n), consent_page(&browser, &forwarded_address(n)).await));
    }
    // Four wrong keys on each of ten pages, from ten addresses, as fast as they go.
    let keys: Vec<String> = (0..4).map(|attempt| format!("ck_wrong_{attempt}")).collect();
    let mut answers = Vec::new();
    for key in &keys {
        for (address, page) in &pages {
            answers.push(answer(&browser, page, address, key));
        }
    }
    let results = futures::future::join_all(answers).await;
    let capped = results.iter().filter(|(_, body)| body.contains("checking many keys right now")).count();
    let checked = results.iter().filter(|(_, body)| body.contains("Clerk Chat refused this API key")).count();
    assert!(capped > 0, "40 checks at once exceed the server-wide cap; {checked} were checked");
    assert!(checked >= 5, "the checks within the cap still happen: {checked}");
}

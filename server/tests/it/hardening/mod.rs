//! The hardening of the sign-in, each finding of a review tried again through real HTTP against
//! the real server: memory and disk stay bounded whatever anonymous callers send, nothing is
//! redirected before the user acts, client addresses come only from configured proxies, what
//! is logged or put in a header cannot be forged, every route checks `Host`, and each account's
//! sessions are capped.

mod addresses;
mod headers;
mod memory;
mod redirects;
mod sessions;
mod storage;

use serde_json::Value;

use crate::common::browser::{Browser, VERIFIER, challenge_of};

const CALLBACK: &str = "http://127.0.0.1:47000/callback";

/// A valid authorization request for `client_id`, with `state`.
fn authorize_url(browser: &Browser, client_id: &str, state: &str) -> String {
    let challenge = challenge_of(VERIFIER);
    browser.authorize_url(&[
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
        ("scope", "contacts:read"),
    ])
}

/// The `n`th of many client addresses, as a proxy would name them.
fn forwarded_address(n: usize) -> String {
    format!("198.51.{}.{}", n / 250, n % 250 + 1)
}

/// Registers a client as if from `address` (behind a proxy); the status and the answer.
async fn register_from(browser: &Browser, address: &str, body: Value) -> (u16, Value) {
    let response =
        browser.http.post(format!("{}/register", browser.base)).header("x-forwarded-for", address).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

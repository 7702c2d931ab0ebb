//! `--auth builtin` (the default for HTTP): the whole OAuth flow against the running server with
//! rmcp's OAuth client (discovery, registration, authorization, token, a tool call, refresh),
//! and every refusal the MCP authorization spec and OAuth 2.1 ask for, over real HTTP.

mod accounts;
mod listing;
mod refusals;
mod rotation;
mod sign_in;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{
    self,
    browser::{Browser, VERIFIER, challenge_of, query_value, redirect_location},
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

/// Every scope a tool needs, in the manifest's order.
fn all_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for tool in clerk_chat::tools::TOOLS {
        if !scopes.contains(&tool.scope) {
            scopes.push(tool.scope);
        }
    }
    scopes
}

const CALLBACK: &str = "http://127.0.0.1:47000/callback";

struct Setup {
    test: common::TestServer,
    /// The browser's side of sign-in; `browser.base` is the issuer, `http://127.0.0.1:PORT`.
    browser: Browser,
}

async fn setup() -> Setup {
    setup_with(&[]).await
}

/// [`setup`] with more settings.
async fn setup_with(extra: &[&str]) -> Setup {
    let args: Vec<&str> = ["--auth", "builtin"].iter().chain(extra).copied().collect();
    let test = common::start(&args).await;
    let browser = Browser::new(format!("http://{}", test.server.address));
    Setup { test, browser }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

impl Setup {
    fn authorize_url(&self, client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut parameters = vec![("client_id", client_id)];
        parameters.extend_from_slice(extra);
        self.browser.authorize_url(&parameters)
    }

    /// The usual request: code, S256, state, the given scopes, this server as resource.
    fn standard_request<'a>(&self, challenge: &'a str, scope: &'a str, resource: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "state-123"),
            ("scope", scope),
            ("resource", resource),
        ]
    }

    /// Signs in through the consent page and returns the code.
    async fn code(&self, client_id: &str, challenge: &str, scope: &str, decision: &[(&str, &str)]) -> String {
        let resource = format!("{}/mcp", self.browser.base);
        let page = self.browser.open_consent(&self.authorize_url(client_id, &self.standard_request(challenge, scope, &resource))).await;
        let response = self.browser.submit(&page, decision).await;
        let location = redirect_location(&response);
        assert_eq!(query_value(&location, "state").as_deref(), Some("state-123"), "state round-trips");
        assert_eq!(query_value(&location, "iss").as_deref(), Some(self.browser.base.as_str()));
        query_value(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
    }

    async fn exchange(&self, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
        let resource = format!("{}/mcp", self.browser.base);
        self.browser
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
                ("resource", &resource),
            ])
            .await
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        self.browser.token(&[("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", refresh_token)]).await
    }

    /// Signs in a new client with the given decision and returns its client id and tokens.
    async fn sign_in(&self, scope: &str, decision: &[(&str, &str)]) -> (String, Value) {
        let client_id = self.browser.register(&[CALLBACK]).await;
        let code = self.code(&client_id, &challenge_of(VERIFIER), scope, decision).await;
        let (status, tokens) = self.exchange(&client_id, &code, VERIFIER).await;
        assert_eq!(status, 200, "{tokens}");
        (client_id, tokens)
    }

    /// The status of an MCP initialize sent with this bearer token.
    async fn mcp_status(&self, token: &str) -> u16 {
        common::initialize_status(&self.test.server.mcp_url(), Some(token)).await.0
    }

    /// A new team on the embedded sandbox, and its API key; made with the demo team's key.
    async fn new_sandbox_team_key(&self, name: &str) -> String {
        let demo_key = std::fs::read_to_string(self.test.directory.path().join("sandbox/api-key")).unwrap();
        let created: Value = common::http()
            .post(format!("{}/sandbox/teams", self.test.server.upstream_url))
            .header("apiKey", demo_key.trim())
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["api_key"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned()
    }

    async fn connect_with(&self, token: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
        common::connect_with_token(&self.test.server.mcp_url(), token).await
    }
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

fn refresh_of(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

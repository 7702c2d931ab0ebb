//! `--auth builtin` (the default for HTTP): the whole OAuth flow against the running server with
//! rmcp's OAuth client (discovery, registration, authorization, token, a tool call, refresh),
//! and every refusal the MCP authorization spec and OAuth 2.1 ask for, over real HTTP.

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
    let test = common::start(&["--auth", "builtin"]).await;
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

    /// A new team on the embedded sandbox, and its API key.
    async fn new_sandbox_team_key(&self, name: &str) -> String {
        let created: Value = common::http()
            .post(format!("{}/sandbox/teams", self.test.server.upstream_url))
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

#[tokio::test]
async fn rmcp_oauth_client_discovers_registers_signs_in_calls_a_tool_and_refreshes() {
    let setup = setup().await;
    let mut state = OAuthState::new(setup.test.server.mcp_url(), None).await.expect("rmcp discovers the server");
    state
        .start_authorization(AuthorizationRequest::new(CALLBACK).with_client_name("rmcp OAuth test").with_scopes(all_scopes()))
        .await
        .expect("rmcp registers a client (RFC 7591) and prepares PKCE");
    let authorization_url = state.get_authorization_url().await.unwrap();
    assert!(authorization_url.contains("code_challenge_method=S256"), "{authorization_url}");
    // The browser's part: the consent page, then one click on the sandbox team.
    let page = setup.browser.open_consent(&authorization_url).await;
    assert!(page.body.contains("rmcp OAuth test"), "the page names the client");
    assert!(page.body.contains("127.0.0.1:47000"), "the page names the redirect host");
    assert!(page.body.contains("Sandbox"), "the page says it is the sandbox");
    assert!(page.body.contains("Send an SMS or MMS") && page.body.contains("messages:send"), "the page lists the scopes");
    let callback = redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await);
    state.handle_callback_url(&callback).await.expect("rmcp exchanges the code, checking state and iss");
    let manager = state.into_authorization_manager().expect("authorized");

    let first = manager.get_access_token().await.unwrap();
    let claims = claims_of(&first);
    assert_eq!(claims["aud"], setup.test.server.mcp_url(), "the resource is the audience");
    assert_eq!(claims["iss"], setup.browser.base);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600, "access tokens are short-lived");
    manager.refresh_token().await.expect("rmcp refreshes");
    let second = manager.get_access_token().await.unwrap();
    assert_ne!(first, second, "refresh gives a new access token");

    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::new(), manager),
        StreamableHttpClientTransportConfig::with_uri(setup.test.server.mcp_url()),
    );
    let client = ().serve(transport).await.expect("the signed-in client connects");
    let found =
        client.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap();
    let found = common::ok(found);
    assert_eq!(found["data"][0]["name"], "Ada Lovelace", "the sandbox demo team's contact: {found}");
    let sent = client
        .call_tool(
            CallToolRequestParams::new("send_message")
                .with_arguments(arguments(json!({"sender": "+12005550100", "recipients": ["+15559876543"], "body": "signed in"}))),
        )
        .await
        .unwrap();
    assert_eq!(common::ok(sent)["data"]["body"], "signed in");
    client.cancel().await.unwrap();
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn the_authorization_server_publishes_what_clients_discover() {
    let setup = setup().await;
    let http = common::http();
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata: Value = http.get(format!("{}{path}", setup.browser.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(metadata["issuer"], setup.browser.base, "{path}");
        assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]), "{path}");
        assert_eq!(metadata["client_id_metadata_document_supported"], true);
        assert_eq!(metadata["registration_endpoint"], format!("{}/register", setup.browser.base));
        assert_eq!(metadata["revocation_endpoint"], format!("{}/revoke", setup.browser.base));
    }
    let resource: Value =
        http.get(format!("{}/.well-known/oauth-protected-resource/mcp", setup.browser.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(resource["authorization_servers"], json!([setup.browser.base]));
    assert_eq!(resource["resource"], setup.test.server.mcp_url());
    let jwks: Value = http.get(format!("{}/jwks.json", setup.browser.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert!(jwks["keys"][0].get("d").is_none(), "the JWKS holds no private part");
    let unauthenticated = http.post(setup.test.server.mcp_url()).json(&json!({})).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let challenge = unauthenticated.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", setup.browser.base)),
        "{challenge}"
    );
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn authorization_requests_without_s256_pkce_or_with_a_foreign_redirect_are_refused() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(VERIFIER);

    // Missing PKCE and plain PKCE go back to the client as invalid_request, with the state.
    let mut missing = setup.standard_request(&challenge, "contacts:read", &resource);
    missing.retain(|(name, _)| !name.starts_with("code_challenge"));
    let response = setup.browser.http.get(setup.authorize_url(&client_id, &missing)).send().await.unwrap();
    let location = redirect_location(&response);
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request"));
    assert!(query_value(&location, "error_description").unwrap().contains("PKCE is required"));
    assert_eq!(query_value(&location, "state").as_deref(), Some("state-123"));
    let mut plain = setup.standard_request(VERIFIER, "contacts:read", &resource);
    plain.retain(|(name, _)| *name != "code_challenge_method");
    plain.push(("code_challenge_method", "plain"));
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &plain)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request"));
    assert!(query_value(&location, "error_description").unwrap().contains("plain PKCE is not accepted"));

    // An unregistered redirect URI gets a page, never a redirect (no open redirector).
    let mut foreign = setup.standard_request(&challenge, "contacts:read", &resource);
    foreign.retain(|(name, _)| *name != "redirect_uri");
    foreign.push(("redirect_uri", "https://attacker.example/callback"));
    let response = setup.browser.http.get(setup.authorize_url(&client_id, &foreign)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("not one of its registered redirect URIs"));

    // Loopback redirects may change port (RFC 8252), but not path.
    let mut other_port = setup.standard_request(&challenge, "contacts:read", &resource);
    other_port.retain(|(name, _)| *name != "redirect_uri");
    other_port.push(("redirect_uri", "http://127.0.0.1:51234/callback"));
    assert_eq!(setup.browser.http.get(setup.authorize_url(&client_id, &other_port)).send().await.unwrap().status().as_u16(), 200);

    // A resource that is not this server is refused: tokens are only for this audience.
    let other = setup.standard_request(&challenge, "contacts:read", "https://other.example/mcp");
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &other)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_target"));

    // offline_access (OIDC's request for a refresh token) is accepted and not granted as a scope.
    let offline = setup.standard_request(&challenge, "contacts:read offline_access", &resource);
    let page = setup.browser.open_consent(&setup.authorize_url(&client_id, &offline)).await;
    assert!(page.body.contains("contacts:read") && !page.body.contains("offline_access"));

    // An unknown scope is refused by name.
    let unknown = setup.standard_request(&challenge, "contacts:read admin:everything", &resource);
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &unknown)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_scope"));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn the_consent_page_needs_its_csrf_cookie_and_deny_returns_access_denied() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(VERIFIER);
    let url = setup.authorize_url(&client_id, &setup.standard_request(&challenge, "contacts:read", &resource));
    let page = setup.browser.open_consent(&url).await;

    let forged = setup
        .browser
        .http
        .post(format!("{}/authorize", setup.browser.base))
        .form(&[("request", page.request.as_str()), ("csrf", page.csrf.as_str()), ("decision", "sandbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403, "no cookie, no sign-in");
    let cross_site = setup
        .browser
        .http
        .post(format!("{}/authorize", setup.browser.base))
        .header("cookie", &page.cookie)
        .header("origin", "https://attacker.example")
        .form(&[("request", page.request.as_str()), ("csrf", page.csrf.as_str()), ("decision", "sandbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403, "a form posted from another site is refused");

    let bad_key = setup.browser.submit(&page, &[("decision", "allow"), ("api_key", "not-a-real-key")]).await;
    assert_eq!(bad_key.status().as_u16(), 400);
    let body = bad_key.text().await.unwrap();
    assert!(body.contains("Clerk Chat refused this API key"), "{body}");

    let denied = redirect_location(&setup.browser.submit(&page, &[("decision", "deny")]).await);
    assert_eq!(query_value(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_value(&denied, "state").as_deref(), Some("state-123"));
    let again = setup.browser.submit(&page, &[("decision", "sandbox")]).await;
    assert_eq!(again.status().as_u16(), 400, "an answered page cannot be answered again");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_verifier_and_redirect() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let verifier = VERIFIER;
    let challenge = challenge_of(verifier);

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup.exchange(&client_id, &code, "another-verifier-of-forty-three-characters-000000000").await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "wrong verifier: {error}");
    assert!(error["error_description"].as_str().unwrap().contains("code_verifier does not match"));

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[("grant_type", "authorization_code"), ("client_id", &client_id), ("code", &code), ("redirect_uri", CALLBACK)])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "no verifier at all: {error}");

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:47000/other"),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "wrong redirect URI: {error}");

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, tokens) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 200);
    let (status, error) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "reused code: {error}");
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401, "a reused code revokes the tokens issued with it");
    let (status, _) = setup.refresh(&client_id, &refresh_of(&tokens)).await;
    assert_eq!(status, 400, "and their refresh token");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let setup = setup().await;
    let (client_id, first) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    let (status, second) = setup.refresh(&client_id, &refresh_of(&first)).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(refresh_of(&first), refresh_of(&second), "refresh tokens rotate");
    assert_eq!(setup.mcp_status(&access(&second)).await, 200);

    let (status, error) = setup.refresh(&client_id, &refresh_of(&first)).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "reused refresh token: {error}");
    let (status, _) = setup.refresh(&client_id, &refresh_of(&second)).await;
    assert_eq!(status, 400, "the newest refresh token of the family is revoked too");
    assert_eq!(setup.mcp_status(&access(&second)).await, 401, "and the family's access tokens");

    // Narrowing the scope on refresh is allowed, widening is not.
    let (client_id, tokens) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", &refresh_of(&tokens)),
            ("scope", "messages:send"),
        ])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_scope")));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn revocation_ends_the_sign_in() {
    let setup = setup().await;
    let http = common::http();
    let (client_id, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let revoked = http
        .post(format!("{}/revoke", setup.browser.base))
        .form(&[("token", refresh_of(&tokens).as_str()), ("client_id", &client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(setup.refresh(&client_id, &refresh_of(&tokens)).await.0, 400);
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401);

    // Revoking an access token ends its sign-in as well; unknown tokens get the same 200.
    let (_, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let revoked = http.post(format!("{}/revoke", setup.browser.base)).form(&[("token", access(&tokens).as_str())]).send().await.unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401);
    let unknown = http.post(format!("{}/revoke", setup.browser.base)).form(&[("token", "nothing-like-a-token")]).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 200);
    setup.test.server.shutdown().await;
}

/// Tokens made with the server's own signing key (read from its data directory), so that only
/// the claim under test is wrong.
#[tokio::test]
async fn expired_foreign_audience_bad_signature_and_unsigned_tokens_get_401() {
    let setup = setup().await;
    let (_, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let good = claims_of(&access(&tokens));
    let kid = jsonwebtoken::decode_header(access(&tokens)).unwrap().kid.unwrap();
    let key = EncodingKey::from_ec_der(&std::fs::read(setup.test.directory.path().join("oauth/signing-key.p8")).unwrap());
    let sign = |claims: &Value, key: &EncodingKey| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    };
    assert_eq!(setup.mcp_status(&sign(&good, &key)).await, 200, "the re-signed good claims pass");
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    assert_eq!(setup.mcp_status(&sign(&expired, &key)).await, 401, "expired");
    let mut foreign = good.clone();
    foreign["aud"] = json!("https://other.example/mcp");
    assert_eq!(setup.mcp_status(&sign(&foreign, &key)).await, 401, "wrong audience");
    let attacker = EncodingKey::from_ec_pem(include_bytes!("fixtures/test-attacker-es256.pem")).unwrap();
    assert_eq!(setup.mcp_status(&sign(&good, &attacker)).await, 401, "bad signature");
    let unsigned =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()), URL_SAFE_NO_PAD.encode(good.to_string()));
    assert_eq!(setup.mcp_status(&unsigned).await, 401, "alg none");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn a_token_without_the_scope_cannot_send_and_teams_see_only_their_own_contacts() {
    let setup = setup().await;
    // Team A: the sandbox demo team, in one click, with read scopes only.
    let (_, team_a) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    // Team B: another sandbox team, signed in with its own API key.
    let team_b_key = setup.new_sandbox_team_key("Team B").await;
    let (_, team_b) = setup.sign_in("contacts:read contacts:write", &[("decision", "allow"), ("api_key", &team_b_key)]).await;
    assert_ne!(claims_of(&access(&team_a))["sub"], claims_of(&access(&team_b))["sub"], "two accounts");

    let response = common::http()
        .post(setup.test.server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(access(&team_a))
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "send_message", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"messages:send\""), "{challenge}");

    let b = setup.connect_with(&access(&team_b)).await;
    let made = b
        .call_tool(
            CallToolRequestParams::new("create_contact")
                .with_arguments(arguments(json!({"phone": "+15550001111", "name": "Zed Bravo-only"}))),
        )
        .await
        .unwrap();
    let made = common::ok(made);
    let found_by_b = common::ok(
        b.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Zed"})))).await.unwrap(),
    );
    assert_eq!(found_by_b["data"].as_array().unwrap().len(), 1, "{found_by_b}");
    b.cancel().await.unwrap();

    let a = setup.connect_with(&access(&team_a)).await;
    let found_by_a = common::ok(
        a.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Zed"})))).await.unwrap(),
    );
    assert_eq!(found_by_a["data"], json!([]), "team A cannot see team B's contact {made}");
    let ada = common::ok(
        a.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap(),
    );
    assert_eq!(ada["data"].as_array().unwrap().len(), 1, "team A sees its own");
    a.cancel().await.unwrap();
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn a_client_id_metadata_document_identifies_the_client() {
    let setup = setup().await;
    // The app's metadata document, served where its client id points (loopback is allowed
    // because this server itself is on loopback).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_id = format!("http://{}/oauth/client.json", listener.local_addr().unwrap());
    let liar_id = format!("http://{}/oauth/liar.json", listener.local_addr().unwrap());
    let document = json!({"client_id": client_id, "client_name": "Metadata App", "redirect_uris": [CALLBACK]});
    let lie = json!({"client_id": "https://someone-else.example/client.json", "client_name": "Liar", "redirect_uris": [CALLBACK]});
    let app = axum::Router::new()
        .route("/oauth/client.json", axum::routing::get(move || async move { axum::Json(document) }))
        .route("/oauth/liar.json", axum::routing::get(move || async move { axum::Json(lie) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let verifier = VERIFIER;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(verifier);
    let page =
        setup.browser.open_consent(&setup.authorize_url(&client_id, &setup.standard_request(&challenge, "contacts:read", &resource))).await;
    assert!(page.body.contains("Metadata App"));
    assert!(!page.body.contains("name given by the app itself"), "a metadata document is fetched from the client's own URL");
    let code = query_value(&redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await), "code").unwrap();
    let (status, tokens) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(&access(&tokens))["client_id"], client_id);

    let response = setup
        .browser
        .http
        .get(setup.authorize_url(&liar_id, &setup.standard_request(&challenge, "contacts:read", &resource)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("names another client_id"));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn bad_registrations_get_rfc_7591_errors() {
    let setup = setup().await;
    let http = common::http();
    let register =
        |body: String| http.post(format!("{}/register", setup.browser.base)).header("content-type", "application/json").body(body).send();
    let response = register("{not json".to_owned()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client_metadata");
    let response = register(json!({"client_name": "No redirect"}).to_string()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "invalid_redirect_uri");
    assert!(error["error_description"].as_str().unwrap().contains("redirect_uris is required"));
    let response = register(json!({"redirect_uris": ["http://app.example.com/cb"]}).to_string()).await.unwrap();
    let error: Value = response.json().await.unwrap();
    assert!(error["error_description"].as_str().unwrap().contains("use https"), "{error}");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn a_public_builtin_server_needs_an_https_public_url() {
    let directory = tempfile::tempdir().unwrap();
    // Refused when the settings are read, before anything starts.
    let public = |public_url: Option<&str>| {
        let mut args = vec!["--auth", "builtin", "--listen", "0.0.0.0:0"];
        args.extend(public_url.map(|url| ["--public-url", url]).into_iter().flatten());
        common::try_settings(directory.path(), &args).expect_err("refused").to_string()
    };
    let error = public(None);
    assert!(error.contains("needs --public-url"), "{error}");
    let error = public(Some("http://mcp.example.com"));
    assert!(error.contains("must be served over https"), "{error}");
    let error = public(Some("https://example.com/clerk"));
    assert!(error.contains("root of its host"), "{error}");
}

#[tokio::test]
async fn an_mcp_session_serves_only_the_account_that_opened_it() {
    let setup = setup().await;
    let (_, owner) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let intruder_key = setup.new_sandbox_team_key("Intruder team").await;
    let (_, intruder) = setup.sign_in("contacts:read", &[("decision", "allow"), ("api_key", &intruder_key)]).await;

    let post = |token: String, session: Option<String>, message: Value| {
        let mut request = common::http()
            .post(setup.test.server.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .bearer_auth(token)
            .json(&message);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = post(access(&owner), None, initialize).await.unwrap();
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let stolen = post(access(&intruder), Some(session.clone()), list.clone()).await.unwrap();
    assert_eq!(stolen.status().as_u16(), 404, "another account's token cannot use the session");
    let own = post(access(&owner), Some(session), list).await.unwrap();
    assert_eq!(own.status().as_u16(), 200, "its owner still can");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn on_loopback_localhost_names_the_same_server() {
    let setup = setup().await;
    let localhost = format!("http://localhost:{}", setup.test.server.address.port());
    let http = common::http();
    let metadata: Value =
        http.get(format!("{localhost}/.well-known/oauth-protected-resource/mcp")).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{localhost}/mcp"), "the resource as the client was given it");
    assert_eq!(metadata["authorization_servers"], json!([setup.browser.base]), "one issuer, whatever the name");
    let challenge = http.post(format!("{localhost}/mcp")).json(&json!({})).send().await.unwrap();
    let challenge = challenge.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(&format!("resource_metadata=\"{localhost}/.well-known/")), "{challenge}");

    // A resource named through localhost is this server; the token's audience stays canonical.
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let verifier = VERIFIER;
    let resource = format!("{localhost}/mcp");
    let page = setup
        .browser
        .open_consent(&setup.authorize_url(&client_id, &setup.standard_request(&challenge_of(verifier), "contacts:read", &resource)))
        .await;
    let code = query_value(&redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await), "code").unwrap();
    let (status, tokens) = setup
        .browser
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
            ("resource", &resource),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(&access(&tokens))["aud"], setup.test.server.mcp_url());
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn registrations_and_consent_answers_are_limited_per_address() {
    let setup = setup().await;
    let register = || common::http().post(format!("{}/register", setup.browser.base)).json(&json!({"redirect_uris": [CALLBACK]})).send();
    for attempt in 0..30 {
        assert_eq!(register().await.unwrap().status().as_u16(), 201, "attempt {attempt} is within the allowance");
    }
    let refused = register().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let error: Value = refused.json().await.unwrap();
    assert!(error["error_description"].as_str().unwrap().contains("try again in"), "{error}");
    // The same allowance covers answers to the consent page, which try keys with Clerk Chat.
    let answer = setup.browser.http.post(format!("{}/authorize", setup.browser.base)).form(&[("decision", "allow")]).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 429);
    // Reading metadata and exchanging tokens are not limited.
    let metadata = common::http().get(format!("{}/.well-known/oauth-authorization-server", setup.browser.base)).send().await.unwrap();
    assert_eq!(metadata.status().as_u16(), 200);
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn sign_ins_are_stored_where_the_database_url_says() {
    let directory = tempfile::tempdir().unwrap();
    let elsewhere = directory.path().join("elsewhere/sign-ins.db");
    let url = format!("sqlite://{}", elsewhere.display());
    let server = clerk_mcp::start_http(&common::settings(directory.path(), &["--auth", "builtin", "--database-url", &url])).await.unwrap();
    let tokens = Browser::new(format!("http://{}", server.address)).sign_in_to_sandbox().await;
    let client = common::connect_with_token(&server.mcp_url(), tokens["access_token"].as_str().unwrap()).await;
    let found =
        client.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap();
    assert_eq!(common::ok(found)["data"][0]["name"], "Ada Lovelace", "the signed-in account's key reaches the sandbox");
    assert!(elsewhere.exists(), "the database is at the URL's path");
    assert!(!directory.path().join("oauth/oauth.db").exists(), "and not in the data directory");
    client.cancel().await.unwrap();
    server.shutdown().await;
}

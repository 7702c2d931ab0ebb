//! The authorization server on its own, through its HTTP endpoints on loopback: codes and
//! refresh tokens stop working when they expire, and everything a client holds survives a
//! restart on the same directory (database, signing key, vault key). Every test runs on SQLite
//! and on a fresh PostgreSQL database; replicas sharing one PostgreSQL database share sign-ins
//! and hear each other's revocations.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use clerk_oauth::{AuthorizationServer, AuthorizationServerConfig, BoxFuture, KeyCheckError, ScopeDescription, SignInBackend};
use clerk_store::DatabaseUrl;
use serde_json::{Value, json};
use sha2::Digest;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";
const GOOD_KEY: &str = "team-key-for-tests";

/// Accepts one key, the way the server's backend asks Clerk Chat.
struct OneKey;

impl SignInBackend for OneKey {
    fn check_api_key<'a>(&'a self, api_key: &'a str) -> BoxFuture<'a, Result<(), KeyCheckError>> {
        Box::pin(async move {
            if api_key == GOOD_KEY { Ok(()) } else { Err(KeyCheckError::Rejected("Clerk Chat refused this API key.".to_owned())) }
        })
    }

    fn sandbox_team_key(&self) -> Option<String> {
        None
    }
}

struct Running {
    server: Arc<AuthorizationServer>,
    base: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

/// Serves an authorization server from `directory` on a fresh loopback port. The issuer is
/// fixed so that tokens stay valid across the restart.
async fn serve(directory: &std::path::Path, database: &DatabaseUrl, listener: tokio::net::TcpListener, lifetimes: (u64, u64)) -> Running {
    let scopes = vec![ScopeDescription { name: "contacts:read".into(), description: "Search contacts".into() }];
    let mut config =
        AuthorizationServerConfig::new("http://issuer.test".into(), "http://issuer.test/mcp".into(), scopes, directory.to_owned());
    config.code_lifetime = Duration::from_secs(lifetimes.0);
    config.refresh_token_lifetime = Duration::from_secs(lifetimes.1);
    config.database = database.clone();
    serve_with(config, listener).await
}

async fn serve_with(config: AuthorizationServerConfig, listener: tokio::net::TcpListener) -> Running {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = AuthorizationServer::open(config, Arc::new(OneKey)).await.unwrap();
    let router = server.router();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Running { server, base, http, task }
}

/// A claim of the access token in a token response.
fn claim_of(tokens: &Value, claim: &str) -> String {
    let payload = tokens["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims[claim].as_str().unwrap().to_owned()
}

/// The account (`sub`) an access token names.
fn account_of(tokens: &Value) -> String {
    claim_of(tokens, "sub")
}

/// The stores every test runs on: SQLite in `directory`, and a fresh PostgreSQL database.
async fn backends(directory: &std::path::Path) -> [DatabaseUrl; 2] {
    [DatabaseUrl::sqlite(directory.join("oauth.db")), clerk_store::testing::fresh_postgres_database().await]
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

impl Running {
    /// Registers a client and signs in with the good key; returns the client id and the code.
    async fn code(&self) -> (String, String) {
        let registration: Value = self
            .http
            .post(format!("{}/register", self.base))
            .json(&json!({"redirect_uris": [REDIRECT]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let client_id = registration["client_id"].as_str().unwrap().to_owned();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER));
        let page = self
            .http
            .get(format!("{}/authorize", self.base))
            .query(&[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", REDIRECT),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body = page.text().await.unwrap();
        assert!(!body.contains("Sandbox"), "no sandbox banner off the sandbox");
        let field = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            body[body.find(&marker).unwrap() + marker.len()..].split('"').next().unwrap().to_owned()
        };
        let answer = self
            .http
            .post(format!("{}/authorize", self.base))
            .header("cookie", cookie)
            .form(&[("request", field("request")), ("csrf", field("csrf")), ("decision", "allow".into()), ("api_key", GOOD_KEY.into())])
            .send()
            .await
            .unwrap();
        let location = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let code = location.query_pairs().find(|(name, _)| name == "code").unwrap().1.into_owned();
        (client_id, code)
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/token", self.base)).form(form).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn exchange(&self, client_id: &str, code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        self.token(&[("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", refresh_token)]).await
    }

    async fn stop(self) {
        self.task.abort();
        self.server.close().await;
    }
}

#[tokio::test]
async fn codes_and_refresh_tokens_expire() {
    let directory = tempfile::tempdir().unwrap();
    for database in backends(directory.path()).await {
        codes_and_refresh_tokens_expire_on(directory.path(), &database).await;
    }
}

async fn codes_and_refresh_tokens_expire_on(directory: &std::path::Path, database: &DatabaseUrl) {
    let running = serve(directory, database, listener().await, (0, 0)).await;
    let (client_id, code) = running.code().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, error) = running.exchange(&client_id, &code).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "{error}");
    assert!(error["error_description"].as_str().unwrap().contains("expired"), "{error}");

    let (client_id, code) = running.code().await;
    let (status, tokens) = running.exchange(&client_id, &code).await;
    assert_eq!(status, 200, "a code used at once works: {tokens}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, error) = running.refresh(&client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "{error}");
    running.stop().await;
}

#[tokio::test]
async fn sign_ins_keys_and_tokens_survive_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    for database in backends(directory.path()).await {
        sign_ins_keys_and_tokens_survive_a_restart_on(directory.path(), &database).await;
    }
}

async fn sign_ins_keys_and_tokens_survive_a_restart_on(directory: &std::path::Path, database: &DatabaseUrl) {
    let running = serve(directory, database, listener().await, (60, 3600)).await;
    let (client_id, code) = running.code().await;
    let (status, tokens) = running.exchange(&client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let jwks_before: Value = running.http.get(format!("{}/jwks.json", running.base)).send().await.unwrap().json().await.unwrap();
    let account = account_of(&tokens);
    assert_eq!(running.server.upstream_api_key(&account).await.ok().as_deref(), Some(GOOD_KEY));
    running.stop().await;

    let restarted = serve(directory, database, listener().await, (60, 3600)).await;
    let jwks_after: Value = restarted.http.get(format!("{}/jwks.json", restarted.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks_before, jwks_after, "the signing key is persisted");
    assert_eq!(restarted.server.upstream_api_key(&account).await.ok().as_deref(), Some(GOOD_KEY), "the sealed key opens");
    let (status, refreshed) = restarted.refresh(&client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the refresh token survives the restart: {refreshed}");
    assert!(
        !stored_bytes(database).await.windows(GOOD_KEY.len()).any(|window| window == GOOD_KEY.as_bytes()),
        "the API key is not stored in the clear"
    );
    restarted.stop().await;
}

#[tokio::test]
async fn a_store_outage_is_temporary_and_says_nothing_of_its_cause() {
    let directory = tempfile::tempdir().unwrap();
    for database in backends(directory.path()).await {
        a_store_outage_is_temporary_on(directory.path(), &database).await;
    }
}

async fn a_store_outage_is_temporary_on(directory: &std::path::Path, database: &DatabaseUrl) {
    let running = serve(directory, database, listener().await, (60, 3600)).await;
    let (client_id, code) = running.code().await;
    let (status, tokens) = running.exchange(&client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let unknown = running.server.upstream_api_key("no-such-account").await.unwrap_err();
    assert!(!unknown.is_temporary(), "an unknown account must sign in again");
    assert!(unknown.public_message().contains("sign in again"), "{}", unknown.public_message());

    running.server.close().await;
    let account = account_of(&tokens);
    let outage = running.server.upstream_api_key(&account).await.unwrap_err();
    assert!(outage.is_temporary(), "a store outage is not the user's problem: {outage}");
    assert_eq!(outage.public_message(), "the server cannot reach its database; try again shortly");
    let (status, error) = running.refresh(&client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, error["error"].as_str()), (503, Some("temporarily_unavailable")), "{error}");
    let description = error["error_description"].as_str().unwrap();
    assert!(!description.contains("pool") && !description.contains("sqlx"), "no driver detail reaches a client: {description}");
    running.task.abort();
}

#[tokio::test]
async fn replicas_on_one_postgres_share_sign_ins_and_hear_each_others_revocations() {
    let keys = tempfile::tempdir().unwrap();
    let signing_key = keys.path().join("signing-key.pem");
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
        .arg(&signing_key)
        .status();
    if !status.is_ok_and(|status| status.success()) {
        // Without openssl, the same PKCS#8 PEM from the server's own writer.
        clerk_oauth::write_new_signing_key(&signing_key).unwrap();
    }
    let database = clerk_store::testing::fresh_postgres_database().await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let directory = tempfile::tempdir().unwrap();
        let scopes = vec![ScopeDescription { name: "contacts:read".into(), description: "Search contacts".into() }];
        let mut config = AuthorizationServerConfig::new(
            "http://issuer.test".into(),
            "http://issuer.test/mcp".into(),
            scopes,
            directory.path().to_owned(),
        );
        config.database = database.clone();
        config.signing_key_files = vec![signing_key.clone()];
        config.vault_key = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned());
        replicas.push((serve_with(config, listener().await).await, directory));
    }
    let ((first, _), (second, _)) = (&replicas[0], &replicas[1]);
    let (client_id, code) = first.code().await;
    let (status, tokens) = second.exchange(&client_id, &code).await;
    assert_eq!(status, 200, "a code from one replica is redeemed at the other: {tokens}");
    let account = account_of(&tokens);
    assert_eq!(first.server.upstream_api_key(&account).await.ok().as_deref(), Some(GOOD_KEY), "both open the sealed key");
    let kid = |jwks: Value| jwks["keys"][0]["kid"].clone();
    let jwks_of = |running: &Running| running.http.get(format!("{}/jwks.json", running.base)).send();
    assert_eq!(kid(jwks_of(first).await.unwrap().json().await.unwrap()), kid(jwks_of(second).await.unwrap().json().await.unwrap()));
    let (status, refreshed) = first.refresh(&client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");

    let grant = claim_of(&tokens, "sid");
    assert!(!first.server.is_grant_revoked(&grant) && !second.server.is_grant_revoked(&grant));
    let revoked = second
        .http
        .post(format!("{}/revoke", second.base))
        .form(&[("token", refreshed["refresh_token"].as_str().unwrap()), ("client_id", &client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let started = std::time::Instant::now();
    while !first.server.is_grant_revoked(&grant) {
        assert!(started.elapsed() < Duration::from_secs(1), "the other replica hears of the revocation within a second");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("revocation heard by the other replica after {:?}", started.elapsed());
    for (replica, _) in replicas {
        replica.stop().await;
    }
}

/// Everything the store holds, as bytes: the SQLite file, or a dump of PostgreSQL's tables.
async fn stored_bytes(database: &DatabaseUrl) -> Vec<u8> {
    match database {
        DatabaseUrl::Sqlite(path) => std::fs::read(path).unwrap(),
        DatabaseUrl::Postgres(url) => {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect_with(&url.connect_options()).await.unwrap();
            let mut bytes = Vec::new();
            for table in ["clients", "accounts", "grants", "authorization_codes", "refresh_tokens"] {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM {table} t")))
                    .fetch_all(&mut connection)
                    .await
                    .unwrap();
                bytes.extend(rows.concat().into_bytes());
            }
            bytes
        }
    }
}

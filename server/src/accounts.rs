//! Per-user upstream credentials. With the built-in authorization server every tool call goes to
//! Clerk Chat with the API key of the account its token names, and no other; this module checks
//! keys at sign-in and turns a signed-in account into its upstream client.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clerk_chat::{ApiKey, ClientOptions};
use clerk_oauth::{AccountKeyError, AuthorizationServer, BoxFuture, KeyCheckError, SignInBackend};
use moka::sync::Cache;

use crate::auth::{Principal, ResourceServer};

/// The caller's own upstream client, put into the request's extensions for `ServerHost`.
#[derive(Clone)]
pub(crate) struct AccountClient(pub(crate) clerk_chat::Client);

/// Accounts whose key was opened once keep their client (keys never change under an account),
/// at most this many, the least recently used going first...
const CACHED_CLIENTS: u64 = 10_000;
/// ...and each until it has not been used for this long.
const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Signed-in accounts' upstream clients.
pub(crate) struct AccountClients {
    authorization_server: Arc<AuthorizationServer>,
    resource_server: Arc<ResourceServer>,
    base_url: String,
    options: ClientOptions,
    cache: Cache<String, clerk_chat::Client>,
}

/// Why an account has no client for this request. Two faces: `Display` (the cause) is logged;
/// the client gets a fixed message and a status that says whether to sign in again.
#[derive(Debug, thiserror::Error)]
enum AccountClientError {
    #[error(transparent)]
    Key(#[from] AccountKeyError),
    #[error("the stored API key is not usable: {0}")]
    BadKey(#[from] clerk_chat::InvalidApiKey),
    #[error("cannot build the account's client: {0}")]
    Client(#[from] clerk_chat::ClientBuildError),
}

impl AccountClients {
    pub(crate) fn new(
        authorization_server: Arc<AuthorizationServer>,
        resource_server: Arc<ResourceServer>,
        base_url: String,
        options: ClientOptions,
    ) -> AccountClients {
        let cache = Cache::builder().max_capacity(CACHED_CLIENTS).time_to_idle(CLIENT_IDLE_TIMEOUT).build();
        AccountClients { authorization_server, resource_server, base_url, options, cache }
    }

    async fn client(&self, account_id: &str) -> Result<clerk_chat::Client, AccountClientError> {
        if let Some(client) = self.cache.get(account_id) {
            return Ok(client);
        }
        let key = ApiKey::new(self.authorization_server.upstream_api_key(account_id).await?)?;
        let client = clerk_chat::Client::with_options(&self.base_url, &key, &self.options)?;
        self.cache.insert(account_id.to_owned(), client.clone());
        Ok(client)
    }
}

/// The answer for a request whose account has no client: 503 when it may work later as it is
/// (the store is down), else 401 so that the client signs in again. Fixed text either way.
fn refusal(resource_server: &ResourceServer, headers: &HeaderMap, error: &AccountClientError) -> Response {
    match error {
        AccountClientError::Key(key) if key.is_temporary() => {
            let body = axum::Json(serde_json::json!({"error": "temporarily_unavailable", "error_description": key.public_message()}));
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        AccountClientError::Key(key) => resource_server.unauthorized(headers, Some(key.public_message())),
        AccountClientError::BadKey(_) | AccountClientError::Client(_) => {
            resource_server.unauthorized(headers, Some("this sign-in can no longer be used; sign in again"))
        }
    }
}

/// The middleware after `require_token`: attaches the caller's upstream client, or refuses.
pub(crate) async fn attach_account_client(State(accounts): State<Arc<AccountClients>>, mut request: Request, next: Next) -> Response {
    let Some(account) = request.extensions().get::<Principal>().map(|principal| principal.subject.clone()) else {
        // Without a principal no client is attached, and `ServerHost` refuses every tool call.
        return next.run(request).await;
    };
    match accounts.client(&account).await {
        Ok(client) => {
            request.extensions_mut().insert(AccountClient(client));
            next.run(request).await
        }
        Err(error) => {
            tracing::error!(account, "cannot open the account's upstream client: {error}");
            refusal(&accounts.resource_server, request.headers(), &error)
        }
    }
}

/// Checks keys at sign-in against the upstream, with the cheapest read there is.
pub(crate) struct UpstreamSignIn {
    pub(crate) base_url: String,
    pub(crate) options: ClientOptions,
    /// On the embedded sandbox: the demo team's key, for the one-click sign-in.
    pub(crate) sandbox_key: Option<String>,
}

impl SignInBackend for UpstreamSignIn {
    fn check_api_key<'a>(&'a self, api_key: &'a str) -> BoxFuture<'a, Result<(), KeyCheckError>> {
        Box::pin(async move {
            let key =
                ApiKey::new(api_key).map_err(|error| KeyCheckError::Rejected(format!("That is not a Clerk Chat API key: {error}.")))?;
            let unreachable = |cause: String| KeyCheckError::Unavailable {
                message: "Cannot reach Clerk Chat to check the key; try again shortly.".to_owned(),
                cause,
            };
            let client =
                clerk_chat::Client::with_options(&self.base_url, &key, &self.options).map_err(|error| unreachable(error.to_string()))?;
            let Err(error) = client.find_messages().limit(1).send().await else { return Ok(()) };
            Err(match error.status().map(|status| status.as_u16()) {
                Some(401 | 403) => {
                    KeyCheckError::Rejected("Clerk Chat refused this API key. Copy it again from Clerk Chat > Settings > API.".to_owned())
                }
                Some(429) => KeyCheckError::Unavailable {
                    message: "Clerk Chat is rate limiting this key right now; wait a moment and try again.".to_owned(),
                    cause: "Clerk Chat answered 429".to_owned(),
                },
                Some(status) => KeyCheckError::Unavailable {
                    message: format!("Clerk Chat answered {status} while checking the key; try again shortly."),
                    cause: format!("Clerk Chat answered an unexpected status {status}"),
                },
                None => unreachable(error.to_string()),
            })
        })
    }

    fn sandbox_team_key(&self) -> Option<String> {
        self.sandbox_key.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoKeys;

    impl SignInBackend for NoKeys {
        fn check_api_key<'a>(&'a self, _api_key: &'a str) -> BoxFuture<'a, Result<(), KeyCheckError>> {
            Box::pin(async { Err(KeyCheckError::Rejected("no".to_owned())) })
        }

        fn sandbox_team_key(&self) -> Option<String> {
            None
        }
    }

    async fn resource_server(directory: &std::path::Path) -> ResourceServer {
        let config = clerk_oauth::AuthorizationServerConfig::new(
            "http://127.0.0.1:9".to_owned(),
            "http://127.0.0.1:9/mcp".to_owned(),
            Vec::new(),
            directory.to_owned(),
        );
        ResourceServer::built_in(AuthorizationServer::open(config, Arc::new(NoKeys)).await.unwrap(), &clerk_chat::tools::TOOLS, 1024)
    }

    #[tokio::test]
    async fn a_store_outage_is_a_503_and_a_lost_account_a_401_both_with_fixed_text() {
        let directory = tempfile::tempdir().unwrap();
        let resource_server = resource_server(directory.path()).await;
        let outage = AccountClientError::Key(AccountKeyError::Store(clerk_store::StoreError::Query(sqlx::Error::PoolClosed)));
        let response = refusal(&resource_server, &HeaderMap::new(), &outage);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE), "an outage does not ask the user to sign in again");
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error_description"], clerk_store::StoreError::PUBLIC_MESSAGE);
        assert!(!body.to_string().contains("pool"), "no driver detail: {body}");

        let lost = AccountClientError::Key(AccountKeyError::Unreadable);
        let response = refusal(&resource_server, &HeaderMap::new(), &lost);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.contains("error_description=\"this sign-in can no longer be used; sign in again\""), "{challenge}");
        assert!(!challenge.contains("VAULT_KEY"), "the cause stays in the log: {challenge}");
    }
}

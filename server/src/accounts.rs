//! Per-user upstream credentials. With the built-in authorization server every tool call goes to
//! Clerk Chat with the API key of the account its token names, and no other; this module checks
//! keys at sign-in and turns a signed-in account into its upstream client.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use clerk_chat::{ApiKey, ClientOptions};
use clerk_oauth::{AuthorizationServer, BoxFuture, SignInBackend};

use crate::auth::{Principal, ResourceServer};

/// The caller's own upstream client, put into the request's extensions for `ServerHost`.
#[derive(Clone)]
pub struct AccountClient(pub clerk_chat::Client);

/// Accounts whose key was opened once keep their client: keys never change under an account.
const MAX_CACHED_CLIENTS: usize = 10_000;

pub struct AccountClients {
    authorization_server: Arc<AuthorizationServer>,
    resource_server: Arc<ResourceServer>,
    base_url: String,
    options: ClientOptions,
    cache: RwLock<HashMap<String, clerk_chat::Client>>,
}

impl AccountClients {
    pub fn new(
        authorization_server: Arc<AuthorizationServer>,
        resource_server: Arc<ResourceServer>,
        base_url: String,
        options: ClientOptions,
    ) -> AccountClients {
        AccountClients { authorization_server, resource_server, base_url, options, cache: RwLock::new(HashMap::new()) }
    }

    async fn client(&self, account_id: &str) -> Result<clerk_chat::Client, String> {
        if let Some(client) = self.cache.read().expect("the client cache lock is never poisoned").get(account_id) {
            return Ok(client.clone());
        }
        let key = match self.authorization_server.upstream_api_key(account_id).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err("the token names an account this server does not know; sign in again".to_owned()),
            Err(error) => {
                tracing::error!(account_id, "cannot open the account's API key: {error}");
                return Err(error.to_string());
            }
        };
        let key = ApiKey::new(key).map_err(|error| error.to_string())?;
        let client = clerk_chat::Client::with_options(&self.base_url, &key, &self.options).map_err(|error| error.to_string())?;
        let mut cache = self.cache.write().expect("the client cache lock is never poisoned");
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        cache.insert(account_id.to_owned(), client.clone());
        Ok(client)
    }
}

/// The middleware after `require_token`: attaches the caller's upstream client, or answers 401
/// so that the client signs in again.
pub async fn attach_account_client(State(accounts): State<Arc<AccountClients>>, mut request: Request, next: Next) -> Response {
    let Some(account) = request.extensions().get::<Principal>().map(|principal| principal.subject.clone()) else {
        // Without a principal no client is attached, and `ServerHost` refuses every tool call.
        return next.run(request).await;
    };
    match accounts.client(&account).await {
        Ok(client) => {
            request.extensions_mut().insert(AccountClient(client));
            next.run(request).await
        }
        Err(reason) => accounts.resource_server.unauthorized(request.headers(), Some(&reason)),
    }
}

/// Checks keys at sign-in against the upstream, with the cheapest read there is.
pub struct UpstreamSignIn {
    pub base_url: String,
    pub options: ClientOptions,
    /// On the embedded sandbox: the demo team's key, for the one-click sign-in.
    pub sandbox_key: Option<String>,
}

impl SignInBackend for UpstreamSignIn {
    fn check_api_key<'a>(&'a self, api_key: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let key = ApiKey::new(api_key).map_err(|error| format!("That is not a Clerk Chat API key: {error}."))?;
            let client = clerk_chat::Client::with_options(&self.base_url, &key, &self.options).map_err(|error| error.to_string())?;
            match client.find_messages().limit(1).send().await {
                Ok(_) => Ok(()),
                Err(error) => match error.status().map(|status| status.as_u16()) {
                    Some(401 | 403) => Err("Clerk Chat refused this API key. Copy it again from Clerk Chat > Settings > API.".to_owned()),
                    Some(429) => Err("Clerk Chat is rate limiting this key right now; wait a moment and try again.".to_owned()),
                    Some(status) => {
                        tracing::warn!(status, "Clerk Chat answered an unexpected status while checking a key");
                        Err(format!("Clerk Chat answered {status} while checking the key; try again shortly."))
                    }
                    None => {
                        tracing::warn!("cannot reach Clerk Chat to check a key: {error}");
                        Err("Cannot reach Clerk Chat to check the key; try again shortly.".to_owned())
                    }
                },
            }
        })
    }

    fn sandbox_team_key(&self) -> Option<String> {
        self.sandbox_key.clone()
    }
}

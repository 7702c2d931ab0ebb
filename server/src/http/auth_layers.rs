//! The one place an auth mode becomes HTTP: whose key tool calls go upstream with, the routes
//! beside `/mcp` (protected resource metadata, the built-in authorization server), and the
//! middleware in front of `/mcp`. A new auth mode is a variant of `config::AuthMode` and an
//! arm here.

use std::sync::Arc;

use clerk_chat::mcp::ToolSpec;
use clerk_oauth::{AuthorizationServer, AuthorizationServerConfig, ScopeDescription};

use crate::accounts::{AccountClients, UpstreamSignIn};
use crate::auth::ResourceServer;
use crate::config::AuthMode;
use crate::session_store::SqlSessionStore;
use crate::upstream::Upstream;
use crate::{Credentials, Settings, StartError};

/// What an auth mode adds to the HTTP server.
pub(super) struct AuthLayers {
    /// Whose key tool calls go upstream with.
    pub(super) credentials: Credentials,
    /// Routes beside `/mcp`.
    pub(super) routes: axum::Router,
    /// The built-in authorization server, closed on shutdown.
    pub(super) authorization_server: Option<Arc<AuthorizationServer>>,
    middleware: Middleware,
}

/// What runs in front of `/mcp`.
enum Middleware {
    Nothing,
    /// A valid token with the tool's scope.
    Token(Arc<ResourceServer>),
    /// A valid token, then the account's own upstream client attached to the request.
    TokenThenAccount(Arc<ResourceServer>, Arc<AccountClients>),
}

impl AuthLayers {
    /// `/mcp` behind this mode's middleware.
    pub(super) fn protect(&self, mcp: axum::Router) -> axum::Router {
        use axum::middleware::from_fn_with_state;
        match &self.middleware {
            Middleware::Nothing => mcp,
            Middleware::Token(resource_server) => mcp.layer(from_fn_with_state(resource_server.clone(), crate::auth::require_token)),
            // The last layer runs first: the token is checked before the account's client is attached.
            Middleware::TokenThenAccount(resource_server, accounts) => mcp
                .layer(from_fn_with_state(accounts.clone(), crate::accounts::attach_account_client))
                .layer(from_fn_with_state(resource_server.clone(), crate::auth::require_token)),
        }
    }
}

/// The layers of the settings' auth mode. `public_base` is this server's canonical base URL.
/// Session owners are kept in `sessions` beside the sessions themselves.
pub(super) async fn for_mode(
    settings: &Settings,
    public_base: &str,
    upstream: &Upstream,
    sessions: &Arc<SqlSessionStore>,
) -> Result<AuthLayers, StartError> {
    match &settings.auth {
        AuthMode::None => Ok(AuthLayers {
            credentials: Credentials::operators(upstream)?,
            routes: axum::Router::new(),
            authorization_server: None,
            middleware: Middleware::Nothing,
        }),
        AuthMode::External { issuer, .. } => {
            let resource_server = Arc::new(
                ResourceServer::discover(issuer, public_base.to_owned(), settings.tools.served(), settings.max_body_bytes)
                    .await?
                    .with_shared_sessions(sessions.clone()),
            );
            Ok(AuthLayers {
                credentials: Credentials::operators(upstream)?,
                routes: resource_server.metadata_routes(),
                authorization_server: None,
                middleware: Middleware::Token(resource_server),
            })
        }
        AuthMode::Builtin { vault_key, signing_key_files, database, trusted_proxies, redirect_schemes, .. } => {
            let mut config = AuthorizationServerConfig::new(
                public_base.to_owned(),
                format!("{public_base}/mcp"),
                scope_descriptions(settings.tools.served()),
                settings.oauth_directory(),
            );
            config.vault_key = vault_key.clone();
            config.signing_key_files = signing_key_files.clone();
            config.database = database.clone();
            config.sandbox = upstream.sandbox.is_some();
            config.trusted_proxies = trusted_proxies.clone();
            config.redirect_schemes = redirect_schemes.clone();
            config.allow_local_metadata_documents = settings.listen.ip().is_loopback();
            let sign_in = UpstreamSignIn {
                base_url: upstream.base_url.clone(),
                options: upstream.options.clone(),
                sandbox_key: upstream.sandbox_api_key.clone(),
            };
            let issuer = AuthorizationServer::open(config, Arc::new(sign_in)).await?;
            let resource_server = Arc::new(
                ResourceServer::built_in(issuer.clone(), settings.tools.served(), settings.max_body_bytes)
                    .with_shared_sessions(sessions.clone()),
            );
            let accounts =
                Arc::new(AccountClients::new(issuer.clone(), resource_server.clone(), upstream.base_url.clone(), upstream.options.clone()));
            Ok(AuthLayers {
                credentials: Credentials::PerAccount,
                routes: resource_server.metadata_routes().merge(issuer.router()),
                authorization_server: Some(issuer),
                middleware: Middleware::TokenThenAccount(resource_server, accounts),
            })
        }
    }
}

/// The consent page's words for each scope: the titles of the served tools it opens.
fn scope_descriptions(tools: &[&'static ToolSpec]) -> Vec<ScopeDescription> {
    let mut scopes: Vec<ScopeDescription> = Vec::new();
    for tool in tools {
        match scopes.iter_mut().find(|scope| scope.name == tool.scope) {
            Some(scope) => {
                scope.description.push_str("; ");
                scope.description.push_str(tool.title);
            }
            None => scopes.push(ScopeDescription { name: tool.scope.to_owned(), description: tool.title.to_owned() }),
        }
    }
    scopes
}

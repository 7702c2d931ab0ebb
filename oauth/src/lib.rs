//! The built-in OAuth 2.1 authorization server of the Clerk Chat MCP server, as the MCP
//! authorization spec asks of one: RFC 8414 metadata (and the OpenID discovery path), dynamic
//! client registration and client ID metadata documents, a sign-in and consent page, PKCE S256
//! codes bound to the `resource`, ES256 access tokens with a published JWKS, rotating refresh
//! tokens with reuse detection, and RFC 7009 revocation.
//!
//! Users sign in by connecting a Clerk Chat API key; the server checks it upstream (through
//! [`SignInBackend`]) and keeps it sealed in its store, chosen by a database URL. The resource
//! server asks [`AuthorizationServer::upstream_api_key`] for the key of the account a token
//! names.

mod clients;
mod endpoints;
mod errors;
mod limits;
mod pages;
mod secrets;
mod signing;
mod store;
mod vault;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use clerk_store::postgres::Notification;
use clerk_store::{DatabaseUrl, StoreError};
use ipnet::IpNet;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use moka::sync::Cache;

pub use errors::{AccountKeyError, KeyCheckError, OAuthError};
pub use signing::write_new_signing_key;

/// A boxed future, so that [`SignInBackend`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the authorization server needs from the rest of the server at sign-in.
pub trait SignInBackend: Send + Sync + 'static {
    /// Checks an API key with the Clerk Chat API, with a cheap call.
    fn check_api_key<'a>(&'a self, api_key: &'a str) -> BoxFuture<'a, Result<(), KeyCheckError>>;

    /// On the sandbox: the API key of the team that "one click" signs in to.
    fn sandbox_team_key(&self) -> Option<String>;
}

/// A scope and what it lets an app do, in words for the consent page.
#[derive(Debug, Clone)]
pub struct ScopeDescription {
    /// The scope, such as `messages:send`.
    pub name: String,
    /// What it allows, for a person deciding whether to allow it.
    pub description: String,
}

/// How the authorization server is set up; [`AuthorizationServerConfig::new`] has the defaults.
#[derive(Debug, Clone)]
pub struct AuthorizationServerConfig {
    /// The issuer: the server's canonical base URL, such as `https://mcp.example.com`.
    pub issuer: String,
    /// The one resource tokens are issued for: the canonical URL of `/mcp`.
    pub resource: String,
    /// Every scope a client may ask for.
    pub scopes: Vec<ScopeDescription>,
    /// Holds the signing key and the vault key, unless they are configured.
    pub directory: PathBuf,
    /// Files of the keys access tokens are signed with (`--signing-key-file`): the first
    /// signs, all verify and are published. Empty: one key is generated into `directory`.
    pub signing_key_files: Vec<PathBuf>,
    /// Where sign-ins are stored; `sqlite://DIRECTORY/oauth.db` by default.
    pub database: DatabaseUrl,
    /// Base64 of 32 bytes sealing the stored API keys; generated into `directory` when absent.
    pub vault_key: Option<String>,
    /// Shows the sandbox banner and the one-click sign-in.
    pub sandbox: bool,
    /// How long an access token is valid.
    pub access_token_lifetime: Duration,
    /// How long a refresh token is valid (each use rotates it).
    pub refresh_token_lifetime: Duration,
    /// How long an authorization code may wait to be exchanged.
    pub code_lifetime: Duration,
    /// Private-use redirect URI schemes allowed beside https, loopback http, reverse-DNS app
    /// schemes and known clients' (`--redirect-scheme`).
    pub redirect_schemes: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client for the per-address limits
    /// (`--trusted-proxy`); none by default, so the connection's peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Whether client ID metadata documents may be fetched from loopback and private
    /// addresses: only for a server that itself listens on loopback.
    pub allow_local_metadata_documents: bool,
}

impl AuthorizationServerConfig {
    /// The defaults: tokens for 10 minutes, refresh tokens for 30 days, codes for 60 seconds,
    /// the database in `directory`.
    pub fn new(issuer: String, resource: String, scopes: Vec<ScopeDescription>, directory: PathBuf) -> AuthorizationServerConfig {
        let issuer_for_default = issuer.clone();
        AuthorizationServerConfig {
            issuer,
            resource,
            scopes,
            database: default_database(&directory),
            directory,
            signing_key_files: Vec::new(),
            vault_key: None,
            sandbox: false,
            access_token_lifetime: Duration::from_secs(600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            code_lifetime: Duration::from_secs(60),
            redirect_schemes: Vec::new(),
            trusted_proxies: Vec::new(),
            allow_local_metadata_documents: is_loopback_url(&issuer_for_default),
        }
    }
}

/// The store used unless another is configured: SQLite beside the keys.
pub fn default_database(directory: &std::path::Path) -> DatabaseUrl {
    DatabaseUrl::sqlite(directory.join("oauth.db"))
}

/// The authorization server; [`AuthorizationServer::router`] serves it.
pub struct AuthorizationServer {
    config: AuthorizationServerConfig,
    store: Arc<dyn store::SignInStore>,
    signing_keys: signing::SigningKeys,
    vault: vault::KeyVault,
    backend: Arc<dyn SignInBackend>,
    metadata_documents: clients::MetadataDocuments,
    limits: limits::CostlyRequestLimits,
    redirects: clients::RedirectPolicy,
    /// Grants revoked recently enough that access tokens of theirs may still be unexpired;
    /// each is forgotten once every such token has expired.
    revoked_grants: Cache<String, ()>,
    /// The task that hears other replicas' revocations, when the store is shared.
    revocation_listener: Option<tokio::task::AbortHandle>,
}

/// Revoked grants remembered at most; far beyond what sign-ins (limited per address) can make
/// within one access-token lifetime.
const REMEMBERED_REVOCATIONS: u64 = 100_000;

impl AuthorizationServer {
    /// Opens the store and the keys (making them on first start) and remembers the grants
    /// revoked while access tokens of theirs may still be unexpired.
    pub async fn open(config: AuthorizationServerConfig, backend: Arc<dyn SignInBackend>) -> Result<Arc<AuthorizationServer>, OAuthError> {
        let directory = &config.directory;
        std::fs::create_dir_all(directory).map_err(|source| OAuthError::SecretFile { path: directory.clone(), source })?;
        // The directory holds the keys: only the server's user may read it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))
                .map_err(|source| OAuthError::SecretFile { path: directory.clone(), source })?;
        }
        let store = store::open(&config.database).await?;
        let signing_keys = signing::SigningKeys::load(&config.signing_key_files, directory)?;
        let vault = vault::KeyVault::open(config.vault_key.as_deref(), &vault_key_path(directory))?;
        let redirects = clients::RedirectPolicy::new(&config.redirect_schemes).map_err(OAuthError::RedirectScheme)?;
        // An access token outlives its grant's revocation by at most its lifetime, plus the
        // resource server's clock leeway.
        let token_life = config.access_token_lifetime + Duration::from_secs(60);
        let revoked_grants = Cache::builder().max_capacity(REMEMBERED_REVOCATIONS).time_to_live(token_life).build();
        remember_recent_revocations(store.as_ref(), &revoked_grants, token_life).await?;
        let revocation_listener = follow_other_replicas_revocations(&store, &revoked_grants, token_life);
        let metadata_documents = clients::MetadataDocuments::new(config.allow_local_metadata_documents, redirects.clone());
        let limits = limits::CostlyRequestLimits::new(config.trusted_proxies.clone());
        Ok(Arc::new(AuthorizationServer {
            config,
            store,
            signing_keys,
            vault,
            backend,
            metadata_documents,
            limits,
            redirects,
            revoked_grants,
            revocation_listener,
        }))
    }

    /// The authorization server's routes: metadata, JWKS, registration, authorization,
    /// token and revocation endpoints.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        endpoints::router(self.clone())
    }

    /// The issuer every token names, the server's canonical base URL.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The key that checks access tokens naming `key_id`, while that key is in force.
    pub fn verification_key(&self, key_id: &str) -> Option<&DecodingKey> {
        self.signing_keys.find(key_id).map(signing::SigningKey::decoding)
    }

    /// The public keys, as the JWKS endpoint publishes them.
    pub fn jwks(&self) -> JwkSet {
        self.signing_keys.jwks()
    }

    /// True when the grant an access token belongs to (its `sid`) was revoked: by the user,
    /// by RFC 7009 revocation, or because a refresh token or code of it was used twice.
    pub fn is_grant_revoked(&self, grant_id: &str) -> bool {
        self.revoked_grants.contains_key(grant_id)
    }

    /// The Clerk Chat API key of a signed-in account.
    pub async fn upstream_api_key(&self, account_id: &str) -> Result<String, AccountKeyError> {
        let sealed = self.store.sealed_key(account_id).await?.ok_or(AccountKeyError::UnknownAccount)?;
        self.vault.open_sealed(account_id, &sealed).ok_or(AccountKeyError::Unreadable)
    }

    /// Closes the store; the server answers 503 to whatever needs it afterwards.
    pub async fn close(&self) {
        // The listener holds a connection, which closing the store would wait for.
        if let Some(listener) = &self.revocation_listener {
            listener.abort();
        }
        self.store.close().await;
    }

    /// The one way a grant is revoked: in the store (its refresh tokens) and in memory (its
    /// access tokens, which the resource server checks without a query).
    async fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        self.store.revoke_grant(grant_id).await?;
        self.revoked_grants.insert(grant_id.to_owned(), ());
        Ok(())
    }

    fn scope_description(&self, scope: &str) -> Option<&str> {
        self.config.scopes.iter().find(|known| known.name == scope).map(|known| known.description.as_str())
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        if let Some(listener) = &self.revocation_listener {
            listener.abort();
        }
    }
}

/// Puts the grants revoked within the last `token_life` into `revoked_grants`: older ones have
/// no unexpired access token left.
async fn remember_recent_revocations(
    store: &dyn store::SignInStore,
    revoked_grants: &Cache<String, ()>,
    token_life: Duration,
) -> Result<(), StoreError> {
    let since = store::now() - token_life.as_secs() as i64;
    for grant in store.revoked_grants_since(since).await? {
        revoked_grants.insert(grant, ());
    }
    Ok(())
}

/// On a shared store, hears every grant another replica revokes, so that this one refuses its
/// access tokens too, within the moment PostgreSQL takes to deliver a notice; after any gap
/// in listening it reads the recent revocations again.
fn follow_other_replicas_revocations(
    store: &Arc<dyn store::SignInStore>,
    revoked_grants: &Cache<String, ()>,
    token_life: Duration,
) -> Option<tokio::task::AbortHandle> {
    let mut notices = store.revocation_notices()?;
    let (store, revoked_grants) = (Arc::clone(store), revoked_grants.clone());
    let task = tokio::spawn(async move {
        loop {
            match notices.next().await {
                Notification::Message(grant) => revoked_grants.insert(grant, ()),
                Notification::Missed => {
                    if let Err(error) = remember_recent_revocations(store.as_ref(), &revoked_grants, token_life).await {
                        tracing::warn!("cannot read the recent revocations after a gap in listening for them: {error}");
                    }
                }
            }
        }
    });
    Some(task.abort_handle())
}

/// Checks the app schemes an operator wants allowed for redirect URIs (`--redirect-scheme`);
/// the error names the scheme and why it cannot be one.
pub fn check_redirect_schemes(schemes: &[String]) -> Result<(), String> {
    clients::RedirectPolicy::new(schemes).map(|_| ())
}

/// Where the key sealing stored API keys is generated when none is configured.
pub fn vault_key_path(directory: &std::path::Path) -> PathBuf {
    directory.join("vault-key")
}

/// A server URL in the MCP spec's canonical form: lowercase scheme and host, no default port,
/// no trailing slash; `None` for what is not an absolute URL with a host, or has a fragment.
pub fn canonical_url(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if url.fragment().is_some() {
        return None;
    }
    let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
    let query = url.query().map(|query| format!("?{query}")).unwrap_or_default();
    Some(format!("{}://{}{port}{}{query}", url.scheme(), url.host_str()?.to_lowercase(), url.path().trim_end_matches('/')))
}

/// True for a URL on this machine (localhost, 127.0.0.0/8, ::1). Loopback servers are for
/// development on one machine: only they may use http, and fetch client metadata documents
/// from loopback or private addresses.
pub fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).ok().is_some_and(|url| clients::is_loopback_host(&url))
}

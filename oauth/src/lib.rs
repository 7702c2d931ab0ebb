//! The built-in OAuth 2.1 authorization server of the Clerk Chat MCP server, as the MCP
//! authorization spec asks of one: RFC 8414 metadata (and the OpenID discovery path), dynamic
//! client registration and client ID metadata documents, a sign-in and consent page, PKCE S256
//! codes bound to the `resource`, ES256 access tokens with a published JWKS, rotating refresh
//! tokens with reuse detection, and RFC 7009 revocation.
//!
//! Users sign in by connecting a Clerk Chat API key; the server checks it upstream (through
//! [`SignInBackend`]) and keeps it sealed in SQLite. The resource server asks
//! [`AuthorizationServer::upstream_api_key`] for the key of the account a token names.

mod clients;
mod endpoints;
mod limits;
mod pages;
mod secrets;
mod store;

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;

/// A boxed future, so that [`SignInBackend`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the authorization server needs from the rest of the server at sign-in.
pub trait SignInBackend: Send + Sync + 'static {
    /// Checks an API key with the Clerk Chat API, with a cheap call. The error is a sentence
    /// the consent page shows the user.
    fn check_api_key<'a>(&'a self, api_key: &'a str) -> BoxFuture<'a, Result<(), String>>;

    /// On the sandbox: the API key of the team that "one click" signs in to.
    fn sandbox_team_key(&self) -> Option<String>;
}

/// A scope and what it lets an app do, in words for the consent page.
#[derive(Debug, Clone)]
pub struct ScopeDescription {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct AuthorizationServerConfig {
    /// The issuer: the server's canonical base URL, such as `https://mcp.example.com`.
    pub issuer: String,
    /// The one resource tokens are issued for: the canonical URL of `/mcp`.
    pub resource: String,
    pub scopes: Vec<ScopeDescription>,
    /// Holds `oauth.db`, the signing key and, unless configured, the vault key.
    pub directory: PathBuf,
    /// Base64 of 32 bytes sealing the stored API keys; generated into `directory` when absent.
    pub vault_key: Option<String>,
    /// Shows the sandbox banner and the one-click sign-in.
    pub sandbox: bool,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub code_lifetime: Duration,
}

impl AuthorizationServerConfig {
    pub fn new(issuer: String, resource: String, scopes: Vec<ScopeDescription>, directory: PathBuf) -> AuthorizationServerConfig {
        AuthorizationServerConfig {
            issuer,
            resource,
            scopes,
            directory,
            vault_key: None,
            sandbox: false,
            access_token_lifetime: Duration::from_secs(600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            code_lifetime: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("cannot open the authorization server's database {path}: {source}")]
    Database { path: PathBuf, source: sqlx::Error },
    #[error("cannot read or write {path}: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
    #[error("{0} is not a P-256 private key in PKCS#8; move it away to have a new one made (tokens signed with it stop working)")]
    InvalidSigningKey(PathBuf),
    #[error("CLERK_MCP_VAULT_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`")]
    InvalidVaultKey,
    #[error(
        "the stored API key of this account cannot be opened with the current vault key (was CLERK_MCP_VAULT_KEY changed?); sign in again"
    )]
    SealedKeyUnreadable,
    #[error("the authorization server's database failed: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The authorization server; [`AuthorizationServer::router`] serves it.
pub struct AuthorizationServer {
    config: AuthorizationServerConfig,
    store: store::Store,
    signing_key: secrets::SigningKey,
    vault: secrets::KeyVault,
    backend: Arc<dyn SignInBackend>,
    metadata_documents: clients::MetadataDocuments,
    limits: limits::CostlyRequestLimits,
    /// Grants revoked recently enough that access tokens of theirs may still be unexpired.
    revoked_grants: RwLock<HashSet<String>>,
}

impl AuthorizationServer {
    pub async fn open(config: AuthorizationServerConfig, backend: Arc<dyn SignInBackend>) -> Result<Arc<AuthorizationServer>, OAuthError> {
        let directory = &config.directory;
        std::fs::create_dir_all(directory).map_err(|source| OAuthError::SecretFile { path: directory.clone(), source })?;
        // The database holds sealed keys and token hashes: only the server's user may read it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))
                .map_err(|source| OAuthError::SecretFile { path: directory.clone(), source })?;
        }
        let database = directory.join("oauth.db");
        let store = store::Store::open(&database).await.map_err(|source| OAuthError::Database { path: database.clone(), source })?;
        let signing_key = secrets::SigningKey::load_or_create(&directory.join("signing-key.p8"))?;
        let vault = secrets::KeyVault::open(config.vault_key.as_deref(), &vault_key_path(directory))?;
        let recent = store::now() - config.access_token_lifetime.as_secs() as i64 - 60;
        let revoked_grants = RwLock::new(store.revoked_grants_since(recent).await?.into_iter().collect());
        let metadata_documents = clients::MetadataDocuments::new(is_loopback_url(&config.issuer));
        let limits = limits::CostlyRequestLimits::new();
        Ok(Arc::new(AuthorizationServer { config, store, signing_key, vault, backend, metadata_documents, limits, revoked_grants }))
    }

    /// The authorization server's routes: metadata, JWKS, registration, authorization,
    /// token and revocation endpoints.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        endpoints::router(self.clone())
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The key access tokens are checked with, and its id.
    pub fn verification_key(&self) -> (&str, &DecodingKey) {
        (&self.signing_key.key_id, self.signing_key.decoding())
    }

    pub fn jwks(&self) -> JwkSet {
        self.signing_key.jwks()
    }

    /// True when the grant an access token belongs to (its `sid`) was revoked: by the user,
    /// by RFC 7009 revocation, or because a refresh token or code of it was used twice.
    pub fn is_grant_revoked(&self, grant_id: &str) -> bool {
        self.revoked_grants.read().expect("the revocation lock is never poisoned").contains(grant_id)
    }

    /// The Clerk Chat API key of a signed-in account; `None` for an unknown account.
    pub async fn upstream_api_key(&self, account_id: &str) -> Result<Option<String>, OAuthError> {
        match self.store.sealed_key(account_id).await? {
            None => Ok(None),
            Some((nonce, sealed)) => self.vault.open_sealed(account_id, &nonce, &sealed).map(Some).ok_or(OAuthError::SealedKeyUnreadable),
        }
    }

    pub async fn close(&self) {
        self.store.close().await;
    }

    /// The one way a grant is revoked: in the database (its refresh tokens) and in memory (its
    /// access tokens, which the resource server checks without a query).
    async fn revoke_grant(&self, grant_id: &str) -> Result<(), sqlx::Error> {
        self.store.revoke_grant(grant_id).await?;
        self.revoked_grants.write().expect("the revocation lock is never poisoned").insert(grant_id.to_owned());
        Ok(())
    }

    fn scope_description(&self, scope: &str) -> Option<&str> {
        self.config.scopes.iter().find(|known| known.name == scope).map(|known| known.description.as_str())
    }
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

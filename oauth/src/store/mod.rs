//! The authorization server's storage seam: what it keeps (clients, accounts with sealed
//! keys, pending consent pages, grants, codes, refresh tokens) behind [`SignInStore`], whose
//! backend the database URL chooses. Handlers see [`StoreError`], never a driver's error.
//!
//! One implementation (`sql.rs`) serves every backend `clerk_store::Database` opens (SQLite,
//! PostgreSQL); a store of another kind would be a module beside it implementing [`SignInStore`]
//! with the same guarantees (below).
//!
//! Guarantees every backend keeps:
//! - a code or refresh token is redeemed at most once, even by two concurrent requests (an
//!   atomic "mark used where unused");
//! - a grant and its first code are stored together or not at all;
//! - secrets are stored only as given: hashes of codes and tokens, sealed API keys.

mod sql;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clerk_store::{DatabaseUrl, StoreError};

/// Seconds since the Unix epoch: every time the store keeps.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs() as i64).unwrap_or_default()
}

/// Opens the store the URL names, creating and migrating it on first use.
pub(crate) async fn open(url: &DatabaseUrl) -> Result<Arc<dyn SignInStore>, StoreError> {
    Ok(Arc::new(sql::SqlSignInStore::open(url).await?))
}

/// A registered client, or one described by a client ID metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientRecord {
    pub(crate) client_id: String,
    pub(crate) client_name: String,
    pub(crate) redirect_uris: Vec<String>,
    /// The registration as answered to the client (RFC 7591), or the metadata document.
    pub(crate) registration: serde_json::Value,
}

/// An authorization request waiting for the user's answer on the consent page.
#[derive(Debug, Clone)]
pub(crate) struct PendingRequest {
    pub(crate) request_id: String,
    pub(crate) csrf_token: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) resource: String,
    pub(crate) expires_at: i64,
}

/// One sign-in of one client: the family of every refresh token rotated from its code.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) grant_id: String,
    pub(crate) client_id: String,
    pub(crate) account_id: String,
    pub(crate) scope: String,
    pub(crate) resource: String,
    pub(crate) revoked: bool,
}

/// How many consent pages may wait at once, for one client and in all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingLimits {
    pub(crate) per_client: i64,
    pub(crate) in_all: i64,
}

/// Whether a consent page's request was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingInsert {
    Stored,
    /// This client has `per_client` pages waiting.
    TooManyForClient,
    /// `in_all` pages are waiting.
    TooMany,
}

/// The code that starts a grant, by its hash.
#[derive(Debug, Clone)]
pub(crate) struct NewCode<'a> {
    pub(crate) code_hash: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) code_challenge: &'a str,
    pub(crate) expires_at: i64,
}

/// An account's API key as stored: sealed, with the nonce it was sealed with.
#[derive(Debug, Clone)]
pub(crate) struct SealedKey {
    pub(crate) nonce: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
}

/// Seals an API key for the account id it is given (the id is bound into the seal).
pub(crate) type Sealer<'a> = &'a (dyn Fn(&str) -> SealedKey + Send + Sync);

/// What presenting an authorization code found.
#[derive(Debug)]
pub(crate) enum CodeRedemption {
    Redeemed {
        grant: Grant,
        redirect_uri: String,
        code_challenge: String,
        expired: bool,
    },
    /// Used before: the grant it started must be revoked (RFC 6749 4.1.2).
    Reused {
        grant_id: String,
    },
    Unknown,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub(crate) enum RefreshRedemption {
    Rotated {
        grant: Grant,
        expired: bool,
    },
    /// Rotated before: someone holds a copy, so the whole family must be revoked.
    Reused {
        grant_id: String,
    },
    Unknown,
}

/// Every query of the authorization server.
#[async_trait::async_trait]
pub(crate) trait SignInStore: Send + Sync + 'static {
    async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError>;

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;

    /// The account of an API key: found by its fingerprint, else made with the sealed key.
    /// A returning key gets its sealed copy replaced (same key, fresh nonce).
    async fn upsert_account(&self, fingerprint: &str, new_account_id: &str, seal: Sealer<'_>, label: &str) -> Result<String, StoreError>;

    async fn sealed_key(&self, account_id: &str) -> Result<Option<SealedKey>, StoreError>;

    /// Stores a consent page's request unless `limits` are reached; expired ones are cleared
    /// here rather than by a timer.
    async fn insert_pending(&self, request: &PendingRequest, limits: PendingLimits) -> Result<PendingInsert, StoreError>;

    /// Counts a wrong API key typed into a consent page; the count so far (`u32::MAX` when the
    /// page is gone).
    async fn record_failed_key_check(&self, request_id: &str) -> Result<u32, StoreError>;

    /// A pending request that has not expired.
    async fn pending(&self, request_id: &str) -> Result<Option<PendingRequest>, StoreError>;

    /// Removes a pending request; `false` if it was already decided (a double submit).
    async fn finish_pending(&self, request_id: &str) -> Result<bool, StoreError>;

    /// A new grant and the code that starts it, together or not at all.
    async fn insert_grant_with_code(&self, grant: &Grant, code: &NewCode<'_>) -> Result<(), StoreError>;

    /// Marks a code used, atomically: of two concurrent redemptions one wins.
    async fn redeem_code(&self, code_hash: &str) -> Result<CodeRedemption, StoreError>;

    /// Stores a refresh token; expired ones (and codes a day past expiry) are cleared here.
    /// Used ones stay until they expire, so that a stolen copy is still recognised as reuse.
    async fn insert_refresh_token(&self, token_hash: &str, grant_id: &str, expires_at: i64) -> Result<(), StoreError>;

    /// Marks a refresh token used, atomically: of two concurrent rotations one wins.
    async fn redeem_refresh_token(&self, token_hash: &str) -> Result<RefreshRedemption, StoreError>;

    /// The grant a refresh token belongs to, used or not.
    async fn refresh_token_grant(&self, token_hash: &str) -> Result<Option<String>, StoreError>;

    async fn grant(&self, grant_id: &str) -> Result<Option<Grant>, StoreError>;

    /// Revokes a grant: its refresh tokens stop working, and so do its access tokens (the
    /// resource server checks the grant id they carry).
    async fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError>;

    /// Grants revoked at or after `since`: older ones have no live access token left.
    async fn revoked_grants_since(&self, since: i64) -> Result<Vec<String>, StoreError>;

    /// The grants other replicas revoke, as they do; `None` when no other process shares the
    /// store.
    fn revocation_notices(&self) -> Option<clerk_store::postgres::Notifications>;

    /// Closes the connections; later calls fail. Drop the notices first: they hold one.
    async fn close(&self);
}

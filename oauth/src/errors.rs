//! The errors that cross from the authorization server into the rest of the server. Each has
//! two faces: its `Display`, with the cause, is for the operator's log; what a client or user
//! is shown comes from a method that returns fixed, safe text.

use std::path::PathBuf;

use clerk_store::StoreError;

/// Why the authorization server cannot start. Shown to the operator, at start-up.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A key file or the directory holding them cannot be used.
    #[error("cannot read or write {path}: {source}")]
    SecretFile {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A signing key file holds something else.
    #[error(
        "{0} is not a P-256 private key in PKCS#8 (PEM or DER): make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out FILE`, or move the generated one in the data directory away to have a new one made (tokens signed with it stop working)"
    )]
    InvalidSigningKey(PathBuf),
    /// The same key is given twice in `--signing-key-file`.
    #[error("--signing-key-file {0} holds a key given before; give each key once (the first signs, the others only verify)")]
    DuplicateSigningKey(PathBuf),
    /// `CLERK_MCP_VAULT_KEY` is not 32 bytes of base64.
    #[error("CLERK_MCP_VAULT_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`")]
    InvalidVaultKey,
    /// An app scheme allowed by the operator cannot be one.
    #[error("--redirect-scheme: {0}")]
    RedirectScheme(String),
    /// The store cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the API key of a signed-in account cannot be had for a request.
#[derive(Debug, thiserror::Error)]
pub enum AccountKeyError {
    /// The token names an account the store does not have (a wiped database, say).
    #[error("the token names an account this server does not know")]
    UnknownAccount,
    /// The sealed key does not open: the vault key changed since the account signed in.
    #[error("the stored API key of this account cannot be opened with the current vault key (was CLERK_MCP_VAULT_KEY changed?)")]
    Unreadable,
    /// The store failed; nothing is wrong with the account.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccountKeyError {
    /// True when the request may work later as it is (a 503), false when the user must sign
    /// in again (a 401).
    pub fn is_temporary(&self) -> bool {
        matches!(self, AccountKeyError::Store(_))
    }

    /// What the client is told: fixed text, without the cause.
    pub fn public_message(&self) -> &'static str {
        match self {
            AccountKeyError::UnknownAccount => "the token names an account this server does not know; sign in again",
            AccountKeyError::Unreadable => "this sign-in can no longer be used; sign in again",
            AccountKeyError::Store(_) => StoreError::PUBLIC_MESSAGE,
        }
    }
}

/// Why an API key was not accepted at sign-in. Both carry the sentence the consent page shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyCheckError {
    /// The key is wrong: the page asks for another one.
    #[error("{0}")]
    Rejected(String),
    /// The key could not be checked right now: the page says `message`; `cause` goes to the
    /// log only.
    #[error("{message} ({cause})")]
    Unavailable {
        /// What the user reads.
        message: String,
        /// What happened, for the operator.
        cause: String,
    },
}

impl KeyCheckError {
    /// The sentence for the consent page.
    pub fn user_message(&self) -> &str {
        match self {
            KeyCheckError::Rejected(message) | KeyCheckError::Unavailable { message, .. } => message,
        }
    }
}

-- The authorization server's state. Secrets are never stored in the clear: tokens and codes
-- by their SHA-256, upstream API keys sealed with the server's AEAD key.

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    client_name TEXT NOT NULL,
    -- JSON array of the registered redirect URIs.
    redirect_uris TEXT NOT NULL,
    -- The registration as answered to the client (RFC 7591 response), JSON.
    registration TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- A signed-in Clerk Chat account: one per distinct API key.
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    -- HMAC-SHA256 of the API key, so the same key finds the same account without decrypting.
    key_fingerprint TEXT NOT NULL UNIQUE,
    key_nonce BLOB NOT NULL,
    key_ciphertext BLOB NOT NULL,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- An authorization request waiting for the user's decision on the consent page.
CREATE TABLE pending_requests (
    request_id TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    state TEXT,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    resource TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- One sign-in of one client: the family of every refresh token rotated from its code.
CREATE TABLE grants (
    grant_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    scope TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (grant_id),
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (grant_id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);
CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

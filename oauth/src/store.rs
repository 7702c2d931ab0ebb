//! Every query of the authorization server, on SQLite through sqlx (no compile-time macros, so
//! no database is needed to build). Codes and refresh tokens are redeemed with one atomic
//! `UPDATE ... WHERE used_at IS NULL`, so two concurrent redemptions cannot both win.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqlitePool};

/// The schema, compiled into the binary so that the server needs no files beside its database.
fn migrator() -> Migrator {
    let initial = AssertSqlSafe(include_str!("../migrations/0001_initial.sql")).into_sql_str();
    Migrator::with_migrations(vec![Migration::new(1, "initial".into(), MigrationType::Simple, initial, false)])
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs() as i64).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub registration: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub request_id: String,
    pub csrf_token: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub grant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub resource: String,
    pub revoked: bool,
}

/// What presenting an authorization code found.
#[derive(Debug)]
pub enum CodeRedemption {
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
pub enum RefreshRedemption {
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

impl Store {
    pub async fn open(path: &Path) -> Result<Store, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        migrator().run(&pool).await?;
        Ok(Store { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn insert_client(&self, client: &ClientRecord) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO clients (client_id, client_name, redirect_uris, registration, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&client.client_id)
            .bind(&client.client_name)
            .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
            .bind(client.registration.to_string())
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, sqlx::Error> {
        let row = sqlx::query("SELECT client_name, redirect_uris, registration FROM clients WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| ClientRecord {
            client_id: client_id.to_owned(),
            client_name: row.get(0),
            redirect_uris: serde_json::from_str(row.get::<&str, _>(1)).unwrap_or_default(),
            registration: serde_json::from_str(row.get::<&str, _>(2)).unwrap_or_default(),
        }))
    }

    /// The account of an API key: found by its fingerprint, else made with the sealed key.
    /// A returning key gets its sealed copy replaced (same key, fresh nonce).
    pub async fn upsert_account(
        &self,
        fingerprint: &str,
        new_account_id: &str,
        seal: impl Fn(&str) -> (Vec<u8>, Vec<u8>),
        label: &str,
    ) -> Result<String, sqlx::Error> {
        let existing: Option<String> = sqlx::query_scalar("SELECT account_id FROM accounts WHERE key_fingerprint = ?")
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
        let account_id = existing.unwrap_or_else(|| new_account_id.to_owned());
        let (nonce, sealed) = seal(&account_id);
        sqlx::query(
            "INSERT INTO accounts (account_id, key_fingerprint, key_nonce, key_ciphertext, label, created_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id) DO UPDATE SET key_nonce = excluded.key_nonce, key_ciphertext = excluded.key_ciphertext",
        )
        .bind(&account_id)
        .bind(fingerprint)
        .bind(nonce)
        .bind(sealed)
        .bind(label)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(account_id)
    }

    /// (nonce, sealed key) of an account.
    pub async fn sealed_key(&self, account_id: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>, sqlx::Error> {
        let row = sqlx::query("SELECT key_nonce, key_ciphertext FROM accounts WHERE account_id = ?")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    pub async fn insert_pending(&self, request: &PendingRequest) -> Result<(), sqlx::Error> {
        // Abandoned consent pages are cleared here rather than by a timer.
        sqlx::query("DELETE FROM pending_requests WHERE expires_at < ?").bind(now()).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO pending_requests (request_id, csrf_token, client_id, redirect_uri, state, code_challenge, scope, resource, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&request.request_id)
        .bind(&request.csrf_token)
        .bind(&request.client_id)
        .bind(&request.redirect_uri)
        .bind(&request.state)
        .bind(&request.code_challenge)
        .bind(&request.scope)
        .bind(&request.resource)
        .bind(request.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn pending(&self, request_id: &str) -> Result<Option<PendingRequest>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT csrf_token, client_id, redirect_uri, state, code_challenge, scope, resource, expires_at
             FROM pending_requests WHERE request_id = ? AND expires_at >= ?",
        )
        .bind(request_id)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| PendingRequest {
            request_id: request_id.to_owned(),
            csrf_token: row.get(0),
            client_id: row.get(1),
            redirect_uri: row.get(2),
            state: row.get(3),
            code_challenge: row.get(4),
            scope: row.get(5),
            resource: row.get(6),
            expires_at: row.get(7),
        }))
    }

    /// Removes a pending request; `false` if it was already decided (a double submit).
    pub async fn finish_pending(&self, request_id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM pending_requests WHERE request_id = ?").bind(request_id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// A new grant and the code that starts it.
    pub async fn insert_grant_with_code(
        &self,
        grant: &Grant,
        code_hash: &str,
        redirect_uri: &str,
        code_challenge: &str,
        code_expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("INSERT INTO grants (grant_id, client_id, account_id, scope, resource, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&grant.grant_id)
            .bind(&grant.client_id)
            .bind(&grant.account_id)
            .bind(&grant.scope)
            .bind(&grant.resource)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(code_hash)
        .bind(&grant.grant_id)
        .bind(redirect_uri)
        .bind(code_challenge)
        .bind(code_expires_at)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await
    }

    pub async fn redeem_code(&self, code_hash: &str) -> Result<CodeRedemption, sqlx::Error> {
        let now = now();
        let row = sqlx::query(
            "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL
             RETURNING grant_id, redirect_uri, code_challenge, expires_at",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => {
                let grant_id: String = row.get(0);
                let Some(grant) = self.grant(&grant_id).await? else { return Ok(CodeRedemption::Unknown) };
                Ok(CodeRedemption::Redeemed {
                    grant,
                    redirect_uri: row.get(1),
                    code_challenge: row.get(2),
                    expired: row.get::<i64, _>(3) < now,
                })
            }
            None => {
                let used: Option<String> = sqlx::query_scalar("SELECT grant_id FROM authorization_codes WHERE code_hash = ?")
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match used {
                    Some(grant_id) => CodeRedemption::Reused { grant_id },
                    None => CodeRedemption::Unknown,
                })
            }
        }
    }

    pub async fn insert_refresh_token(&self, token_hash: &str, grant_id: &str, expires_at: i64) -> Result<(), sqlx::Error> {
        // Expired tokens are cleared here rather than by a timer. Used ones stay until they
        // expire, so that a stolen copy is still recognised as reuse. Codes stay a day past
        // their expiry for the same reason.
        let now = now();
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < ?").bind(now).execute(&self.pool).await?;
        sqlx::query("DELETE FROM authorization_codes WHERE expires_at < ?").bind(now - 24 * 3600).execute(&self.pool).await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(grant_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn redeem_refresh_token(&self, token_hash: &str) -> Result<RefreshRedemption, sqlx::Error> {
        let now = now();
        let row =
            sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL RETURNING grant_id, expires_at")
                .bind(now)
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(row) => {
                let grant_id: String = row.get(0);
                let Some(grant) = self.grant(&grant_id).await? else { return Ok(RefreshRedemption::Unknown) };
                Ok(RefreshRedemption::Rotated { grant, expired: row.get::<i64, _>(1) < now })
            }
            None => Ok(match self.refresh_token_grant(token_hash).await? {
                Some(grant_id) => RefreshRedemption::Reused { grant_id },
                None => RefreshRedemption::Unknown,
            }),
        }
    }

    pub async fn refresh_token_grant(&self, token_hash: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT grant_id FROM refresh_tokens WHERE token_hash = ?").bind(token_hash).fetch_optional(&self.pool).await
    }

    pub async fn grant(&self, grant_id: &str) -> Result<Option<Grant>, sqlx::Error> {
        let row = sqlx::query("SELECT client_id, account_id, scope, resource, revoked_at IS NOT NULL FROM grants WHERE grant_id = ?")
            .bind(grant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| Grant {
            grant_id: grant_id.to_owned(),
            client_id: row.get(0),
            account_id: row.get(1),
            scope: row.get(2),
            resource: row.get(3),
            revoked: row.get(4),
        }))
    }

    /// Revokes a grant: its refresh tokens stop working, and so do its access tokens (the
    /// resource server checks the grant id they carry).
    pub async fn revoke_grant(&self, grant_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL")
            .bind(now())
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Grants revoked after `since`: older ones have no live access token left.
    pub async fn revoked_grants_since(&self, since: i64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT grant_id FROM grants WHERE revoked_at IS NOT NULL AND revoked_at >= ?")
            .bind(since)
            .fetch_all(&self.pool)
            .await
    }
}

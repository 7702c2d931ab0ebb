//! [`SignInStore`] on SQLite or PostgreSQL, written once: every statement runs on either through
//! `clerk_store::with_database!`, with `$n` placeholders both read. No compile-time macros, so
//! no database is needed to build. Codes and refresh tokens are redeemed with one atomic
//! `UPDATE ... WHERE used_at IS NULL RETURNING`, so two concurrent redemptions cannot both win,
//! on one server or across replicas.

use clerk_store::postgres::Notifications;
use clerk_store::{Database, DatabaseUrl, Migration, Schema, StoreError, with_database};
use sqlx::Row;

use super::{
    ClientRecord, CodeRedemption, Grant, NewCode, PendingInsert, PendingLimits, PendingRequest, RefreshRedemption, SealedKey, Sealer,
    SignInStore, now,
};

/// The sign-ins' tables in each dialect. SQLite keeps sqlx's default migrations table, which
/// databases made before other parts shared the file already use.
static SCHEMA: Schema = Schema {
    migrations_table: "_sqlx_migrations",
    sqlite: &[
        Migration { version: 1, description: "initial", sql: include_str!("../../migrations/sqlite/0001_initial.sql") },
        Migration { version: 2, description: "bounds", sql: include_str!("../../migrations/sqlite/0002_bounds.sql") },
    ],
    postgres: &[
        Migration { version: 1, description: "initial", sql: include_str!("../../migrations/postgres/0001_initial.sql") },
        Migration { version: 2, description: "bounds", sql: include_str!("../../migrations/postgres/0002_bounds.sql") },
        Migration {
            version: 3,
            description: "revocation notices",
            sql: include_str!("../../migrations/postgres/0003_revocation_notices.sql"),
        },
    ],
};

/// How long a used code is kept after it expires, so that replaying it is still recognised.
const USED_CODE_MEMORY_SECONDS: i64 = 24 * 3600;

pub(crate) struct SqlSignInStore {
    database: Database,
}

impl SqlSignInStore {
    pub(crate) async fn open(url: &DatabaseUrl) -> Result<SqlSignInStore, StoreError> {
        Ok(SqlSignInStore { database: Database::open(url, &SCHEMA).await? })
    }
}

#[async_trait::async_trait]
impl SignInStore for SqlSignInStore {
    async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query(
                "INSERT INTO clients (client_id, client_name, redirect_uris, registration, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&client.client_id)
            .bind(&client.client_name)
            .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
            .bind(client.registration.to_string())
            .bind(now())
            .execute(writer)
            .await?;
            Ok(())
        })
    }

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let row = sqlx::query("SELECT client_name, redirect_uris, registration FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(reader)
                .await?;
            Ok(row.map(|row| ClientRecord {
                client_id: client_id.to_owned(),
                client_name: row.get(0),
                redirect_uris: serde_json::from_str(row.get::<&str, _>(1)).unwrap_or_default(),
                registration: serde_json::from_str(row.get::<&str, _>(2)).unwrap_or_default(),
            }))
        })
    }

    async fn upsert_account(&self, fingerprint: &str, new_account_id: &str, seal: Sealer<'_>, label: &str) -> Result<String, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let existing: Option<String> = sqlx::query_scalar("SELECT account_id FROM accounts WHERE key_fingerprint = $1")
                .bind(fingerprint)
                .fetch_optional(reader)
                .await?;
            let account_id = existing.unwrap_or_else(|| new_account_id.to_owned());
            let sealed = seal(&account_id);
            sqlx::query(
                "INSERT INTO accounts (account_id, key_fingerprint, key_nonce, key_ciphertext, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (account_id) DO UPDATE SET key_nonce = excluded.key_nonce, key_ciphertext = excluded.key_ciphertext",
            )
            .bind(&account_id)
            .bind(fingerprint)
            .bind(sealed.nonce)
            .bind(sealed.ciphertext)
            .bind(label)
            .bind(now())
            .execute(writer)
            .await?;
            Ok(account_id)
        })
    }

    async fn sealed_key(&self, account_id: &str) -> Result<Option<SealedKey>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let row = sqlx::query("SELECT key_nonce, key_ciphertext FROM accounts WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(reader)
                .await?;
            Ok(row.map(|row| SealedKey { nonce: row.get(0), ciphertext: row.get(1) }))
        })
    }

    async fn insert_pending(&self, request: &PendingRequest, limits: PendingLimits) -> Result<PendingInsert, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let mut transaction = writer.begin().await?;
            sqlx::query("DELETE FROM pending_requests WHERE expires_at < $1").bind(now()).execute(&mut *transaction).await?;
            let for_client: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_requests WHERE client_id = $1")
                .bind(&request.client_id)
                .fetch_one(&mut *transaction)
                .await?;
            if for_client >= limits.per_client {
                return Ok(PendingInsert::TooManyForClient);
            }
            let in_all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_requests").fetch_one(&mut *transaction).await?;
            if in_all >= limits.in_all {
                return Ok(PendingInsert::TooMany);
            }
            sqlx::query(
                "INSERT INTO pending_requests (request_id, csrf_token, client_id, redirect_uri, state, code_challenge, scope, resource, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            Ok(PendingInsert::Stored)
        })
    }

    async fn record_failed_key_check(&self, request_id: &str) -> Result<u32, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let failures: Option<i64> = sqlx::query_scalar(
                "UPDATE pending_requests SET failed_key_checks = failed_key_checks + 1 WHERE request_id = $1 RETURNING failed_key_checks",
            )
            .bind(request_id)
            .fetch_optional(writer)
            .await?;
            Ok(failures.map_or(u32::MAX, |failures| u32::try_from(failures).unwrap_or(u32::MAX)))
        })
    }

    async fn pending(&self, request_id: &str) -> Result<Option<PendingRequest>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let row = sqlx::query(
                "SELECT csrf_token, client_id, redirect_uri, state, code_challenge, scope, resource, expires_at
                 FROM pending_requests WHERE request_id = $1 AND expires_at >= $2",
            )
            .bind(request_id)
            .bind(now())
            .fetch_optional(reader)
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
        })
    }

    async fn finish_pending(&self, request_id: &str) -> Result<bool, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let done = sqlx::query("DELETE FROM pending_requests WHERE request_id = $1").bind(request_id).execute(writer).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn insert_grant_with_code(&self, grant: &Grant, code: &NewCode<'_>) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            let mut transaction = writer.begin().await?;
            sqlx::query(
                "INSERT INTO grants (grant_id, client_id, account_id, scope, resource, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&grant.grant_id)
            .bind(&grant.client_id)
            .bind(&grant.account_id)
            .bind(&grant.scope)
            .bind(&grant.resource)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO authorization_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(code.code_hash)
            .bind(&grant.grant_id)
            .bind(code.redirect_uri)
            .bind(code.code_challenge)
            .bind(code.expires_at)
            .execute(&mut *transaction)
            .await?;
            Ok(transaction.commit().await?)
        })
    }

    async fn redeem_code(&self, code_hash: &str) -> Result<CodeRedemption, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let now = now();
            let row = sqlx::query(
                "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL
                 RETURNING grant_id, redirect_uri, code_challenge, expires_at",
            )
            .bind(now)
            .bind(code_hash)
            .fetch_optional(writer)
            .await?;
            let Some(row) = row else {
                let used: Option<String> = sqlx::query_scalar("SELECT grant_id FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(reader)
                    .await?;
                return Ok(match used {
                    Some(grant_id) => CodeRedemption::Reused { grant_id },
                    None => CodeRedemption::Unknown,
                });
            };
            let grant_id: String = row.get(0);
            let Some(grant) = self.grant(&grant_id).await? else { return Ok(CodeRedemption::Unknown) };
            Ok(CodeRedemption::Redeemed {
                grant,
                redirect_uri: row.get(1),
                code_challenge: row.get(2),
                expired: row.get::<i64, _>(3) < now,
            })
        })
    }

    async fn insert_refresh_token(&self, token_hash: &str, grant_id: &str, expires_at: i64) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            let now = now();
            sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1").bind(now).execute(writer).await?;
            sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
                .bind(now - USED_CODE_MEMORY_SECONDS)
                .execute(writer)
                .await?;
            sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, expires_at) VALUES ($1, $2, $3)")
                .bind(token_hash)
                .bind(grant_id)
                .bind(expires_at)
                .execute(writer)
                .await?;
            Ok(())
        })
    }

    async fn redeem_refresh_token(&self, token_hash: &str) -> Result<RefreshRedemption, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let now = now();
            let row = sqlx::query(
                "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL RETURNING grant_id, expires_at",
            )
            .bind(now)
            .bind(token_hash)
            .fetch_optional(writer)
            .await?;
            let Some(row) = row else {
                return Ok(match self.refresh_token_grant(token_hash).await? {
                    Some(grant_id) => RefreshRedemption::Reused { grant_id },
                    None => RefreshRedemption::Unknown,
                });
            };
            let grant_id: String = row.get(0);
            let Some(grant) = self.grant(&grant_id).await? else { return Ok(RefreshRedemption::Unknown) };
            Ok(RefreshRedemption::Rotated { grant, expired: row.get::<i64, _>(1) < now })
        })
    }

    async fn refresh_token_grant(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            Ok(sqlx::query_scalar("SELECT grant_id FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(reader)
                .await?)
        })
    }

    async fn grant(&self, grant_id: &str) -> Result<Option<Grant>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            let row = sqlx::query("SELECT client_id, account_id, scope, resource, revoked_at IS NOT NULL FROM grants WHERE grant_id = $1")
                .bind(grant_id)
                .fetch_optional(reader)
                .await?;
            Ok(row.map(|row| Grant {
                grant_id: grant_id.to_owned(),
                client_id: row.get(0),
                account_id: row.get(1),
                scope: row.get(2),
                resource: row.get(3),
                revoked: row.get(4),
            }))
        })
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        with_database!(&self.database, |writer, reader| {
            sqlx::query("UPDATE grants SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
                .bind(now())
                .bind(grant_id)
                .execute(writer)
                .await?;
            Ok(())
        })
    }

    async fn revoked_grants_since(&self, since: i64) -> Result<Vec<String>, StoreError> {
        with_database!(&self.database, |writer, reader| {
            Ok(sqlx::query_scalar("SELECT grant_id FROM grants WHERE revoked_at IS NOT NULL AND revoked_at >= $1")
                .bind(since)
                .fetch_all(reader)
                .await?)
        })
    }

    fn revocation_notices(&self) -> Option<Notifications> {
        self.database.notifications(REVOCATION_CHANNEL)
    }

    async fn close(&self) {
        self.database.close().await;
    }
}

/// Where PostgreSQL publishes each revoked grant's id (a trigger of migration 3).
const REVOCATION_CHANNEL: &str = "clerk_mcp_revoked_grants";

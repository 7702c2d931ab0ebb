//! The sandbox's SQLite database, one module per table: `teams` (and the API-key cache),
//! `seed` (what a new team starts with), `inboxes`, `messages`, `contacts`, `campaigns` and
//! `users`. Every query returns [`StoreError`], never the driver's error.
//!
//! The sandbox is the single-machine default and a test double, so it is SQLite only; the
//! database is opened the project's one way, by `clerk_store`.

mod campaigns;
mod contacts;
mod inboxes;
mod messages;
mod seed;
mod teams;
mod users;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, SecondsFormat, Utc};
use clerk_store::sqlite::SqliteDatabase;
use clerk_store::{Migration, StoreError};
use sha2::{Digest, Sha256};
use sqlx::Row;

pub(crate) use campaigns::NewCampaign;
pub(crate) use contacts::ContactFields;
pub(crate) use inboxes::Inbox;
pub(crate) use messages::{MessageFilter, NewMessage};
pub use seed::{SeededInbox, TeamSeed};

const MIGRATIONS: [Migration; 2] = [
    Migration { version: 1, description: "initial", sql: include_str!("../../migrations/0001_initial.sql") },
    Migration { version: 2, description: "message counts", sql: include_str!("../../migrations/0002_message_counts.sql") },
];

/// The database, and a cache of API key hashes.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    database: SqliteDatabase,
    /// API key hash -> team id. Keys are only added, so a cache is always right.
    keys: Arc<RwLock<HashMap<String, String>>>,
}

impl Store {
    /// Opens (creating and migrating) the database, and loads the key cache.
    pub(crate) async fn open(path: &Path) -> Result<Store, StoreError> {
        let database = SqliteDatabase::open(path, &MIGRATIONS).await?;
        let mut keys = HashMap::new();
        for row in sqlx::query("SELECT key_sha256, team_id FROM api_keys").fetch_all(database.reader()).await? {
            keys.insert(row.get::<String, _>(0), row.get::<String, _>(1));
        }
        Ok(Store { database, keys: Arc::new(RwLock::new(keys)) })
    }

    pub(crate) async fn close(&self) {
        self.database.close().await;
    }

    fn reader(&self) -> &sqlx::SqlitePool {
        self.database.reader()
    }

    fn writer(&self) -> &sqlx::SqlitePool {
        self.database.writer()
    }
}

/// Times are stored and shown as RFC 3339 UTC with milliseconds, which sort as text.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

/// API keys are stored only as this hash.
fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

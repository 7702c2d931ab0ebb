//! One part of a crate's state in whichever backend its URL names, so that a store is written
//! once for every backend: [`Database`] holds the open backend and [`with_database!`] runs the
//! same statements on it, whichever it is. Statements are written with `$1, $2, ...`
//! placeholders, which both SQLite and PostgreSQL read.

use crate::postgres::{Notifications, PostgresDatabase};
use crate::sqlite::SqliteDatabase;
use crate::{DatabaseUrl, Migration, StoreError};

/// The schema of one part of the database, in each backend's dialect.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// Where the part records its applied migrations; parts sharing a database differ here.
    pub migrations_table: &'static str,
    /// Its migrations for SQLite.
    pub sqlite: &'static [Migration],
    /// Its migrations for PostgreSQL.
    pub postgres: &'static [Migration],
}

/// An open database of either backend.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file: one writer connection, read-only readers.
    Sqlite(SqliteDatabase),
    /// A PostgreSQL database: one pool.
    Postgres(PostgresDatabase),
}

impl Database {
    /// Opens the database `url` names and brings `schema` up to date in it.
    pub async fn open(url: &DatabaseUrl, schema: &Schema) -> Result<Database, StoreError> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => Database::Sqlite(SqliteDatabase::open_part(path, schema.migrations_table, schema.sqlite).await?),
            DatabaseUrl::Postgres(url) => Database::Postgres(PostgresDatabase::open(url, schema.migrations_table, schema.postgres).await?),
        })
    }

    /// What other replicas publish on `channel`; `None` for SQLite, which one process has alone
    /// and so sees every change itself.
    pub fn notifications(&self, channel: &'static str) -> Option<Notifications> {
        match self {
            Database::Sqlite(_) => None,
            Database::Postgres(database) => Some(database.notifications(channel)),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(database) => database.close().await,
            Database::Postgres(database) => database.close().await,
        }
    }
}

/// Runs `$body` on `$database` (a [`Database`]) with `$writer` and `$reader` bound to its pools:
/// SQLite's writer and readers, or PostgreSQL's one pool for both. The body is expanded once
/// per backend, so it is written once and type-checked against each driver.
///
/// ```ignore
/// let count: i64 = with_database!(&self.database, |writer, reader| {
///     sqlx::query_scalar("SELECT COUNT(*) FROM clients").fetch_one(reader).await?
/// });
/// ```
#[macro_export]
macro_rules! with_database {
    ($database:expr, |$writer:ident, $reader:ident| $body:expr) => {
        match $database {
            $crate::Database::Sqlite(database) => {
                #[allow(unused_variables, reason = "a body may use only one of the pools")]
                let ($writer, $reader) = (database.writer(), database.reader());
                $body
            }
            $crate::Database::Postgres(database) => {
                #[allow(unused_variables, reason = "a body may use only one of the pools")]
                let ($writer, $reader) = (database.pool(), database.pool());
                $body
            }
        }
    };
}

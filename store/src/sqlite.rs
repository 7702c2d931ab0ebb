//! SQLite, opened the one way this project uses it: WAL (readers never wait for the writer),
//! `synchronous = NORMAL` (nothing lost on a process crash; only a power loss can drop the
//! last transactions), foreign keys on, a file readable by its owner only, and the embedded
//! migrations applied before anything else runs.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Migration, StoreError, migrations};

/// Where [`SqliteDatabase::open`] records the migrations applied: sqlx's own default.
const DEFAULT_MIGRATIONS_TABLE: &str = "_sqlx_migrations";
/// Read connections kept open: reads run side by side under WAL.
const READERS: u32 = 4;
/// How long a statement waits for a lock before failing: writes are serialized through one
/// connection, so this bounds only a checkpoint or another process holding the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open SQLite database: one writer connection and a pool of read-only ones.
///
/// Writes go through `writer`'s single connection, queued fairly by the pool instead of
/// spinning in SQLite's busy handler (which made latency spiky under load); reads use
/// `reader`, whose connections cannot write by mistake.
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteDatabase {
    /// Opens (creating it and its directory if need be) and migrates the database at `path`.
    pub async fn open(path: &Path, migrations: &[Migration]) -> Result<SqliteDatabase, StoreError> {
        SqliteDatabase::open_part(path, DEFAULT_MIGRATIONS_TABLE, migrations).await
    }

    /// Like [`SqliteDatabase::open`], for one of several parts sharing a database file: each
    /// part's migrations are recorded in its own `migrations_table`, so that their versions
    /// never collide.
    pub async fn open_part(path: &Path, migrations_table: &'static str, migrations: &[Migration]) -> Result<SqliteDatabase, StoreError> {
        let location = path.display().to_string();
        let open_failed = |source| StoreError::Open { location: location.clone(), source };
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| open_failed(sqlx::Error::Io(error)))?;
        }
        // Made before SQLite opens it, so that the file (and the -wal and -shm files SQLite
        // gives the same mode) is never readable by others, not even for a moment.
        clerk_support::secret_file::ensure_exists(path).map_err(|error| open_failed(sqlx::Error::Io(error)))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // A connection to a local file cannot go stale, so the pool does not ping it before
        // every use (a round trip to SQLite's worker thread per statement).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(open_failed)?;
        migrations::migrator(migrations_table, migrations)
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate { location: location.clone(), source })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_failed)?;
        Ok(SqliteDatabase { writer, reader })
    }

    /// The pool for statements that write (one connection).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The pool for statements that only read.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes every connection; later queries fail with [`StoreError::Query`].
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: [Migration; 2] = [
        Migration { version: 1, description: "people", sql: "CREATE TABLE people (name TEXT NOT NULL)" },
        Migration { version: 2, description: "pets", sql: "CREATE TABLE pets (owner TEXT NOT NULL)" },
    ];

    #[tokio::test]
    async fn a_new_database_is_migrated_owner_only_and_in_wal_mode() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested/state.db");
        let database = SqliteDatabase::open(&path, &SCHEMA).await.unwrap();
        sqlx::query("INSERT INTO pets (owner) VALUES ('ada')").execute(database.writer()).await.unwrap();
        let pets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pets").fetch_one(database.reader()).await.unwrap();
        assert_eq!(pets, 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(database.reader()).await.unwrap();
        assert_eq!(mode, "wal");
        let refused = sqlx::query("INSERT INTO pets (owner) VALUES ('grace')").execute(database.reader()).await;
        assert!(refused.is_err(), "the reader pool cannot write");
        // While connections are open, the -wal and -shm files exist beside the database.
        #[cfg(unix)]
        for file in ["state.db", "state.db-wal", "state.db-shm"] {
            use std::os::unix::fs::PermissionsExt;
            let file = directory.path().join("nested").join(file);
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
        }
        database.close().await;
        // Opening again applies nothing twice and keeps the rows.
        let again = SqliteDatabase::open(&path, &SCHEMA).await.unwrap();
        let pets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pets").fetch_one(again.reader()).await.unwrap();
        assert_eq!(pets, 1);
        again.close().await;
        assert!(matches!(sqlx::query("SELECT 1").execute(again.reader()).await, Err(sqlx::Error::PoolClosed)));
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_made_says_where() {
        let directory = tempfile::tempdir().unwrap();
        let blocker = directory.path().join("file");
        std::fs::write(&blocker, b"not a directory").unwrap();
        let error = SqliteDatabase::open(&blocker.join("state.db"), &SCHEMA).await.unwrap_err().to_string();
        assert!(error.contains("cannot open the database") && error.contains("state.db"), "{error}");
    }
}

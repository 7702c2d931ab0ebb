//! The server's own tables, in the database `--database-url` names (beside the sign-ins):
//! idempotency keys and recent sends (`safe_sends`), and legacy MCP sessions
//! (`session_store`). One part with one migrations table, opened once, so that its stores
//! share one pool: PostgreSQL's connections are shared by every part of every replica.

use clerk_store::{Database, DatabaseUrl, Migration, Schema, StoreError};

/// The migrations table keeps the name it had when the safe sends were the only tables here,
/// so that databases made then carry on.
static SCHEMA: Schema = Schema {
    migrations_table: "_safe_sends_migrations",
    sqlite: &[
        Migration { version: 1, description: "safe sends", sql: include_str!("../migrations/sqlite/0001_safe_sends.sql") },
        Migration { version: 2, description: "mcp sessions", sql: include_str!("../migrations/sqlite/0002_mcp_sessions.sql") },
    ],
    postgres: &[
        Migration { version: 1, description: "safe sends", sql: include_str!("../migrations/postgres/0001_safe_sends.sql") },
        Migration { version: 2, description: "mcp sessions", sql: include_str!("../migrations/postgres/0002_mcp_sessions.sql") },
    ],
};

/// Opens the server's tables in the database `url` names, bringing them up to date.
pub(crate) async fn open(url: &DatabaseUrl) -> Result<Database, StoreError> {
    Database::open(url, &SCHEMA).await
}

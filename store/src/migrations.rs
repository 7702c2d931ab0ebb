//! Schema migrations compiled into the binary, so that a server needs no files beside its
//! database.

use std::borrow::Cow;

use sqlx::migrate::{MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

/// One step of a schema, as `include_str!` of a `.sql` file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order; never reuse or renumber one that has shipped.
    pub version: i64,
    /// A few words, stored beside the version.
    pub description: &'static str,
    /// The SQL, run in one transaction.
    pub sql: &'static str,
}

pub(crate) fn migrator(table: &'static str, migrations: &[Migration]) -> Migrator {
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|migration| {
                sqlx::migrate::Migration::new(
                    migration.version,
                    Cow::Borrowed(migration.description),
                    MigrationType::Simple,
                    AssertSqlSafe(migration.sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    // The name is a constant of this project's code, never input, which is what the
    // "dangerous" of sqlx's name warns about.
    migrator.dangerous_set_table_name(table);
    migrator
}

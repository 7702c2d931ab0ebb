//! The storage seam. Crates that keep state (the authorization server's sign-ins, the safety of
//! sends, the sandbox's messages) open their database through here: a [`DatabaseUrl`] names
//! the backend, [`sqlite::SqliteDatabase`] opens SQLite the one way this project uses it,
//! [`postgres::PostgresDatabase`] opens PostgreSQL for replicas that share their state,
//! [`Database`] and [`with_database!`] let a store be written once for both, and
//! [`StoreError`] is what crosses into their handlers instead of a driver's error type.
//!
//! Adding a backend means a variant of [`DatabaseUrl`] and of [`Database`], a module beside
//! `sqlite` that opens it, an arm in [`with_database!`], and each part's migrations in its dialect.

mod database;
mod error;
mod migrations;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod url;

pub use database::{Database, Schema};
pub use error::StoreError;
pub use migrations::Migration;
pub use url::{DatabaseUrl, PostgresUrl};

//! The storage seam. Crates that keep state (the authorization server's sign-ins, the
//! sandbox's messages) open their database through here: a [`DatabaseUrl`] names the backend,
//! [`sqlite::SqliteDatabase`] opens SQLite the one way this project uses it, and
//! [`StoreError`] is what crosses into their handlers instead of a driver's error type.
//!
//! Adding a backend (PostgreSQL, say) means a variant of [`DatabaseUrl`], a module beside
//! `sqlite` that opens it, and an implementation of each crate's own storage trait.

mod error;
mod migrations;
pub mod sqlite;
mod url;

pub use error::StoreError;
pub use migrations::Migration;
pub use url::DatabaseUrl;

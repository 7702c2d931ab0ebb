//! Small pieces that several crates of the Clerk Chat MCP server need, kept in one place so
//! that each has one home: owner-only secret files, the TLS crypto provider, and the
//! did-you-mean suggestions of error messages.
//!
//! It depends on nothing of the project, so that everything else may depend on it.

pub mod did_you_mean;
pub mod secret_file;
#[cfg(feature = "tls")]
pub mod tls;

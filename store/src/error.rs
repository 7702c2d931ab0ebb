//! The error every storage operation returns, with two faces: its `Display` (the cause, for the
//! operator's log) and [`StoreError::PUBLIC_MESSAGE`] (what a client may be told).

/// A storage failure. Whatever the cause, a client is told only that the database cannot be
/// reached right now ([`StoreError::PUBLIC_MESSAGE`]) and gets a 503: nothing it sent was wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend this build can use.
    #[error("unsupported database URL ({scheme}): {reason}")]
    UnsupportedUrl {
        /// The URL's scheme, such as `postgres`: never the whole URL, which may hold a password.
        scheme: String,
        /// Why, and what would work.
        reason: &'static str,
    },
    /// The database could not be opened or created.
    #[error("cannot open the database {location}: {source}")]
    Open {
        /// Where the database is, without any password.
        location: String,
        /// The driver's reason.
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot update the schema of the database {location}: {source}")]
    Migrate {
        /// Where the database is, without any password.
        location: String,
        /// The migrator's reason.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("the database failed: {0}")]
    Query(#[from] sqlx::Error),
}

impl StoreError {
    /// What a client is told about any storage failure: fixed, so that no path, query or
    /// driver detail leaks through an error answer.
    pub const PUBLIC_MESSAGE: &'static str = "the server cannot reach its database; try again shortly";
}

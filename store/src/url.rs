//! Database URLs: which backend, and where.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use crate::StoreError;

/// Where a crate keeps its state: a SQLite file (one machine) or a PostgreSQL database (shared
/// by replicas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, `sqlite://PATH` (`sqlite:///abs/path` or `sqlite://relative/path`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    Postgres(PostgresUrl),
}

/// A PostgreSQL URL, which may carry a password: shown and debugged without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    url: String,
    shown: String,
}

impl PostgresUrl {
    /// The URL itself, password included: for the driver and for handing to a child process,
    /// never for a log.
    pub fn connection_string(&self) -> &str {
        &self.url
    }

    /// The connection options, password included: for the driver only.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url).expect("the URL was checked when it was read")
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", self.shown)
    }
}

impl DatabaseUrl {
    /// The SQLite file at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> DatabaseUrl {
        DatabaseUrl::Sqlite(path.into())
    }

    /// Reads `sqlite://PATH` or `postgres://...` (`postgresql://` too). Anything else is refused
    /// with what would work, and no error repeats the URL, which may hold a password.
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(StoreError::UnsupportedUrl {
                scheme: "no scheme".to_owned(),
                reason: "write it as sqlite://PATH, such as sqlite:///var/lib/clerk-mcp/oauth.db, or postgres://USER:PASSWORD@HOST/DATABASE",
            });
        };
        let unsupported = |reason| StoreError::UnsupportedUrl { scheme: format!("scheme `{scheme}`"), reason };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(unsupported("the URL names no file; write it as sqlite://PATH"));
                }
                if path.contains('?') {
                    return Err(unsupported("options in the URL are not supported: the server sets them itself"));
                }
                if path == ":memory:" {
                    return Err(unsupported("an in-memory database would lose every sign-in on restart; name a file"));
                }
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(|_| {
                    unsupported("not a PostgreSQL URL this server can read; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE")
                })?;
                let database = options.get_database().unwrap_or_else(|| options.get_username());
                let shown = format!("postgres://{}@{}:{}/{database}", options.get_username(), options.get_host(), options.get_port());
                Ok(DatabaseUrl::Postgres(PostgresUrl { url: url.to_owned(), shown }))
            }
            _ => Err(unsupported("write the URL as sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE")),
        }
    }
}

/// The URL as it may be logged: never with a password.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&url.shown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(DatabaseUrl::parse("sqlite:///var/lib/x.db").unwrap(), DatabaseUrl::sqlite("/var/lib/x.db"));
        assert_eq!(DatabaseUrl::parse("sqlite://data/x.db").unwrap(), DatabaseUrl::sqlite("data/x.db"));
        assert_eq!(DatabaseUrl::parse("sqlite:x.db").unwrap(), DatabaseUrl::sqlite("x.db"));
        assert_eq!(DatabaseUrl::sqlite("/a/b.db").to_string(), "sqlite:///a/b.db");
    }

    #[test]
    fn postgres_urls_are_shown_and_debugged_without_their_password() {
        for url in ["postgres://clerk:s3cret@db.internal:5433/clerk", "postgresql://clerk:s3cret@db.internal:5433/clerk"] {
            let parsed = DatabaseUrl::parse(url).unwrap();
            assert_eq!(parsed.to_string(), "postgres://clerk@db.internal:5433/clerk");
            assert!(!format!("{parsed:?}").contains("s3cret"), "{parsed:?}");
            assert!(matches!(parsed, DatabaseUrl::Postgres(_)));
        }
    }

    #[test]
    fn other_urls_say_what_works() {
        for (url, expected) in [
            ("mysql://u:p@db/clerk", "write the URL as sqlite://PATH or postgres://"),
            ("postgres://u:p@db:notaport/clerk", "not a PostgreSQL URL this server can read"),
            ("sqlite://", "names no file"),
            ("sqlite://x.db?mode=ro", "options in the URL"),
            ("sqlite::memory:", "in-memory"),
            ("/var/lib/x.db", "write it as sqlite://PATH"),
        ] {
            let error = DatabaseUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(!error.contains("u:p@"), "a password never reaches an error: {error}");
        }
    }
}

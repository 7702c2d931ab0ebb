//! Database URLs: which backend, and where.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Where a crate keeps its state. Today SQLite only; the URL form leaves room for others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, `sqlite://PATH` (`sqlite:///abs/path` or `sqlite://relative/path`).
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// The SQLite file at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> DatabaseUrl {
        DatabaseUrl::Sqlite(path.into())
    }

    /// Reads `sqlite://PATH`. Anything else is refused with what would work.
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(StoreError::UnsupportedUrl {
                scheme: "no scheme".to_owned(),
                reason: "write it as sqlite://PATH, such as sqlite:///var/lib/clerk-mcp/oauth.db",
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
            _ => Err(unsupported("this server stores its data in SQLite; write the URL as sqlite://PATH")),
        }
    }

    /// The SQLite file, for a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseUrl::Sqlite(path) => Some(path),
        }
    }
}

/// The URL as it may be logged: never with a password (none of today's backends has one).
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
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
    fn other_urls_say_what_works() {
        for (url, expected) in [
            ("postgres://u:p@db/clerk", "stores its data in SQLite"),
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

//! `DATABASE_URL`: which backend, and where.

use std::fmt;

use crate::Backend;

/// A validated database location. `postgres://` and `postgresql://` URLs select PostgreSQL;
/// `sqlite://PATH` or a bare file path selects SQLite.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("it is empty")]
    Empty,
    #[error("scheme {0:?} is not supported: use postgres://, postgresql:// or sqlite://")]
    UnsupportedScheme(String),
    #[error("a sqlite URL needs a file path, e.g. sqlite://loyalty.db")]
    MissingSqlitePath,
    #[error("an in-memory SQLite database is one database per connection: use a file path")]
    InMemorySqlite,
    #[error("it is not a valid PostgreSQL URL")]
    MalformedPostgres(#[source] ::url::ParseError),
    #[error("a PostgreSQL URL needs a host")]
    MissingPostgresHost,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        match raw.split_once("://") {
            Some(("postgres" | "postgresql", _)) => {
                let parsed = ::url::Url::parse(raw).map_err(DatabaseUrlError::MalformedPostgres)?;
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(DatabaseUrlError::MissingPostgresHost);
                }
                Ok(Self::Postgres(raw.to_owned()))
            }
            Some(("sqlite", path)) => Self::sqlite_path(path),
            Some((scheme, _)) => Err(DatabaseUrlError::UnsupportedScheme(scheme.to_owned())),
            None if raw.starts_with("sqlite:") => Self::sqlite_path(&raw["sqlite:".len()..]),
            None => Self::sqlite_path(raw),
        }
    }

    fn sqlite_path(path: &str) -> Result<Self, DatabaseUrlError> {
        match path {
            "" => Err(DatabaseUrlError::MissingSqlitePath),
            ":memory:" => Err(DatabaseUrlError::InMemorySqlite),
            path if path.starts_with("file:") || path.contains("mode=memory") => {
                Err(DatabaseUrlError::InMemorySqlite)
            }
            path => Ok(Self::Sqlite(path.to_owned())),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Prints the location without credentials.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{path}"),
            Self::Postgres(raw) => match ::url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        // Only fails for URLs that cannot have a password, which this one has.
                        let _ = url.set_password(Some("***"));
                    }
                    // libpq also takes a password (and a key's passphrase) as a parameter.
                    if url.query_pairs().any(|(name, _)| name.contains("password")) {
                        let masked: Vec<(String, String)> = url
                            .query_pairs()
                            .map(|(name, value)| {
                                let value = if name.contains("password") {
                                    "***".to_owned()
                                } else {
                                    value.into_owned()
                                };
                                (name.into_owned(), value)
                            })
                            .collect();
                        url.query_pairs_mut().clear().extend_pairs(masked);
                    }
                    f.write_str(url.as_str())
                }
                Err(_) => f.write_str("postgres://<unprintable>"),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_backend_from_the_scheme() {
        let pg = DatabaseUrl::parse("postgres://u:p@db:5432/app").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        let pg = DatabaseUrl::parse("postgresql://db/app?sslmode=require").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(
            DatabaseUrl::parse("sqlite://loyalty.db").unwrap(),
            DatabaseUrl::Sqlite("loyalty.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/loyalty.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/loyalty.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("data/loyalty.db").unwrap(),
            DatabaseUrl::Sqlite("data/loyalty.db".into())
        );
    }

    #[test]
    fn rejects_malformed_urls() {
        assert!(matches!(
            DatabaseUrl::parse(" "),
            Err(DatabaseUrlError::Empty)
        ));
        assert!(matches!(
            DatabaseUrl::parse("mysql://db/app"),
            Err(DatabaseUrlError::UnsupportedScheme(s)) if s == "mysql"
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingSqlitePath)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(DatabaseUrlError::InMemorySqlite)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://db:notaport/app"),
            Err(DatabaseUrlError::MalformedPostgres(_))
        ));
    }

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/loyalty").unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/loyalty");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = DatabaseUrl::parse(
            "postgres://app@db/loyalty?sslmode=require&password=s3cret&sslpassword=k3y",
        )
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://app@db/loyalty?sslmode=require&password=***&sslpassword=***"
        );
    }
}

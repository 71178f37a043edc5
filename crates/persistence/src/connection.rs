//! One connection type over both backends, and the r2d2 manager that opens them.

use std::time::Duration;

use diesel::connection::{CacheSize, SimpleConnection};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use crate::{DatabaseUrl, PoolSettings};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// Whether a statement that just failed here failed because the connection is dead (the
    /// server restarted, a pooler closed it). diesel flags that only once libpq has noticed; a
    /// failed round trip settles it and leaves the connection flagged, so the pool discards it.
    /// Called only after a failure, so it costs the request path nothing.
    pub(crate) fn found_dead(&mut self) -> bool {
        self.is_broken() || (self.ping().is_err() && self.is_broken())
    }
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        };
        write!(f, "DbConnection({})", backend.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// How long a SQLite connection waits for another writer's lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens connections of the backend the URL names. diesel's derived `establish` tries each
/// backend in turn, which would turn any string into a SQLite file and hide a Postgres error.
#[derive(Debug, Clone)]
pub(crate) enum ConnectionManager {
    /// The URL with its connect options, made once, not per connection.
    Postgres {
        target: String,
        statement_cache: bool,
    },
    Sqlite {
        path: String,
    },
}

impl ConnectionManager {
    pub(crate) fn new(url: DatabaseUrl, settings: &PoolSettings) -> Self {
        match url {
            DatabaseUrl::Postgres(raw) => Self::Postgres {
                target: with_connect_options(&raw, settings.session.connect_timeout),
                statement_cache: settings.statement_cache,
            },
            DatabaseUrl::Sqlite(path) => Self::Sqlite { path },
        }
    }

    pub(crate) fn open(&self) -> Result<DbConnection, ConnectionError> {
        match self {
            Self::Postgres {
                target,
                statement_cache,
            } => {
                let mut conn = PgConnection::establish(target)?;
                if !statement_cache {
                    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
                }
                Ok(DbConnection::Postgres(conn))
            }
            Self::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path)?;
                // Each PRAGMA alone: SQLite ignores all but the first of a batch for some.
                for pragma in [
                    "PRAGMA foreign_keys = ON".to_owned(),
                    format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis()),
                    "PRAGMA synchronous = NORMAL".to_owned(),
                    // The checkpoint thread folds the log back into the file (see `checkpoint`).
                    "PRAGMA wal_autocheckpoint = 0".to_owned(),
                ] {
                    conn.batch_execute(&pragma)
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// The PostgreSQL URL with a connect timeout and TCP keepalives (so a server that vanished is
/// noticed), unless the URL sets them itself.
fn with_connect_options(url: &str, connect_timeout: Duration) -> String {
    let Ok(mut parsed) = ::url::Url::parse(url) else {
        // DatabaseUrl checked it already; hand the driver what was configured.
        return url.to_owned();
    };
    let present: Vec<String> = parsed
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    let connect_timeout = connect_timeout.as_secs().max(1).to_string();
    let defaults = [
        ("connect_timeout", connect_timeout.as_str()),
        ("keepalives", "1"),
        ("keepalives_idle", "30"),
        ("keepalives_interval", "10"),
        ("keepalives_count", "3"),
    ];
    for (name, value) in defaults {
        if !present.iter().any(|p| p == name) {
            parsed.query_pairs_mut().append_pair(name, value);
        }
    }
    parsed.into()
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

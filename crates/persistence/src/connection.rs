//! One connection type over both backends, and the r2d2 manager that opens them.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use crate::DatabaseUrl;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
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
#[derive(Debug)]
pub(crate) struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub(crate) fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    pub(crate) fn open(&self) -> Result<DbConnection, ConnectionError> {
        let target = self.url.connection_string();
        match self.url {
            DatabaseUrl::Postgres(_) => PgConnection::establish(target).map(DbConnection::Postgres),
            DatabaseUrl::Sqlite(_) => {
                let mut conn = SqliteConnection::establish(target)?;
                // Each PRAGMA alone: SQLite ignores all but the first of a batch for some.
                for pragma in [
                    "PRAGMA foreign_keys = ON".to_owned(),
                    format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis()),
                    "PRAGMA synchronous = NORMAL".to_owned(),
                ] {
                    conn.batch_execute(&pragma)
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
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

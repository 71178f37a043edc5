use diesel::result::{DatabaseErrorKind, Error as DieselError};
use loyalty_domain::StoreError;
use loyalty_domain::store::StoreErrorKind;

/// What can go wrong below the domain. Each variant keeps the driver's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("cannot connect to the database")]
    Connect(#[source] diesel::ConnectionError),
    #[error("no database connection became available")]
    Pool(#[source] r2d2::Error),
    #[error("a database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("cannot start the SQLite checkpoint thread")]
    Checkpointer(#[source] std::io::Error),
    #[error("a migration failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "a migration gave up waiting for a table lock that another transaction holds (its \
         lock_timeout) and was not applied (those before it in this run were); run the \
         migrations again once that transaction has ended"
    )]
    MigrationBlocked(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "waited {} s for another process's migrations to finish (the migration lock timeout); \
         is a migration still running?",
        .waited.as_secs()
    )]
    MigrationLockTimeout {
        waited: std::time::Duration,
        #[source]
        source: diesel::result::Error,
    },
    #[error("stored data is invalid: {what}")]
    CorruptRow {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl PersistenceError {
    /// What a caller can do about this error: retry the work, retry later, or nothing.
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Connect(_) | Self::Pool(_) => StoreErrorKind::Unavailable,
            Self::Query(error) => query_error_kind(error),
            Self::MigrationLockTimeout { .. } => StoreErrorKind::Unavailable,
            Self::Checkpointer(_)
            | Self::Migration(_)
            | Self::MigrationBlocked(_)
            | Self::CorruptRow { .. } => StoreErrorKind::Failure,
        }
    }
}

/// Sorts a driver error: a lost race is a conflict worth running the work again for; a database
/// that could not serve the statement in time (a statement or lock timeout, a connection gone,
/// SQLite still busy after its busy timeout) is unavailable; anything else is a failure.
///
/// diesel names only some SQLSTATEs as kinds; deadlocks and timeouts are known by the server's
/// message, which PostgreSQL and SQLite write in English unless the server is configured
/// otherwise.
fn query_error_kind(error: &DieselError) -> StoreErrorKind {
    let DieselError::DatabaseError(kind, info) = error else {
        return StoreErrorKind::Failure;
    };
    match kind {
        DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure => {
            StoreErrorKind::Conflict
        }
        DatabaseErrorKind::ClosedConnection => StoreErrorKind::Unavailable,
        _ => {
            let message = info.message();
            if message.starts_with("deadlock detected") {
                StoreErrorKind::Conflict
            } else if UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m)) {
                StoreErrorKind::Unavailable
            } else {
                StoreErrorKind::Failure
            }
        }
    }
}

/// Server messages that mean "not now" rather than "never".
const UNAVAILABLE_MESSAGES: [&str; 6] = [
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
    "terminating connection due to idle-in-transaction timeout",
    "terminating connection due to administrator command",
    "database is locked",
    "database is busy",
];

impl From<PersistenceError> for StoreError {
    fn from(error: PersistenceError) -> Self {
        StoreError::of_kind(error.kind(), error)
    }
}

use loyalty_domain::StoreError;

/// What can go wrong below the domain. Each variant keeps the driver's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("cannot connect to the database")]
    Connect(#[source] diesel::ConnectionError),
    #[error("no database connection became available")]
    Pool(#[source] r2d2::Error),
    #[error("a database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("a migration failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is invalid: {what}")]
    CorruptRow {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<PersistenceError> for StoreError {
    fn from(error: PersistenceError) -> Self {
        StoreError::new(error)
    }
}

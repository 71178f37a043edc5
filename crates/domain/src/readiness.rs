//! Readiness: whether this instance can serve traffic.

use crate::StoreError;

/// What a readiness check found.
#[derive(Debug)]
pub struct Readiness {
    /// A pooled connection answered a trivial query.
    pub database: Result<(), StoreError>,
    pub migrations: MigrationState,
}

/// Whether the schema matches the migrations this build carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    UpToDate,
    /// Names of migrations this build has that the database has not applied.
    Pending(Vec<String>),
    /// The database could not be asked.
    Unknown,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database.is_ok() && self.migrations == MigrationState::UpToDate
    }
}

/// Port: checks the database behind this instance.
pub trait ReadinessProbe: Send + Sync {
    fn check(&self) -> Readiness;
}

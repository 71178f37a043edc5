//! Embedded migrations, one folder per backend with identical names.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use diesel::{Connection, RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Database, DbConnection, PersistenceError};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Serializes migration runs across replicas that start at once against one PostgreSQL.
const MIGRATION_LOCK_KEY: i64 = 0x004c_4f59_414c_5459; // "LOYALTY" in ASCII

/// One migration this build carries, and whether the database has applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub name: String,
    pub applied: bool,
}

/// Runs `$body` with `$harness` bound to the inner connection and `$source` to its backend's
/// migrations; the harness is generic over the backend, so each arm is its own instantiation.
macro_rules! with_harness {
    ($conn:expr, |$harness:ident, $source:ident, $db:ident| $body:expr) => {
        match $conn {
            DbConnection::Postgres($harness) => {
                type $db = Pg;
                let $source = POSTGRES_MIGRATIONS;
                $body
            }
            DbConnection::Sqlite($harness) => {
                type $db = Sqlite;
                let $source = SQLITE_MIGRATIONS;
                $body
            }
        }
    };
}

/// A migration's failure; one that gave up waiting for a table lock says so plainly.
fn migration_error(source: Box<dyn std::error::Error + Send + Sync>) -> PersistenceError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(error) = cause {
        if error.to_string().contains("lock timeout") {
            return PersistenceError::MigrationBlocked(source);
        }
        cause = error.source();
    }
    PersistenceError::Migration(source)
}

pub(crate) fn status(conn: &mut DbConnection) -> Result<Vec<MigrationStatus>, PersistenceError> {
    with_harness!(conn, |harness, source, Db| {
        let applied = harness.applied_migrations().map_err(migration_error)?;
        let known = diesel::migration::MigrationSource::<Db>::migrations(&source)
            .map_err(migration_error)?;
        Ok(known
            .iter()
            .map(|migration| MigrationStatus {
                name: migration.name().to_string(),
                applied: applied.iter().any(|v| *v == migration.name().version()),
            })
            .collect())
    })
}

impl Database {
    /// Every migration this build carries, oldest first, with whether it is applied.
    pub fn migration_status(&self) -> Result<Vec<MigrationStatus>, PersistenceError> {
        let mut conn = self.conn()?;
        status(&mut conn)
    }

    /// Applies what is pending and returns the names applied; idempotent. Each migration is
    /// its own transaction under the migration lock, so the table locks one takes are released
    /// when it commits, not when the whole run does (a later migration can then validate what
    /// an earlier one added with only a light lock).
    pub fn run_pending_migrations(&self) -> Result<Vec<String>, PersistenceError> {
        let mut conn = self.conn()?;
        let mut applied = Vec::new();
        while let Some(name) = migrating(&mut conn, self.migration_lock_timeout, |conn| {
            with_harness!(conn, |harness, source, _Db| {
                let pending = harness
                    .pending_migrations(source)
                    .map_err(migration_error)?;
                let Some(next) = pending.first() else {
                    return Ok(None);
                };
                harness
                    .run_migration(next.as_ref())
                    .map_err(migration_error)?;
                Ok(Some(next.name().to_string()))
            })
        })? {
            applied.push(name);
        }
        Ok(applied)
    }

    /// Reverts the newest applied migration, if any, and returns its name.
    pub fn revert_last_migration(&self) -> Result<Option<String>, PersistenceError> {
        let mut conn = self.conn()?;
        migrating(&mut conn, self.migration_lock_timeout, |conn| {
            let newest = status(conn)?.into_iter().rev().find(|m| m.applied);
            let Some(newest) = newest else {
                return Ok(None);
            };
            with_harness!(conn, |harness, source, _Db| {
                harness
                    .revert_last_migration(source)
                    .map_err(migration_error)?;
            });
            Ok(Some(newest.name))
        })
    }
}

/// Runs `work` (one migration, or one revert) on PostgreSQL in one transaction that first takes
/// a transaction-scoped advisory lock, so replicas starting at once migrate one after the other
/// and each migration applies once and whole. The lock shares the migration's transaction, which
/// works behind a pooler in transaction mode, where a session lock would stay on a server
/// connection other clients use next.
///
/// The transaction lifts the statement time limit: a migration may rewrite a large table. The
/// wait for the lock is bounded by `lock_wait`: a process that finds another's migrations
/// running for longer fails with a clear error rather than hanging its start-up. Waits for table
/// locks are bounded by each migration that touches a busy table (`SET LOCAL lock_timeout`).
///
/// SQLite needs no lock: a second process migrating the same file waits on SQLite's own write
/// lock.
fn migrating<T>(
    conn: &mut DbConnection,
    lock_wait: Duration,
    work: impl FnOnce(&mut DbConnection) -> Result<T, PersistenceError>,
) -> Result<T, PersistenceError> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return work(conn);
    }
    conn.transaction(|conn| {
        if let DbConnection::Postgres(pg) = conn {
            pg.batch_execute(&format!(
                "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = {}; \
                 SET LOCAL idle_in_transaction_session_timeout = 0",
                lock_wait.as_millis().max(1)
            ))?;
            sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(pg)
                .map_err(|error| match &error {
                    diesel::result::Error::DatabaseError(_, info)
                        if info.message().contains("lock timeout") =>
                    {
                        PersistenceError::MigrationLockTimeout {
                            waited: lock_wait,
                            source: error,
                        }
                    }
                    _ => PersistenceError::Query(error),
                })?;
            pg.batch_execute("SET LOCAL lock_timeout = 0")?;
        }
        work(conn)
    })
}

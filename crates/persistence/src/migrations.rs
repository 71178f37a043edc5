//! Embedded migrations, one folder per backend with identical names.

use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use diesel::{RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::database::Conn;
use crate::{Database, DbConnection, PersistenceError, SessionLimits};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Serializes migration runs across replicas that start at once against one Postgres.
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

fn migration_error(source: Box<dyn std::error::Error + Send + Sync>) -> PersistenceError {
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

    /// Applies what is pending and returns the names applied; idempotent.
    pub fn run_pending_migrations(&self) -> Result<Vec<String>, PersistenceError> {
        let mut conn = self.conn()?;
        with_migration_lock(&mut conn, self.session_limits(), |conn| {
            let pending: Vec<String> = status(conn)?
                .into_iter()
                .filter(|m| !m.applied)
                .map(|m| m.name)
                .collect();
            with_harness!(conn, |harness, source, _Db| {
                harness
                    .run_pending_migrations(source)
                    .map_err(migration_error)?;
            });
            Ok(pending)
        })
    }

    /// Reverts the newest applied migration, if any, and returns its name.
    pub fn revert_last_migration(&self) -> Result<Option<String>, PersistenceError> {
        let mut conn = self.conn()?;
        with_migration_lock(&mut conn, self.session_limits(), |conn| {
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

/// Holds a Postgres session-level advisory lock around `work`. SQLite needs none: a second
/// process migrating the same file waits on SQLite's own write lock.
///
/// Migrating lifts the session's time limits: a migration may rewrite a large table, and a
/// replica starting beside another waits for its migrations on the lock. The connection gets its
/// limits back before it returns to the pool.
fn with_migration_lock<T>(
    conn: &mut Conn,
    limits: SessionLimits,
    work: impl FnOnce(&mut DbConnection) -> Result<T, PersistenceError>,
) -> Result<T, PersistenceError> {
    let conn: &mut DbConnection = conn;
    if let DbConnection::Postgres(pg) = conn {
        pg.batch_execute(
            "SET statement_timeout = 0; SET lock_timeout = 0; \
             SET idle_in_transaction_session_timeout = 0",
        )?;
        sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .execute(pg)?;
    }
    let result = work(conn);
    if let DbConnection::Postgres(pg) = conn {
        sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .execute(pg)?;
        pg.batch_execute(&limits.set_statement())?;
    }
    result
}

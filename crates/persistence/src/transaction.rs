//! The store port's transactions: one connection, one database transaction per unit of work,
//! retried when it loses a race with a concurrent one.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use loyalty_domain::commits::CommittedWrites;
use loyalty_domain::store::{LoyaltyStore, UnitOfWork};
use loyalty_domain::{LoyaltyError, StoreError};

use crate::backend::db_run;
use crate::{Database, DbConnection, PersistenceError};

/// Attempts per unit of work before a conflict is reported.
const MAX_ATTEMPTS: u32 = 5;

/// A unit of work on one connection inside an open transaction.
pub(crate) struct Tx<'c> {
    pub(crate) conn: &'c mut DbConnection,
    /// What this attempt wrote that is reported once it commits.
    pub(crate) written: &'c mut CommittedWrites,
}

/// A diesel error as the domain sees it: a conflict, the database unavailable, or a failure.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    PersistenceError::Query(error).into()
}

/// Why a transaction stopped: it could not begin, the domain said no, or the database failed.
enum Stop {
    NotBegun(DieselError),
    Domain(LoyaltyError),
    Database(DieselError),
}

impl From<DieselError> for Stop {
    fn from(error: DieselError) -> Self {
        Stop::Database(error)
    }
}

impl Stop {
    fn into_domain(self) -> LoyaltyError {
        match self {
            Stop::Domain(error) => error,
            Stop::NotBegun(error) | Stop::Database(error) => store_error(error).into(),
        }
    }
}

/// Runs `body` in a transaction begun by `begin` (one round trip: see `Begin`).
fn in_transaction(
    conn: &mut DbConnection,
    begin: &str,
    body: impl FnOnce(&mut DbConnection) -> Result<(), Stop>,
) -> Result<(), Stop> {
    db_run!(conn, |inner| AnsiTransactionManager::begin_transaction_sql(
        inner, begin
    ))
    .map_err(Stop::NotBegun)?;
    let result = body(&mut *conn);
    match result {
        Ok(()) => Ok(db_run!(conn, |inner| {
            AnsiTransactionManager::commit_transaction(inner)
        })?),
        Err(stop) => {
            db_run!(conn, |inner| AnsiTransactionManager::rollback_transaction(
                inner
            ))?;
            Err(stop)
        }
    }
}

impl Database {
    /// Runs `work` in a transaction, again after a lost race, and on a new connection when the
    /// pooled one turns out dead before the transaction began (a server restarted, a pooler that
    /// closed it). Pooled connections are not tested with a round trip of their own when checked
    /// out: that would cost every request one; a dead one shows at the `BEGIN` instead.
    fn unit_of_work(
        &self,
        writes: bool,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        let _turn = if writes { self.writer_turn() } else { None };
        let begin = if writes {
            &self.begin().writing
        } else {
            &self.begin().reading
        };
        let mut conn = self.conn().map_err(StoreError::from)?;
        let mut attempt = 1;
        // After a database restart every pooled connection is dead: each is discarded in turn,
        // at most the pool's size of them, until a new one is opened.
        let mut dead_discarded = 0;
        loop {
            let mut written = CommittedWrites::default();
            let result = in_transaction(&mut conn, begin, |conn| {
                work(&mut Tx {
                    conn,
                    written: &mut written,
                })
                .map_err(Stop::Domain)
            });
            match result {
                Ok(()) => {
                    self.report_commit(&written);
                    return Ok(());
                }
                Err(Stop::NotBegun(_))
                    if dead_discarded < self.pool_size() && conn.found_dead() =>
                {
                    tracing::debug!("pooled connection found dead; taking another one");
                    dead_discarded += 1;
                    // Dropped first: the pool discards it, and a new one may take its place.
                    drop(conn);
                    conn = self.conn().map_err(StoreError::from)?;
                }
                Err(stop) => match stop.into_domain() {
                    LoyaltyError::Store(error) if error.is_conflict() && attempt < MAX_ATTEMPTS => {
                        tracing::debug!(attempt, "transaction lost a race; running it again");
                        attempt += 1;
                    }
                    other => return Err(other),
                },
            }
        }
    }
}

impl LoyaltyStore for Database {
    fn transaction(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        self.unit_of_work(true, work)
    }

    fn read(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        self.unit_of_work(false, work)
    }

    /// One statement on a connection in autocommit: it sees one snapshot by itself.
    fn read_one(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        self.lone_statement(|conn| {
            work(&mut Tx {
                conn,
                written: &mut CommittedWrites::default(),
            })
        })
    }
}

//! The store port's transactions: one connection, one database transaction per unit of work,
//! retried when it loses a race with a concurrent one.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use loyalty_domain::store::{LoyaltyStore, UnitOfWork};
use loyalty_domain::{LoyaltyError, StoreError};

use crate::backend::db_run;
use crate::{Database, DbConnection, PersistenceError};

/// Attempts per unit of work before a conflict is reported.
const MAX_ATTEMPTS: u32 = 5;

/// A unit of work on one connection inside an open transaction.
pub(crate) struct Tx<'c> {
    pub(crate) conn: &'c mut DbConnection,
}

/// A diesel error as the domain sees it: a conflict, the database unavailable, or a failure.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    PersistenceError::Query(error).into()
}

/// Why a transaction body stopped: the domain said no, or the database failed to begin or end.
enum Stop {
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
            Stop::Database(error) => store_error(error).into(),
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
    ))?;
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
    fn unit_of_work(
        &self,
        writes: bool,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        let _turn = if writes { self.writer_turn() } else { None };
        let mut conn = self.conn().map_err(StoreError::from)?;
        let mut attempt = 1;
        loop {
            let begin = if writes {
                &self.begin().writing
            } else {
                &self.begin().reading
            };
            let result = in_transaction(&mut conn, begin, |conn| {
                work(&mut Tx { conn }).map_err(Stop::Domain)
            })
            .map_err(Stop::into_domain);
            match result {
                Err(LoyaltyError::Store(error))
                    if error.is_conflict() && attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(attempt, "transaction lost a race; running it again");
                    attempt += 1;
                }
                other => return other,
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
}

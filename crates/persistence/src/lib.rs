//! diesel adapters for loyalty-domain's store ports, on PostgreSQL and SQLite from one code path.
//!
//! A [`Database`] owns an r2d2 pool of [`DbConnection`]s whose backend is picked from the
//! `DATABASE_URL` scheme. Per-backend SQL appears only where diesel's `MultiConnection` cannot
//! express a statement portably: `ON CONFLICT` and `FOR UPDATE` run through `backend::db_run!`,
//! and advisory locks and migrations in small `match` blocks.

mod audit;
mod backend;
mod checkpoint;
mod connection;
mod customers;
mod database;
mod error;
mod events;
mod keys;
mod ledger;
mod lots;
mod migrations;
mod programs;
mod readiness;
mod reports;
mod rewards;
mod rows;
mod schema;
mod search;
mod statement;
mod tenants;
mod transaction;
mod url;
mod webhooks;

pub use connection::{Backend, DbConnection};
pub use database::{Database, JobLock, PoolSettings, SessionLimits};
pub use error::PersistenceError;
pub use migrations::MigrationStatus;
pub use url::{DatabaseUrl, DatabaseUrlError};

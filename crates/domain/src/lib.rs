//! The loyalty domain: tenants and their rules, the use cases built on them, and the ports
//! (traits) those use cases need from the outside world.
//!
//! Nothing here knows about HTTP, SQL or an async runtime: adapters implement the ports and the
//! app crate wires them together.

pub mod activity;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod commits;
pub mod customer;
pub mod earning;
mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod local_time;
pub mod lots;
pub mod money;
pub mod page;
pub mod program;
pub mod readiness;
pub mod reports;
pub mod rewards;
pub mod search;
pub mod secrets;
pub mod service;
pub mod store;
pub mod tenant;
pub mod validation;
pub mod voucher;
pub mod webhooks;

pub use clock::{Clock, SystemClock};
pub use error::{LoyaltyError, Resource};
pub use service::Loyalty;
pub use store::StoreError;

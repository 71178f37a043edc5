//! The loyalty domain: tenants and their rules, the use cases built on them, and the ports
//! (traits) those use cases need from the outside world.
//!
//! Nothing here knows about HTTP, SQL or an async runtime: adapters implement the ports and the
//! app crate wires them together.

pub mod clock;
pub mod readiness;
pub mod store;
pub mod tenant;

pub use clock::{Clock, SystemClock};
pub use store::StoreError;

//! The `loyalty` binary's library half: configuration, CLI, start-up order and wiring, kept in a
//! library so integration tests start the very same application in-process.

pub mod admin;
pub mod cli;
pub mod config;
pub mod import;
pub mod smoke;
pub mod startup;
pub mod telemetry;

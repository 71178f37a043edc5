//! The integration tests, one binary: each module is one area of the API or the CLI, all
//! against the real app on a fresh database from the harness in `support`.

#![allow(clippy::unwrap_used)] // In tests a panic is the failure report.

#[macro_use]
mod support;

mod access;
mod activity;
mod audit;
mod bad_input;
mod caching;
mod cli;
mod concurrency;
mod cors;
mod customers;
mod erasure;
mod events;
mod exports;
mod health;
mod idempotency;
mod imports;
mod isolation;
mod local_time;
mod logs;
mod metrics;
mod openapi;
mod points_expiry;
mod program;
mod public_tenant;
mod rate_limits;
mod receiver;
mod replicas;
mod reports;
mod reward_races;
mod rewards;
mod saturation;
mod scale_out;
mod search;
mod shutdown;
mod sqlite_checkpoint;
mod startup;
mod tenants;
mod webhooks;

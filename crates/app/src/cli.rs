//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// SMB Loyalty: the loyalty-program backend for small businesses.
///
/// Configuration comes from the environment (DATABASE_URL, DEFAULT_TENANT, ENVIRONMENT,
/// CSP_POLICY, HOST, PORT, LOG_FORMAT), over an optional TOML file given with --config.
#[derive(Debug, Parser)]
#[command(name = "loyalty", version)]
pub struct Cli {
    /// A TOML file with settings (lower-case variable names); the environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API: connect, apply pending migrations, ensure the default tenant, listen.
    Serve,
    /// Inspect or apply the database migrations this build carries.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Check a running deployment: GET /health/ready and /api/public/tenant-meta must both
    /// answer 200 with JSON. Exits non-zero otherwise.
    Smoke {
        /// Where the deployment answers, e.g. https://loyalty.example.com
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// Seconds to wait for each answer before calling it failed.
        #[arg(long, value_name = "SECONDS", default_value_t = 5)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// List every migration with whether it is applied or pending.
    Status,
    /// Apply pending migrations; with nothing pending it says so and succeeds.
    Run,
    /// Revert the newest applied migration (for rolling back a release by hand).
    Revert,
}

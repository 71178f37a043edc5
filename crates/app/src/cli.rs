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
    /// Manage tenants straight against the database (the operator acts as platform admin).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Run a background job once, now.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Issue or revoke API keys straight against the database.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Import records from files straight into the database.
    #[command(subcommand)]
    Import(ImportCommand),
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
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// A slug: lowercase letters, digits and hyphens, e.g. acme-wash.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// car_wash, cafe, restaurant, salon, fitness, padel, retail or other.
        #[arg(long, default_value = "other")]
        vertical: String,
        /// stamps, points or hybrid.
        #[arg(long, default_value = "hybrid")]
        loyalty_type: String,
        /// ISO 3166-1 alpha-2; phone numbers without a country code are read as this country's.
        #[arg(long, default_value = "US")]
        country: String,
        /// ISO 4217; the currency purchases are recorded in.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// IANA time zone (e.g. Europe/Berlin): the tenant's days end at its midnight.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long)]
        primary_domain: Option<String>,
        #[arg(long)]
        subdomain: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key and print it once on stdout: `--role platform_admin` without a tenant, or
    /// `--tenant ID --role tenant_admin|staff`.
    Create {
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// platform_admin, tenant_admin or staff.
        #[arg(long)]
        role: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke the key with this prefix (the part after `lk_`, before the next `_`); it stops
    /// working at once.
    Revoke { prefix: String },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import customers from a CSV file (UTF-8, commas or semicolons, a header row naming
    /// columns among name, phone, email, external_id, opening_points, opening_visits). Every
    /// row is checked first; any problem refuses the whole file, listing each with its line.
    Customers {
        #[arg(long, value_name = "ID")]
        tenant: String,
        /// What a row whose phone, email or external id an existing customer has does: skip it,
        /// or fail the whole import.
        #[arg(long, value_name = "skip|fail", default_value = "fail")]
        on_conflict: String,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Expire every voucher and every earned point past its expiry, refunding vouchers' points
    /// where the program says so (the server also does this on an interval). Safe to run at any
    /// time, and twice.
    RunExpiry,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_command_has_its_own_description() {
        let cli = Cli::command();
        let about = |name: &str| {
            cli.find_subcommand(name)
                .and_then(|command| command.get_about())
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        let expected = [
            ("serve", "Serve the API"),
            ("migrate", "Inspect or apply the database migrations"),
            ("tenant", "Manage tenants"),
            ("jobs", "Run a background job once"),
            ("api-key", "Issue or revoke API keys"),
            ("import", "Import records from files"),
            ("smoke", "Check a running deployment"),
        ];
        for (name, start) in expected {
            assert!(about(name).starts_with(start), "{name}: {:?}", about(name));
        }
        assert_eq!(cli.get_subcommands().count(), expected.len());
    }
}

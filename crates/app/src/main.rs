use std::collections::HashMap;
use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loyalty_app::admin::{self, AdminError};
use loyalty_app::cli::{Cli, Command, MigrateCommand};
use loyalty_app::config::{ConfigError, Loaded, Settings};
use loyalty_app::import;
use loyalty_app::smoke::{self, SmokeError};
use loyalty_app::startup::{self, Application, StartupError};
use loyalty_app::telemetry;
use loyalty_persistence::{Database, DatabaseUrl, PersistenceError, PoolSettings};

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("cannot open the database at {location}")]
    Connect {
        location: String,
        #[source]
        source: PersistenceError,
    },
    #[error("migration command failed")]
    Migrate(#[source] PersistenceError),
    #[error(transparent)]
    Smoke(#[from] SmokeError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("the server stopped with an error")]
    Serve(#[source] std::io::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("loyalty: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Smoke { base_url, timeout } => {
            let passed = actix_web::rt::System::new()
                .block_on(smoke::run(&base_url, Duration::from_secs(timeout)))?;
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Serve => {
            let settings = load_settings(cli.config.as_deref())?;
            actix_web::rt::System::new().block_on(async {
                let application = Application::build(settings).await?;
                application
                    .serve_until_signalled()
                    .await
                    .map_err(CliError::Serve)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(command) => {
            let settings = load_settings(cli.config.as_deref())?;
            let database = connect(settings.migration_url(), startup::migration_pool(&settings))?;
            migrate(&database, &command).map_err(CliError::Migrate)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(command) => {
            admin::tenant(open_database(cli.config.as_deref())?, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs(command) => {
            let settings = load_settings(cli.config.as_deref())?;
            let database = connect(&settings.database_url, settings.database_pool)?;
            let retention = admin::Retention {
                idempotency_ttl: settings.idempotency_ttl,
                events: settings.events_retention,
            };
            admin::jobs(database, retention, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey(command) => {
            admin::api_key(open_database(cli.config.as_deref())?, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(command) => {
            import::customers(open_database(cli.config.as_deref())?, command)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configured database, for the commands that work on it directly.
fn open_database(file: Option<&std::path::Path>) -> Result<Database, CliError> {
    let settings = load_settings(file)?;
    connect(&settings.database_url, settings.database_pool)
}

fn connect(url: &DatabaseUrl, pool: PoolSettings) -> Result<Database, CliError> {
    Database::connect(url, pool).map_err(|source| CliError::Connect {
        location: url.to_string(),
        source,
    })
}

/// Loads settings and starts logging in the configured format, then logs what loading warned of.
fn load_settings(file: Option<&std::path::Path>) -> Result<Settings, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let Loaded { settings, warnings } = Settings::load(file, &env)?;
    telemetry::init(settings.log_format);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(settings)
}

fn migrate(database: &Database, command: &MigrateCommand) -> Result<(), PersistenceError> {
    match command {
        MigrateCommand::Status => {
            let all = database.migration_status()?;
            for migration in &all {
                let state = if migration.applied {
                    "applied"
                } else {
                    "pending"
                };
                println!("{state:<8} {}", migration.name);
            }
            let pending = all.iter().filter(|m| !m.applied).count();
            println!("{} applied, {pending} pending", all.len() - pending);
        }
        MigrateCommand::Run => {
            let applied = database.run_pending_migrations()?;
            if applied.is_empty() {
                println!("nothing pending: the schema is up to date");
            }
            for name in applied {
                println!("applied  {name}");
            }
        }
        MigrateCommand::Revert => match database.revert_last_migration()? {
            Some(name) => println!("reverted {name}"),
            None => println!("nothing to revert"),
        },
    }
    Ok(())
}

/// The error and its causes on one line, "outer: inner: root", with drivers' multi-line
/// messages folded.
fn one_line(error: &dyn Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts
        .iter()
        .map(|part| part.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(": ")
}

//! Configuration: built-in defaults, then an optional TOML file, then the environment.
//!
//! Canonical variables only: DATABASE_URL, DATABASE_MIGRATION_URL, DEFAULT_TENANT, ENVIRONMENT,
//! CSP_POLICY, ALLOWED_ORIGINS, HOST, PORT, LOG_FORMAT, EXPIRY_SWEEP_INTERVAL_SECS,
//! SHUTDOWN_TIMEOUT_SECS, SHUTDOWN_DRAIN_SECS, the rate limits RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE,
//! RATE_LIMIT_CARDS_PER_MINUTE, RATE_LIMIT_API_PER_MINUTE and TRUSTED_PROXY_HOPS, the database
//! limits
//! DATABASE_POOL_SIZE, DATABASE_POOL_TIMEOUT_MS, DATABASE_STATEMENT_TIMEOUT_MS,
//! DATABASE_LOCK_TIMEOUT_MS, DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, DATABASE_STATEMENT_CACHE,
//! MIGRATION_LOCK_TIMEOUT_SECS, CACHE_TTL_MS, IDEMPOTENCY_TTL_HOURS, EVENTS_RETENTION_DAYS,
//! METRICS_TOKEN, and the webhook settings WEBHOOK_TIMEOUT_MS, WEBHOOK_RETRY_BASE_MS,
//! WEBHOOK_MAX_ATTEMPTS and WEBHOOK_DISABLE_AFTER_HOURS, and IMPORT_MAX_BYTES. A TOML file uses the same names in lower case (`database_url = "..."`).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use loyalty_domain::tenant::{TenantId, TenantIdError};
use loyalty_domain::webhooks::RetryPolicy;
use loyalty_http::{AllowedOrigins, MetricsToken, RateLimitSettings};
use loyalty_persistence::{Backend, DatabaseUrl, DatabaseUrlError, PoolSettings, SessionLimits};
use serde::Deserialize;

const VARIABLES: [&str; 32] = [
    "DATABASE_URL",
    "DATABASE_MIGRATION_URL",
    "DEFAULT_TENANT",
    "ENVIRONMENT",
    "CSP_POLICY",
    "ALLOWED_ORIGINS",
    "HOST",
    "PORT",
    "LOG_FORMAT",
    "EXPIRY_SWEEP_INTERVAL_SECS",
    "SHUTDOWN_TIMEOUT_SECS",
    "SHUTDOWN_DRAIN_SECS",
    "RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE",
    "RATE_LIMIT_CARDS_PER_MINUTE",
    "RATE_LIMIT_API_PER_MINUTE",
    "TRUSTED_PROXY_HOPS",
    "DATABASE_POOL_SIZE",
    "DATABASE_POOL_TIMEOUT_MS",
    "DATABASE_STATEMENT_TIMEOUT_MS",
    "DATABASE_LOCK_TIMEOUT_MS",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "DATABASE_STATEMENT_CACHE",
    "MIGRATION_LOCK_TIMEOUT_SECS",
    "CACHE_TTL_MS",
    "IDEMPOTENCY_TTL_HOURS",
    "EVENTS_RETENTION_DAYS",
    "METRICS_TOKEN",
    "WEBHOOK_TIMEOUT_MS",
    "WEBHOOK_RETRY_BASE_MS",
    "WEBHOOK_MAX_ATTEMPTS",
    "WEBHOOK_DISABLE_AFTER_HOURS",
    "IMPORT_MAX_BYTES",
];

/// Names earlier deployments used, each with the variable that replaced it.
const LEGACY_ALIASES: [(&str, &str); 1] = [("CA_DATABASE_URL", "DATABASE_URL")];

const DEFAULT_SQLITE_URL: &str = "sqlite://loyalty.db";
const DEFAULT_SWEEP_SECS: u64 = 60;
const MAX_SWEEP_SECS: u64 = 86_400;
/// How long requests in flight may take to finish once the process is asked to stop: longer
/// than any request should, shorter than an orchestrator's usual grace period before it kills.
const DEFAULT_SHUTDOWN_SECS: u64 = 30;
const MAX_SHUTDOWN_SECS: u64 = 3_600;
const MAX_DRAIN_SECS: u64 = 300;
const MAX_MIGRATION_LOCK_SECS: u64 = 3_600;
const MAX_PER_MINUTE: u64 = 1_000_000;
const MAX_PROXY_HOPS: u64 = 10;
const MAX_POOL_SIZE: u64 = 1_000;
/// Long enough to spare the database a read per request, short enough that a change made
/// through another replica is seen within seconds.
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
const DEFAULT_IDEMPOTENCY_TTL_HOURS: u64 = 48;
/// A year: idempotency records are a retry window, not an archive.
const MAX_IDEMPOTENCY_TTL_HOURS: u64 = 8_760;
/// A month: long enough for a consumer that was down over a holiday to catch up.
const DEFAULT_EVENTS_RETENTION_DAYS: u64 = 30;
/// Ten years: the feed is a window for consumers, not the system of record (the ledger is).
const MAX_EVENTS_RETENTION_DAYS: u64 = 3_650;
/// How long a webhook endpoint has to answer: long enough for a slow receiver, short enough
/// that one cannot hold a worker for long.
const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest customer import a request may send: 50 MB, about a million rows.
const DEFAULT_IMPORT_MAX_BYTES: u64 = 50 * 1024 * 1024;
const MAX_IMPORT_MAX_BYTES: u64 = 1024 * 1024 * 1024;
const DEFAULT_WEBHOOK_RETRY_BASE: Duration = Duration::from_secs(5);
/// With the default base, twelve attempts span about a day.
const DEFAULT_WEBHOOK_MAX_ATTEMPTS: u64 = 12;
const MAX_WEBHOOK_ATTEMPTS: u64 = 50;
/// Three days: a receiver down over a weekend is not given up on.
const DEFAULT_WEBHOOK_DISABLE_AFTER_HOURS: u64 = 72;
const MAX_WEBHOOK_DISABLE_AFTER_HOURS: u64 = 8_760;
/// The longest any of the database waits may be set to: ten minutes.
const MAX_WAIT_MS: u64 = 600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Staging,
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Staging => "staging",
            Self::Production => "production",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Validated settings: everything the process needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: DatabaseUrl,
    /// Where migrations run, when not through `database_url`: a direct connection to the server
    /// when the service reaches it through a pooler, or a role allowed to change the schema.
    pub database_migration_url: Option<DatabaseUrl>,
    pub default_tenant: TenantId,
    pub csp_policy: Option<String>,
    /// The origins whose browsers may call the service (CORS).
    pub allowed_origins: AllowedOrigins,
    pub host: String,
    pub port: u16,
    pub log_format: LogFormat,
    /// How often the server expires overdue vouchers.
    pub expiry_sweep_interval: Duration,
    /// How long requests in flight may take to finish after SIGTERM or Ctrl-C.
    pub shutdown_timeout: Duration,
    /// How long readiness answers 503 after SIGTERM, while the process still serves, before it
    /// stops accepting connections: the time a load balancer needs to stop sending it traffic.
    pub shutdown_drain: Duration,
    /// Requests per minute per client IP and per API key, and the proxies to trust.
    pub rate_limits: RateLimitSettings,
    /// The connection pool and the limits on every database session.
    pub database_pool: PoolSettings,
    /// How long an API key's record and a public request's tenant are cached in this process.
    pub cache_ttl: Duration,
    /// How long an idempotency key answers retries; the expiry sweep deletes older records.
    pub idempotency_ttl: Duration,
    /// How long events stay in the feed; the expiry sweep deletes older ones.
    pub events_retention: Duration,
    /// The bearer token `/metrics` requires; open to all when unset.
    pub metrics_token: Option<MetricsToken>,
    /// How long a webhook endpoint has to answer one delivery.
    pub webhook_timeout: Duration,
    /// The largest body a customer import takes, in bytes.
    pub import_max_bytes: u64,
    /// How failed webhook deliveries are retried, and when a failing endpoint is disabled.
    pub webhook_retry: RetryPolicy,
}

/// Settings plus what loading them found worth a warning, to log once logging is set up.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration")]
    Source(#[source] config::ConfigError),
    #[error("ENVIRONMENT must be one of local, staging, production (got {0:?})")]
    Environment(String),
    #[error("PORT must be an integer from 0 to 65535 (got {0:?})")]
    Port(String),
    #[error("LOG_FORMAT must be json or pretty (got {0:?})")]
    LogFormat(String),
    #[error("HOST must not be empty")]
    EmptyHost,
    #[error("DATABASE_URL is invalid")]
    DatabaseUrl(#[source] DatabaseUrlError),
    #[error("DATABASE_URL is required when ENVIRONMENT is production")]
    DatabaseUrlRequired,
    #[error("DATABASE_URL must be a PostgreSQL URL when ENVIRONMENT is production")]
    ProductionNeedsPostgres,
    #[error("DATABASE_MIGRATION_URL is invalid")]
    MigrationUrl(#[source] DatabaseUrlError),
    #[error("DATABASE_MIGRATION_URL must name the same kind of database as DATABASE_URL")]
    MigrationUrlBackend,
    #[error("DATABASE_STATEMENT_CACHE must be on or off (got {0:?})")]
    StatementCache(String),
    #[error("DEFAULT_TENANT is invalid")]
    DefaultTenant(#[source] TenantIdError),
    #[error("CSP_POLICY must be printable ASCII on one line")]
    CspPolicy,
    #[error(
        "ALLOWED_ORIGINS must be * or a comma-separated list of origins such as \
         https://till.example.com (got {0:?})"
    )]
    AllowedOrigin(String),
    #[error("ALLOWED_ORIGINS must not be * when ENVIRONMENT is production: list the origins")]
    AnyOriginInProduction,
    #[error("METRICS_TOKEN must be visible ASCII characters with no spaces")]
    MetricsToken,
    #[error("{name} must be an integer from 1 to {max} (got {value:?})")]
    OutOfRange {
        name: &'static str,
        max: u64,
        value: String,
    },
}

/// The configuration as written, before validation.
#[derive(Debug, Default, Deserialize)]
struct Raw {
    database_url: Option<String>,
    database_migration_url: Option<String>,
    default_tenant: Option<String>,
    environment: Option<String>,
    csp_policy: Option<String>,
    allowed_origins: Option<String>,
    host: Option<String>,
    port: Option<String>,
    log_format: Option<String>,
    expiry_sweep_interval_secs: Option<String>,
    shutdown_timeout_secs: Option<String>,
    shutdown_drain_secs: Option<String>,
    rate_limit_tenant_documents_per_minute: Option<String>,
    rate_limit_cards_per_minute: Option<String>,
    rate_limit_api_per_minute: Option<String>,
    trusted_proxy_hops: Option<String>,
    database_pool_size: Option<String>,
    database_pool_timeout_ms: Option<String>,
    database_statement_timeout_ms: Option<String>,
    database_lock_timeout_ms: Option<String>,
    database_idle_in_transaction_timeout_ms: Option<String>,
    database_statement_cache: Option<String>,
    migration_lock_timeout_secs: Option<String>,
    cache_ttl_ms: Option<String>,
    idempotency_ttl_hours: Option<String>,
    events_retention_days: Option<String>,
    metrics_token: Option<String>,
    webhook_timeout_ms: Option<String>,
    webhook_retry_base_ms: Option<String>,
    webhook_max_attempts: Option<String>,
    webhook_disable_after_hours: Option<String>,
    import_max_bytes: Option<String>,
}

/// A whole number from 1 to `max` named by `name`, or `default` when unset.
fn bounded(
    name: &'static str,
    value: Option<String>,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => {
            text.parse()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(ConfigError::OutOfRange {
                    name,
                    max,
                    value: text,
                })
        }
    }
}

/// A duration in milliseconds named by `name`, or `default` when unset.
fn millis(
    name: &'static str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let default = u64::try_from(default.as_millis()).unwrap_or(MAX_WAIT_MS);
    bounded(name, value, default, MAX_WAIT_MS).map(Duration::from_millis)
}

/// `ALLOWED_ORIGINS`: `*`, or exact origins (scheme, host and port, as browsers send them in
/// `Origin`) separated by commas.
fn allowed_origins(
    value: Option<String>,
    environment: Environment,
) -> Result<AllowedOrigins, ConfigError> {
    let entries: Vec<String> = value
        .unwrap_or_default()
        .split(',')
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect();
    match entries.as_slice() {
        [] => Ok(AllowedOrigins::None),
        [any] if any == "*" => match environment {
            Environment::Production => Err(ConfigError::AnyOriginInProduction),
            _ => Ok(AllowedOrigins::Any),
        },
        _ => {
            for entry in &entries {
                let exact = ::url::Url::parse(entry).is_ok_and(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.origin().ascii_serialization() == *entry
                });
                if !exact {
                    return Err(ConfigError::AllowedOrigin(entry.clone()));
                }
            }
            Ok(AllowedOrigins::List(entries))
        }
    }
}

/// Requests per minute named by `name`, or `default` when unset; 0 turns the limit off.
fn per_minute(name: &'static str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    match value.as_deref().map(str::trim) {
        Some("0") => Ok(0),
        _ => bounded(name, value, u64::from(default), MAX_PER_MINUTE)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

fn rate_limits(raw: &mut Raw) -> Result<RateLimitSettings, ConfigError> {
    let defaults = RateLimitSettings::default();
    let trusted_proxy_hops = match raw.trusted_proxy_hops.take().as_deref().map(str::trim) {
        None | Some("") | Some("0") => 0,
        other => bounded(
            "TRUSTED_PROXY_HOPS",
            other.map(str::to_owned),
            0,
            MAX_PROXY_HOPS,
        )
        .map(|n| usize::try_from(n).unwrap_or(0))?,
    };
    Ok(RateLimitSettings {
        tenant_documents_per_minute: per_minute(
            "RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE",
            raw.rate_limit_tenant_documents_per_minute.take(),
            defaults.tenant_documents_per_minute,
        )?,
        cards_per_minute: per_minute(
            "RATE_LIMIT_CARDS_PER_MINUTE",
            raw.rate_limit_cards_per_minute.take(),
            defaults.cards_per_minute,
        )?,
        api_per_minute: per_minute(
            "RATE_LIMIT_API_PER_MINUTE",
            raw.rate_limit_api_per_minute.take(),
            defaults.api_per_minute,
        )?,
        trusted_proxy_hops,
    })
}

fn pool_settings(raw: &mut Raw) -> Result<PoolSettings, ConfigError> {
    let defaults = PoolSettings::default();
    let limits = defaults.session;
    let max_size = bounded(
        "DATABASE_POOL_SIZE",
        raw.database_pool_size.take(),
        u64::from(defaults.max_size),
        MAX_POOL_SIZE,
    )?;
    let statement_cache = match raw
        .database_statement_cache
        .take()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("on") => true,
        Some("off") => false,
        Some(other) => return Err(ConfigError::StatementCache(other.to_owned())),
    };
    Ok(PoolSettings {
        max_size: u32::try_from(max_size).unwrap_or(defaults.max_size),
        statement_cache,
        checkout_timeout: millis(
            "DATABASE_POOL_TIMEOUT_MS",
            raw.database_pool_timeout_ms.take(),
            defaults.checkout_timeout,
        )?,
        session: SessionLimits {
            statement_timeout: millis(
                "DATABASE_STATEMENT_TIMEOUT_MS",
                raw.database_statement_timeout_ms.take(),
                limits.statement_timeout,
            )?,
            lock_timeout: millis(
                "DATABASE_LOCK_TIMEOUT_MS",
                raw.database_lock_timeout_ms.take(),
                limits.lock_timeout,
            )?,
            idle_in_transaction_timeout: millis(
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                raw.database_idle_in_transaction_timeout_ms.take(),
                limits.idle_in_transaction_timeout,
            )?,
            ..limits
        },
        migration_lock_timeout: Duration::from_secs(bounded(
            "MIGRATION_LOCK_TIMEOUT_SECS",
            raw.migration_lock_timeout_secs.take(),
            defaults.migration_lock_timeout.as_secs(),
            MAX_MIGRATION_LOCK_SECS,
        )?),
        ..defaults
    })
}

impl Settings {
    /// Where migrations run: `DATABASE_MIGRATION_URL` when set, else `DATABASE_URL`.
    pub fn migration_url(&self) -> &DatabaseUrl {
        self.database_migration_url
            .as_ref()
            .unwrap_or(&self.database_url)
    }

    /// Loads settings from the optional TOML `file` and the given environment (the process's, or
    /// a test's own map).
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Loaded, ConfigError> {
        let known: HashMap<String, String> = VARIABLES
            .iter()
            .filter_map(|name| {
                env.get(*name)
                    .map(|value| ((*name).to_owned(), value.clone()))
            })
            .collect();
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let raw: Raw = builder
            .add_source(
                config::Environment::default()
                    .source(Some(known))
                    .ignore_empty(true),
            )
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(ConfigError::Source)?;
        let warnings = LEGACY_ALIASES
            .iter()
            .filter(|(alias, _)| env.contains_key(*alias))
            .map(|(alias, canonical)| format!("{alias} is set but ignored: use {canonical}"))
            .collect();
        Ok(Loaded {
            settings: Self::validate(raw)?,
            warnings,
        })
    }

    fn validate(mut raw: Raw) -> Result<Self, ConfigError> {
        let database_pool = pool_settings(&mut raw)?;
        let rate_limits = rate_limits(&mut raw)?;
        let text =
            |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let cache_ttl = match text(raw.cache_ttl_ms.take()).as_deref() {
            // 0 turns the caches off: every request reads keys and tenants from the database.
            Some("0") => Duration::ZERO,
            other => millis("CACHE_TTL_MS", other.map(str::to_owned), DEFAULT_CACHE_TTL)?,
        };
        let environment = match text(raw.environment)
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("local") => Environment::Local,
            Some("staging") => Environment::Staging,
            Some("production") => Environment::Production,
            Some(other) => return Err(ConfigError::Environment(other.to_owned())),
        };
        let database_url = match (text(raw.database_url), environment) {
            (Some(url), _) => DatabaseUrl::parse(&url).map_err(ConfigError::DatabaseUrl)?,
            (None, Environment::Production) => return Err(ConfigError::DatabaseUrlRequired),
            (None, _) => {
                DatabaseUrl::parse(DEFAULT_SQLITE_URL).map_err(ConfigError::DatabaseUrl)?
            }
        };
        if environment == Environment::Production && database_url.backend() != Backend::Postgres {
            return Err(ConfigError::ProductionNeedsPostgres);
        }
        let database_migration_url = text(raw.database_migration_url)
            .map(|url| DatabaseUrl::parse(&url).map_err(ConfigError::MigrationUrl))
            .transpose()?;
        if database_migration_url
            .as_ref()
            .is_some_and(|url| url.backend() != database_url.backend())
        {
            return Err(ConfigError::MigrationUrlBackend);
        }
        let default_tenant = TenantId::parse(&text(raw.default_tenant).unwrap_or("default".into()))
            .map_err(ConfigError::DefaultTenant)?;
        let port = match text(raw.port) {
            None => 8080,
            Some(port) => port.parse().map_err(|_| ConfigError::Port(port))?,
        };
        let log_format = match text(raw.log_format)
            .map(|f| f.to_ascii_lowercase())
            .as_deref()
        {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            None if environment == Environment::Local => LogFormat::Pretty,
            None => LogFormat::Json,
            Some(other) => return Err(ConfigError::LogFormat(other.to_owned())),
        };
        let host = match raw.host {
            None => "127.0.0.1".to_owned(),
            Some(host) if host.trim().is_empty() => return Err(ConfigError::EmptyHost),
            Some(host) => host.trim().to_owned(),
        };
        let allowed_origins = allowed_origins(raw.allowed_origins, environment)?;
        let csp_policy = text(raw.csp_policy);
        if csp_policy
            .as_deref()
            .is_some_and(|p| !p.bytes().all(|b| (b' '..=b'~').contains(&b)))
        {
            return Err(ConfigError::CspPolicy);
        }
        let sweep_secs = bounded(
            "EXPIRY_SWEEP_INTERVAL_SECS",
            raw.expiry_sweep_interval_secs,
            DEFAULT_SWEEP_SECS,
            MAX_SWEEP_SECS,
        )?;
        let shutdown_secs = bounded(
            "SHUTDOWN_TIMEOUT_SECS",
            raw.shutdown_timeout_secs,
            DEFAULT_SHUTDOWN_SECS,
            MAX_SHUTDOWN_SECS,
        )?;
        let idempotency_hours = bounded(
            "IDEMPOTENCY_TTL_HOURS",
            raw.idempotency_ttl_hours,
            DEFAULT_IDEMPOTENCY_TTL_HOURS,
            MAX_IDEMPOTENCY_TTL_HOURS,
        )?;
        let events_retention_days = bounded(
            "EVENTS_RETENTION_DAYS",
            raw.events_retention_days,
            DEFAULT_EVENTS_RETENTION_DAYS,
            MAX_EVENTS_RETENTION_DAYS,
        )?;
        let webhook_retry = RetryPolicy {
            base: millis(
                "WEBHOOK_RETRY_BASE_MS",
                raw.webhook_retry_base_ms,
                DEFAULT_WEBHOOK_RETRY_BASE,
            )?,
            max_attempts: u32::try_from(bounded(
                "WEBHOOK_MAX_ATTEMPTS",
                raw.webhook_max_attempts,
                DEFAULT_WEBHOOK_MAX_ATTEMPTS,
                MAX_WEBHOOK_ATTEMPTS,
            )?)
            .unwrap_or(u32::MAX),
            disable_after: Duration::from_secs(
                bounded(
                    "WEBHOOK_DISABLE_AFTER_HOURS",
                    raw.webhook_disable_after_hours,
                    DEFAULT_WEBHOOK_DISABLE_AFTER_HOURS,
                    MAX_WEBHOOK_DISABLE_AFTER_HOURS,
                )? * 3_600,
            ),
        };
        let webhook_timeout = millis(
            "WEBHOOK_TIMEOUT_MS",
            raw.webhook_timeout_ms,
            DEFAULT_WEBHOOK_TIMEOUT,
        )?;
        let metrics_token = match text(raw.metrics_token) {
            Some(token) if !token.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(ConfigError::MetricsToken);
            }
            token => token.map(MetricsToken::new),
        };
        let drain_secs = match raw.shutdown_drain_secs.as_deref().map(str::trim) {
            None | Some("") | Some("0") => 0,
            _ => bounded(
                "SHUTDOWN_DRAIN_SECS",
                raw.shutdown_drain_secs,
                0,
                MAX_DRAIN_SECS,
            )?,
        };
        Ok(Self {
            environment,
            database_url,
            database_migration_url,
            default_tenant,
            csp_policy,
            allowed_origins,
            host,
            port,
            log_format,
            expiry_sweep_interval: Duration::from_secs(sweep_secs),
            shutdown_timeout: Duration::from_secs(shutdown_secs),
            shutdown_drain: Duration::from_secs(drain_secs),
            rate_limits,
            database_pool,
            cache_ttl,
            idempotency_ttl: Duration::from_secs(idempotency_hours * 3_600),
            events_retention: Duration::from_secs(events_retention_days * 86_400),
            metrics_token,
            webhook_timeout,
            webhook_retry,
            import_max_bytes: bounded(
                "IMPORT_MAX_BYTES",
                raw.import_max_bytes,
                DEFAULT_IMPORT_MAX_BYTES,
                MAX_IMPORT_MAX_BYTES,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_serve_sqlite_locally() {
        let loaded = Settings::load(None, &env(&[])).unwrap();
        let s = loaded.settings;
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("loyalty.db".into()));
        assert_eq!(s.default_tenant.as_str(), "default");
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8080));
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.csp_policy, None);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn staging_and_production_log_json_and_production_needs_postgres() {
        let staging = Settings::load(None, &env(&[("ENVIRONMENT", "staging")])).unwrap();
        assert_eq!(staging.settings.log_format, LogFormat::Json);
        let production = Settings::load(
            None,
            &env(&[
                ("ENVIRONMENT", "Production"),
                ("DATABASE_URL", "postgres://db/app"),
            ]),
        )
        .unwrap();
        assert_eq!(production.settings.environment, Environment::Production);
        assert_eq!(production.settings.log_format, LogFormat::Json);
        assert!(matches!(
            Settings::load(
                None,
                &env(&[("ENVIRONMENT", "production"), ("DATABASE_URL", "x.db")])
            ),
            Err(ConfigError::ProductionNeedsPostgres)
        ));
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        writeln!(
            file,
            "port = 9090\nhost = \"0.0.0.0\"\ndefault_tenant = \"acme\"\ncsp_policy = \"default-src 'self'\""
        )
        .unwrap();
        let from_file = Settings::load(Some(file.path()), &env(&[]))
            .unwrap()
            .settings;
        assert_eq!((from_file.host.as_str(), from_file.port), ("0.0.0.0", 9090));
        assert_eq!(from_file.default_tenant.as_str(), "acme");
        assert_eq!(from_file.csp_policy.as_deref(), Some("default-src 'self'"));

        let overridden = Settings::load(
            Some(file.path()),
            &env(&[("PORT", "7070"), ("DEFAULT_TENANT", "")]),
        )
        .unwrap()
        .settings;
        assert_eq!(overridden.port, 7070);
        assert_eq!(
            overridden.default_tenant.as_str(),
            "acme",
            "an empty variable counts as unset"
        );
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let missing = Path::new("/nonexistent/loyalty.toml");
        assert!(matches!(
            Settings::load(Some(missing), &env(&[])),
            Err(ConfigError::Source(_))
        ));
    }

    #[test]
    fn only_canonical_names_are_read_and_aliases_warn() {
        let loaded = Settings::load(
            None,
            &env(&[
                ("CA_DATABASE_URL", "postgres://legacy/db"),
                ("database_url", "ignored.db"),
            ]),
        )
        .unwrap();
        assert_eq!(
            loaded.settings.database_url,
            DatabaseUrl::Sqlite("loyalty.db".into())
        );
        assert_eq!(
            loaded.warnings,
            ["CA_DATABASE_URL is set but ignored: use DATABASE_URL"]
        );
    }

    #[test]
    fn database_limits_are_read_and_bounded() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.database_pool.max_size, 10);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(
            s.database_pool.checkout_timeout,
            Duration::from_millis(2000)
        );
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_POOL_SIZE", "4"),
                ("DATABASE_POOL_TIMEOUT_MS", "250"),
                ("DATABASE_STATEMENT_TIMEOUT_MS", "1500"),
                ("DATABASE_LOCK_TIMEOUT_MS", "700"),
                ("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", "9000"),
            ]),
        )
        .unwrap()
        .settings;
        assert_eq!(s.database_pool.max_size, 4);
        assert_eq!(s.database_pool.checkout_timeout, Duration::from_millis(250));
        let limits = s.database_pool.session;
        assert_eq!(limits.statement_timeout, Duration::from_millis(1500));
        assert_eq!(limits.lock_timeout, Duration::from_millis(700));
        assert_eq!(
            limits.idle_in_transaction_timeout,
            Duration::from_millis(9000)
        );
        for (name, value) in [
            ("DATABASE_POOL_SIZE", "0"),
            ("DATABASE_POOL_SIZE", "many"),
            ("DATABASE_POOL_TIMEOUT_MS", "-1"),
            ("DATABASE_LOCK_TIMEOUT_MS", "600001"),
        ] {
            let error = Settings::load(None, &env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    #[test]
    fn a_pooler_gets_its_statement_cache_switch_and_a_migration_url() {
        let s = Settings::load(None, &env(&[("DATABASE_URL", "postgres://db/app")]))
            .unwrap()
            .settings;
        assert!(s.database_pool.statement_cache);
        assert_eq!(s.database_migration_url, None);
        assert_eq!(s.migration_url(), &s.database_url);
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://pooler:6432/app"),
                ("DATABASE_MIGRATION_URL", "postgres://db:5432/app"),
                ("DATABASE_STATEMENT_CACHE", "OFF"),
            ]),
        )
        .unwrap()
        .settings;
        assert!(!s.database_pool.statement_cache);
        assert_eq!(
            s.migration_url(),
            &DatabaseUrl::Postgres("postgres://db:5432/app".into())
        );
        assert!(matches!(
            Settings::load(None, &env(&[("DATABASE_STATEMENT_CACHE", "sometimes")])),
            Err(ConfigError::StatementCache(value)) if value == "sometimes"
        ));
        assert!(matches!(
            Settings::load(
                None,
                &env(&[
                    ("DATABASE_URL", "postgres://db/app"),
                    ("DATABASE_MIGRATION_URL", "migrations.db")
                ])
            ),
            Err(ConfigError::MigrationUrlBackend)
        ));
        assert!(matches!(
            Settings::load(None, &env(&[("DATABASE_MIGRATION_URL", "mysql://db/app")])),
            Err(ConfigError::MigrationUrl(_))
        ));
    }

    #[test]
    fn allowed_origins_are_exact_origins_and_production_refuses_any() {
        let origins = |value: &str, environment: &str| {
            Settings::load(
                None,
                &env(&[
                    ("ALLOWED_ORIGINS", value),
                    ("ENVIRONMENT", environment),
                    ("DATABASE_URL", "postgres://db/app"),
                ]),
            )
            .map(|loaded| loaded.settings.allowed_origins)
        };
        assert_eq!(origins("", "local").unwrap(), AllowedOrigins::None);
        assert_eq!(
            origins(
                " https://till.example.com, http://localhost:5173 ,",
                "production"
            )
            .unwrap(),
            AllowedOrigins::List(vec![
                "https://till.example.com".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(origins("*", "staging").unwrap(), AllowedOrigins::Any);
        assert!(matches!(
            origins("*", "production"),
            Err(ConfigError::AnyOriginInProduction)
        ));
        for bad in [
            "https://till.example.com/",
            "https://till.example.com/app",
            "till.example.com",
            "ftp://till.example.com",
            "https://Till.example.com",
            "https://till.example.com, *",
        ] {
            assert!(
                matches!(origins(bad, "local"), Err(ConfigError::AllowedOrigin(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotency_records_live_two_days_unless_configured() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.idempotency_ttl, Duration::from_secs(48 * 3_600));
        let s = Settings::load(None, &env(&[("IDEMPOTENCY_TTL_HOURS", "1")]))
            .unwrap()
            .settings;
        assert_eq!(s.idempotency_ttl, Duration::from_secs(3_600));
        for value in ["0", "8761", "two days"] {
            let error =
                Settings::load(None, &env(&[("IDEMPOTENCY_TTL_HOURS", value)])).unwrap_err();
            assert!(
                error.to_string().starts_with("IDEMPOTENCY_TTL_HOURS"),
                "{error}"
            );
        }
    }

    #[test]
    fn webhooks_retry_for_about_a_day_unless_configured() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.webhook_timeout, Duration::from_millis(5000));
        assert_eq!(s.webhook_retry, RetryPolicy::default());
        let s = Settings::load(
            None,
            &env(&[
                ("WEBHOOK_TIMEOUT_MS", "1500"),
                ("WEBHOOK_RETRY_BASE_MS", "20"),
                ("WEBHOOK_MAX_ATTEMPTS", "4"),
                ("WEBHOOK_DISABLE_AFTER_HOURS", "1"),
            ]),
        )
        .unwrap()
        .settings;
        assert_eq!(s.webhook_timeout, Duration::from_millis(1500));
        assert_eq!(
            s.webhook_retry,
            RetryPolicy {
                base: Duration::from_millis(20),
                max_attempts: 4,
                disable_after: Duration::from_secs(3600),
            }
        );
        for (name, value) in [
            ("WEBHOOK_TIMEOUT_MS", "0"),
            ("WEBHOOK_RETRY_BASE_MS", "soon"),
            ("WEBHOOK_MAX_ATTEMPTS", "51"),
            ("WEBHOOK_DISABLE_AFTER_HOURS", "0"),
        ] {
            let error = Settings::load(None, &env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    #[test]
    fn events_are_kept_thirty_days_unless_configured() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.events_retention, Duration::from_secs(30 * 86_400));
        let s = Settings::load(None, &env(&[("EVENTS_RETENTION_DAYS", "7")]))
            .unwrap()
            .settings;
        assert_eq!(s.events_retention, Duration::from_secs(7 * 86_400));
        for value in ["0", "3651", "a month"] {
            let error =
                Settings::load(None, &env(&[("EVENTS_RETENTION_DAYS", value)])).unwrap_err();
            assert!(
                error.to_string().starts_with("EVENTS_RETENTION_DAYS"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_drain_delay_defaults_to_none_and_is_bounded() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.shutdown_drain, Duration::ZERO);
        let s = Settings::load(None, &env(&[("SHUTDOWN_DRAIN_SECS", "10")]))
            .unwrap()
            .settings;
        assert_eq!(s.shutdown_drain, Duration::from_secs(10));
        for value in ["301", "-1", "soon"] {
            let error = Settings::load(None, &env(&[("SHUTDOWN_DRAIN_SECS", value)])).unwrap_err();
            assert!(
                error.to_string().starts_with("SHUTDOWN_DRAIN_SECS"),
                "{error}"
            );
        }
    }

    #[test]
    fn metrics_token_is_kept_out_of_debug_output_and_must_be_one_word() {
        let s = Settings::load(None, &env(&[("METRICS_TOKEN", "s3cret-scrape")]))
            .unwrap()
            .settings;
        assert_eq!(
            s.metrics_token,
            Some(MetricsToken::new("s3cret-scrape".into()))
        );
        assert!(!format!("{s:?}").contains("s3cret-scrape"));
        let error = Settings::load(None, &env(&[("METRICS_TOKEN", "two words")])).unwrap_err();
        assert!(error.to_string().starts_with("METRICS_TOKEN"), "{error}");
    }

    #[test]
    fn rate_limits_are_read_and_zero_turns_one_off() {
        let s = Settings::load(None, &env(&[])).unwrap().settings;
        assert_eq!(s.rate_limits, RateLimitSettings::default());
        let s = Settings::load(
            None,
            &env(&[
                ("RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE", "120"),
                ("RATE_LIMIT_CARDS_PER_MINUTE", "0"),
                ("RATE_LIMIT_API_PER_MINUTE", "6000"),
                ("TRUSTED_PROXY_HOPS", "2"),
            ]),
        )
        .unwrap()
        .settings;
        assert_eq!(
            s.rate_limits,
            RateLimitSettings {
                tenant_documents_per_minute: 120,
                cards_per_minute: 0,
                api_per_minute: 6000,
                trusted_proxy_hops: 2,
            }
        );
        for (name, value) in [
            ("RATE_LIMIT_API_PER_MINUTE", "-1"),
            ("RATE_LIMIT_CARDS_PER_MINUTE", "lots"),
            ("TRUSTED_PROXY_HOPS", "11"),
        ] {
            let error = Settings::load(None, &env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    #[test]
    fn rejects_a_csp_policy_that_cannot_be_a_header() {
        assert!(matches!(
            Settings::load(None, &env(&[("CSP_POLICY", "default-src\n'self'")])),
            Err(ConfigError::CspPolicy)
        ));
    }
}

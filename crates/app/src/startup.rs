//! Start-up order for `loyalty serve`: connect, migrate, ensure the default tenant, bind, serve.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use loyalty_domain::cache::Caches;
use loyalty_domain::money::{Country, Currency};
use loyalty_domain::service::{SweepReport, WebhookSettings};
use loyalty_domain::tenant::{SeedOutcome, ensure_default_tenant};
use loyalty_domain::webhooks::{AttemptOutcome, DeliveryJob, DestinationPolicy, Recorded};
use loyalty_domain::{Clock, Loyalty, SystemClock};
use loyalty_http::{
    ApiEventRenderer, DatabaseGate, FulfilThrottle, HttpState, Lifecycle, Metrics, MetricsError,
    RateLimits,
};
use loyalty_persistence::{Database, JobLock, PersistenceError, PoolSettings};
use loyalty_webhooks::{SenderError, SystemResolver, WebhookSender};

use crate::config::{Environment, Settings};

/// One replica at a time expires vouchers.
pub const EXPIRY_SWEEP_LOCK: JobLock = JobLock(0x004c_4f59_5357_4550); // "LOYSWEP"

/// Attempts one replica has in flight at most (each to a different endpoint).
const DELIVERY_BATCH: usize = 32;
/// How long an idle delivery worker waits before it looks for due deliveries again.
const DELIVERY_POLL: Duration = Duration::from_millis(250);
/// Added to twice the timeout for a claimed delivery's lease.
const DELIVERY_LEASE_MARGIN: Duration = Duration::from_secs(10);
/// How often the webhook queue's depth and age are measured for the metrics.
const BACKLOG_INTERVAL: Duration = Duration::from_secs(5);

/// Requests that may wait for a database turn, per pooled connection, before new ones are
/// refused at once: a queue deep enough for bursts, short enough that a waiter is served within
/// the pool's wait limit.
const GATE_QUEUE_PER_CONNECTION: usize = 64;

/// Used when CSP_POLICY is unset: an API serves no scripts, styles or frames.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database at {location}")]
    Connect {
        location: String,
        #[source]
        source: PersistenceError,
    },
    #[error("cannot apply migrations")]
    Migrate(#[source] PersistenceError),
    #[error("cannot ensure the default tenant '{tenant}'")]
    Seed {
        tenant: String,
        #[source]
        source: loyalty_domain::StoreError,
    },
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the metrics")]
    Metrics(#[source] MetricsError),
    #[error("cannot set up webhook delivery")]
    Webhooks(#[source] SenderError),
    #[error("database set-up stopped unexpectedly")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// A started application: bound, serving once awaited.
pub struct Application {
    server: Server,
    address: SocketAddr,
    lifecycle: Arc<Lifecycle>,
    drain: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the application with the given clock for every rule that reads the time.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        if settings.environment == Environment::Production && settings.csp_policy.is_none() {
            tracing::warn!(
                "CSP_POLICY is not set in production; sending the built-in default: {DEFAULT_CSP}"
            );
        }
        let prepared = settings.clone();
        let database = tokio::task::spawn_blocking(move || prepare_database(&prepared))
            .await
            .map_err(StartupError::Interrupted)??;
        let requested = format!("{}:{}", settings.host, settings.port);
        let bind_error = |source| StartupError::Bind {
            address: requested.clone(),
            source,
        };
        let listener =
            TcpListener::bind((settings.host.as_str(), settings.port)).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let metrics = Arc::new(Metrics::new().map_err(StartupError::Metrics)?);
        let database = Arc::new(database.with_commit_observer(metrics.clone()));
        let destinations = match settings.environment {
            Environment::Production => DestinationPolicy::PublicHttps,
            Environment::Local | Environment::Staging => DestinationPolicy::Anywhere,
        };
        let webhook_sender = WebhookSender::new(settings.webhook_timeout, destinations)
            .map_err(StartupError::Webhooks)?;
        let loyalty = Loyalty::new(database.clone(), clock, Arc::new(ApiEventRenderer))
            .with_caches(Caches::new(settings.cache_ttl))
            .with_idempotency_ttl(settings.idempotency_ttl)
            .with_events_retention(settings.events_retention)
            .with_webhooks(WebhookSettings {
                policy: destinations,
                resolver: Arc::new(SystemResolver),
                retry: settings.webhook_retry,
            });
        let pool = settings.database_pool;
        let pool_size = usize::try_from(pool.max_size).unwrap_or(1);
        let lifecycle = Arc::new(Lifecycle::default());
        let state = HttpState {
            loyalty: Arc::new(loyalty.clone()),
            database_gate: Arc::new(DatabaseGate::new(
                pool_size,
                pool_size * GATE_QUEUE_PER_CONNECTION,
                pool.checkout_timeout,
            )),
            fulfil_throttle: Arc::new(FulfilThrottle::default()),
            tenants: database.clone(),
            readiness: database.clone(),
            default_tenant: settings.default_tenant.clone(),
            expose_error_details: settings.environment != Environment::Production,
            content_security_policy: settings
                .csp_policy
                .clone()
                .unwrap_or_else(|| DEFAULT_CSP.to_owned()),
            strict_transport_security: settings.environment == Environment::Production,
            allowed_origins: settings.allowed_origins.clone(),
            lifecycle: lifecycle.clone(),
            rate_limits: Arc::new(RateLimits::new(settings.rate_limits)),
            metrics: metrics.clone(),
            metrics_token: settings.metrics_token.clone(),
            import_max_bytes: settings.import_max_bytes,
        };
        let server = loyalty_http::start_server(listener, state, settings.shutdown_timeout)
            .map_err(bind_error)?;
        actix_web::rt::spawn(deliver_webhooks(
            loyalty.clone(),
            webhook_sender,
            delivery_lease(settings.webhook_timeout),
            lifecycle.clone(),
            metrics.clone(),
        ));
        actix_web::rt::spawn(sweep_periodically(
            database,
            loyalty,
            settings.expiry_sweep_interval,
            lifecycle.clone(),
            metrics,
        ));
        tracing::info!(%address, environment = %settings.environment, "listening");
        Ok(Self {
            server,
            address,
            lifecycle,
            drain: settings.shutdown_drain,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped through its handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT (Ctrl-C), then drains: readiness answers 503 and the
    /// sweep starts nothing new; after `SHUTDOWN_DRAIN_SECS` (still serving, so a load balancer
    /// sees the 503 and moves traffic away) no new connections are taken, and requests in flight
    /// finish (for up to `SHUTDOWN_TIMEOUT_SECS`) before it returns.
    pub async fn serve_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let lifecycle = self.lifecycle.clone();
        let drain = self.drain;
        actix_web::rt::spawn(async move {
            shutdown_requested().await;
            lifecycle.start_draining();
            if !drain.is_zero() {
                tracing::info!(
                    drain_secs = drain.as_secs(),
                    "shutting down: readiness answers 503 while traffic moves away"
                );
                actix_web::rt::time::sleep(drain).await;
            }
            tracing::info!("shutting down: finishing the requests in flight");
            handle.stop(true).await;
        });
        self.server.await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_requested() {
    use tokio::signal::unix::{SignalKind, signal};

    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::warn!(error = ?error, "cannot watch for SIGTERM; Ctrl-C still stops");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Expires overdue vouchers every `interval`, one replica at a time, until the process drains.
async fn sweep_periodically(
    database: Arc<Database>,
    loyalty: Loyalty,
    interval: Duration,
    lifecycle: Arc<Lifecycle>,
    metrics: Arc<Metrics>,
) {
    let mut ticks = actix_web::rt::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if lifecycle.is_draining() {
            return;
        }
        let (database, loyalty) = (database.clone(), loyalty.clone());
        let swept = tokio::task::spawn_blocking(move || {
            database.exclusively(EXPIRY_SWEEP_LOCK, || loyalty.sweep_expired())
        })
        .await;
        if let Ok(Ok(Some(outcome))) = &swept {
            metrics.observe_sweep(outcome);
        }
        match swept {
            Ok(Ok(Some(Ok(report)))) if report.did_anything() => log_sweep(&report),
            Ok(Ok(Some(Ok(_)))) => {}
            Ok(Ok(None)) => {
                tracing::debug!("expiry sweep skipped: another replica holds its lock");
            }
            Ok(Ok(Some(Err(error)))) => {
                tracing::error!(error = ?error, "voucher expiry sweep failed")
            }
            Ok(Err(error)) => {
                tracing::error!(error = ?error, "voucher expiry sweep could not take its lock")
            }
            Err(error) => tracing::error!(error = ?error, "voucher expiry sweep stopped"),
        }
    }
}

/// How long a claimed delivery is its worker's: the attempt (at most the timeout) and the
/// recording of its outcome, with room to spare. A worker that died is replaced after this.
fn delivery_lease(timeout: Duration) -> Duration {
    timeout
        .saturating_mul(2)
        .saturating_add(DELIVERY_LEASE_MARGIN)
}

/// Sends webhook deliveries until the process drains. Up to `DELIVERY_BATCH` attempts are in
/// flight at once, each to another endpoint (a claim takes only an endpoint's earliest pending
/// delivery, so each gets its events in order); each outcome is recorded as soon as it comes, and
/// a freed place is filled at once, so one slow receiver holds up nobody else. Every replica runs
/// one; claims never overlap.
async fn deliver_webhooks(
    loyalty: Loyalty,
    sender: WebhookSender,
    lease: Duration,
    lifecycle: Arc<Lifecycle>,
    metrics: Arc<Metrics>,
) {
    let mut in_flight = tokio::task::JoinSet::new();
    let mut backlog_measured: Option<Instant> = None;
    while !lifecycle.is_draining() {
        if backlog_measured.is_none_or(|at| at.elapsed() >= BACKLOG_INTERVAL) {
            backlog_measured = Some(Instant::now());
            measure_backlog(&loyalty, &metrics).await;
        }
        let room = DELIVERY_BATCH.saturating_sub(in_flight.len());
        for job in claim_deliveries(&loyalty, room, lease).await {
            in_flight.spawn(send_and_record(
                loyalty.clone(),
                sender.clone(),
                metrics.clone(),
                job,
            ));
        }
        if in_flight.is_empty() {
            actix_web::rt::time::sleep(DELIVERY_POLL).await;
            continue;
        }
        // Until an attempt ends (its endpoint may have a next event) or new work may be due.
        tokio::select! {
            _ = in_flight.join_next() => {}
            () = actix_web::rt::time::sleep(DELIVERY_POLL) => {}
        }
    }
}

async fn measure_backlog(loyalty: &Loyalty, metrics: &Metrics) {
    let service = loyalty.clone();
    match tokio::task::spawn_blocking(move || service.webhook_backlog()).await {
        Ok(Ok(backlog)) => metrics.observe_webhook_backlog(backlog),
        Ok(Err(error)) => tracing::warn!(error = ?error, "cannot measure the webhook queue"),
        Err(error) => tracing::error!(error = ?error, "measuring the webhook queue stopped"),
    }
}

/// Up to `room` due deliveries, claimed for `lease`; none when the claim failed (logged).
async fn claim_deliveries(loyalty: &Loyalty, room: usize, lease: Duration) -> Vec<DeliveryJob> {
    if room == 0 {
        return Vec::new();
    }
    let service = loyalty.clone();
    let claimed =
        tokio::task::spawn_blocking(move || service.claim_webhook_deliveries(room, lease)).await;
    match claimed {
        Ok(Ok(jobs)) => jobs,
        Ok(Err(error)) => {
            tracing::error!(error = ?error, "cannot claim webhook deliveries");
            Vec::new()
        }
        Err(error) => {
            tracing::error!(error = ?error, "claiming webhook deliveries stopped");
            Vec::new()
        }
    }
}

/// One attempt: sent, then its outcome recorded, logged and counted.
async fn send_and_record(
    loyalty: Loyalty,
    sender: WebhookSender,
    metrics: Arc<Metrics>,
    job: DeliveryJob,
) {
    let outcome = sender.send(&job).await;
    let recorded = tokio::task::spawn_blocking(move || {
        let recorded = loyalty.record_webhook_attempt(&job.key, &outcome);
        (job, outcome, recorded)
    })
    .await;
    match recorded {
        Ok((job, outcome, recorded)) => {
            log_attempt(&job, &outcome, &recorded);
            if let Ok(recorded) = recorded {
                metrics.observe_webhook_attempt(recorded);
            }
        }
        Err(error) => tracing::error!(error = ?error, "recording a webhook attempt stopped"),
    }
}

/// One line per attempt: at debug when acknowledged, at warn when it failed.
fn log_attempt(
    job: &DeliveryJob,
    outcome: &AttemptOutcome,
    recorded: &Result<Recorded, loyalty_domain::LoyaltyError>,
) {
    match recorded {
        Ok(Recorded::Delivered) => tracing::debug!(
            tenant_id = %job.key.tenant_id,
            webhook_id = %job.key.endpoint_id,
            event_id = %job.key.event_id,
            attempt = job.key.attempt,
            "webhook delivered"
        ),
        Ok(recorded) => tracing::warn!(
            tenant_id = %job.key.tenant_id,
            webhook_id = %job.key.endpoint_id,
            event_id = %job.key.event_id,
            attempt = job.key.attempt,
            status_code = outcome.status_code,
            error = outcome.error.as_deref(),
            outcome = recorded.as_str(),
            "webhook delivery failed"
        ),
        Err(error) => tracing::error!(
            tenant_id = %job.key.tenant_id,
            webhook_id = %job.key.endpoint_id,
            event_id = %job.key.event_id,
            error = ?error,
            "cannot record a webhook attempt; it is sent again once its claim lapses"
        ),
    }
}

/// One line for what a sweep did, and one per record it had to skip, with its id.
fn log_sweep(report: &SweepReport) {
    tracing::info!(
        expired_vouchers = report.expired,
        refunded_points = report.refunded_points,
        expired_points = report.expired_points,
        forgotten_idempotency_keys = report.forgotten_idempotency_keys,
        forgotten_events = report.forgotten_events,
        failed = report.failures.len(),
        "expiry sweep"
    );
    for failure in &report.failures {
        tracing::error!(
            tenant_id = %failure.tenant,
            record = %failure.item,
            error = ?failure.error,
            "expiry sweep skipped a record; it stays due"
        );
    }
}

/// The pool migrations run on when they have a URL of their own: one connection is all they use.
pub fn migration_pool(settings: &Settings) -> PoolSettings {
    PoolSettings {
        max_size: 1,
        ..settings.database_pool
    }
}

/// Everything that must hold before the first request: a reachable database, the schema up to
/// date, and the default tenant present.
pub fn prepare_database(settings: &Settings) -> Result<Database, StartupError> {
    let database =
        Database::connect(&settings.database_url, settings.database_pool).map_err(|source| {
            StartupError::Connect {
                location: settings.database_url.to_string(),
                source,
            }
        })?;
    tracing::info!(backend = database.backend().name(), location = %settings.database_url, "database connected");
    let applied = match &settings.database_migration_url {
        None => database.run_pending_migrations(),
        Some(url) => Database::connect(url, migration_pool(settings))
            .map_err(|source| StartupError::Connect {
                location: url.to_string(),
                source,
            })?
            .run_pending_migrations(),
    };
    for name in applied.map_err(StartupError::Migrate)? {
        tracing::info!(migration = %name, "Startup: applied migration {name}");
    }
    let tenant = &settings.default_tenant;
    // Country and currency stay the platform defaults until a platform admin sets the tenant's
    // own (PATCH /api/v1/tenants/{id}).
    let seeded = ensure_default_tenant(
        &database,
        &SystemClock,
        tenant,
        Country::default(),
        Currency::default(),
    );
    match seeded {
        Ok(SeedOutcome::Created) => {
            tracing::info!(tenant = %tenant, "Startup: created missing default tenant '{tenant}'");
        }
        Ok(SeedOutcome::AlreadyPresent) => {
            tracing::debug!(tenant = %tenant, "default tenant present");
        }
        Err(source) => {
            return Err(StartupError::Seed {
                tenant: tenant.to_string(),
                source,
            });
        }
    }
    Ok(database)
}

//! The process's metrics, served at `/metrics` in the Prometheus text format: requests and their
//! latency by route, the database gate, ledger entries and vouchers as they commit, and the
//! expiry sweep's last run.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::{Method, StatusCode};
use loyalty_domain::commits::{CommitObserver, CommittedWrites};
use loyalty_domain::service::SweepReport;
use loyalty_domain::webhooks::{DeliveryBacklog, Recorded};
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

use crate::DatabaseGate;

/// Request latency buckets, in seconds: from a cached read to the slowest a client waits.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of a request no route matched: its path is the client's to choose, and each
/// distinct label is a series kept for ever.
const UNMATCHED_ROUTE: &str = "unmatched";

/// The metrics could not be registered (two with one name: a bug).
#[derive(Debug, thiserror::Error)]
#[error("cannot register the metrics")]
pub struct MetricsError(#[from] prometheus::Error);

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_in_use: IntGauge,
    pool_waiters: IntGauge,
    ledger_entries: IntCounterVec,
    redemptions: IntCounterVec,
    sweep_last_run: Gauge,
    sweep_last_success: IntGauge,
    sweep_last_expired_vouchers: IntGauge,
    sweep_last_expired_points: IntGauge,
    sweep_last_failures: IntGauge,
    webhook_attempts: IntCounterVec,
    webhook_queue_depth: IntGauge,
    webhook_oldest_undelivered: Gauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Registers `collector` and hands it back.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> Result<C, prometheus::Error> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl Metrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help)?);
        Ok(Self {
            requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests answered."),
                    &["route", "method", "status"],
                )?,
            )?,
            latency: registered(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time from a request's arrival to its response.",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["route", "method"],
                )?,
            )?,
            pool_size: gauge(
                "loyalty_db_pool_size",
                "Database connections requests may hold at once.",
            )?,
            pool_in_use: gauge(
                "loyalty_db_pool_in_use",
                "Database connections requests hold now.",
            )?,
            pool_waiters: gauge(
                "loyalty_db_pool_waiters",
                "Requests waiting for a database connection.",
            )?,
            ledger_entries: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "loyalty_ledger_entries_total",
                        "Ledger entries committed, by kind.",
                    ),
                    &["kind"],
                )?,
            )?,
            redemptions: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "loyalty_redemptions_total",
                        "Vouchers committed, by outcome: issued, fulfilled, cancelled, expired.",
                    ),
                    &["outcome"],
                )?,
            )?,
            sweep_last_run: registered(
                &registry,
                Gauge::new(
                    "loyalty_expiry_sweep_last_run_timestamp_seconds",
                    "When the expiry sweep last finished, as a Unix time.",
                )?,
            )?,
            sweep_last_success: gauge(
                "loyalty_expiry_sweep_last_success",
                "1 if the expiry sweep's last run succeeded, 0 if it failed.",
            )?,
            sweep_last_expired_vouchers: gauge(
                "loyalty_expiry_sweep_last_expired_vouchers",
                "Vouchers the expiry sweep's last run expired.",
            )?,
            sweep_last_expired_points: gauge(
                "loyalty_expiry_sweep_last_expired_points",
                "Earned points the expiry sweep's last run expired.",
            )?,
            sweep_last_failures: gauge(
                "loyalty_expiry_sweep_last_failures",
                "Records the expiry sweep's last run skipped because they failed.",
            )?,
            webhook_attempts: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "loyalty_webhook_deliveries_total",
                        "Webhook delivery attempts this replica made, by outcome: delivered, \
                         retrying (failed, tried again later), failed (the last attempt failed), \
                         stale (the delivery was no longer this replica's).",
                    ),
                    &["outcome"],
                )?,
            )?,
            webhook_queue_depth: gauge(
                "loyalty_webhook_queue_depth",
                "Webhook deliveries waiting to enabled endpoints, across every replica.",
            )?,
            webhook_oldest_undelivered: registered(
                &registry,
                Gauge::new(
                    "loyalty_webhook_oldest_undelivered_seconds",
                    "How long the oldest waiting webhook delivery has waited; 0 when none waits.",
                )?,
            )?,
            registry,
        })
    }

    pub fn observe_webhook_attempt(&self, recorded: Recorded) {
        self.webhook_attempts
            .with_label_values(&[recorded.as_str()])
            .inc();
    }

    pub fn observe_webhook_backlog(&self, backlog: DeliveryBacklog) {
        self.webhook_queue_depth
            .set(i64::try_from(backlog.depth).unwrap_or(i64::MAX));
        self.webhook_oldest_undelivered
            .set(backlog.oldest_age.as_secs_f64());
    }

    /// Counts one answered request. `route` is the matched route template, if any.
    pub(crate) fn observe_request(
        &self,
        route: Option<&str>,
        method: &Method,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        let method = method_label(method);
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    /// Records the expiry sweep's run that just finished.
    pub fn observe_sweep<E>(&self, outcome: &Result<SweepReport, E>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.sweep_last_run.set(now.as_secs_f64());
        match outcome {
            Ok(report) => {
                self.sweep_last_success.set(1);
                self.sweep_last_expired_vouchers
                    .set(i64::try_from(report.expired).unwrap_or(i64::MAX));
                self.sweep_last_expired_points.set(report.expired_points);
                self.sweep_last_failures
                    .set(saturating_i64(report.failures.len()));
            }
            Err(_) => self.sweep_last_success.set(0),
        }
    }

    /// The text exposition of every metric, with the gate's gauges read now.
    pub(crate) fn render(&self, gate: &DatabaseGate) -> Result<String, prometheus::Error> {
        let usage = gate.usage();
        self.pool_size.set(saturating_i64(usage.capacity));
        self.pool_in_use.set(saturating_i64(usage.in_use));
        self.pool_waiters.set(saturating_i64(usage.waiting));
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

fn saturating_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Methods outside the standard set share one label, so a client cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The bearer token `/metrics` requires. Never shown in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// Whether `presented` is the token, compared in constant time.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        presented.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl CommitObserver for Metrics {
    fn committed(&self, writes: &CommittedWrites) {
        for kind in &writes.entries {
            self.ledger_entries
                .with_label_values(&[kind.as_str()])
                .inc();
        }
        for status in &writes.vouchers {
            self.redemptions.with_label_values(&[status.as_str()]).inc();
        }
    }
}

use std::fmt;
use std::sync::Arc;

use loyalty_domain::Loyalty;

use crate::blocking::blocking;
use crate::{ApiError, DatabaseGate};
use loyalty_domain::readiness::ReadinessProbe;
use loyalty_domain::tenant::{TenantDirectory, TenantId};

/// What handlers need, shared by every worker.
#[derive(Clone)]
pub struct HttpState {
    pub loyalty: Arc<Loyalty>,
    /// Lets request work at the database in arrival order, as many at once as it has connections.
    pub database_gate: Arc<DatabaseGate>,
    /// Counts wrong voucher codes per key.
    pub fulfil_throttle: Arc<crate::FulfilThrottle>,
    pub tenants: Arc<dyn TenantDirectory>,
    pub readiness: Arc<dyn ReadinessProbe>,
    /// The tenant public requests fall back to when nothing else names one.
    pub default_tenant: TenantId,
    /// Whether responses may carry internal detail (driver errors in readiness). Off in production.
    pub expose_error_details: bool,
    /// The `Content-Security-Policy` header sent on every response.
    pub content_security_policy: String,
    /// Whether every response tells browsers to keep to HTTPS (production).
    pub strict_transport_security: bool,
    /// The origins whose browsers may call the service.
    pub allowed_origins: crate::AllowedOrigins,
    /// Whether the process is draining before it stops.
    pub lifecycle: Arc<crate::Lifecycle>,
    /// Requests per minute per client IP and per API key.
    pub rate_limits: Arc<crate::RateLimits>,
    pub metrics: Arc<crate::Metrics>,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<crate::MetricsToken>,
    /// The largest body a customer import takes, in bytes.
    pub import_max_bytes: u64,
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("default_tenant", &self.default_tenant)
            .field("expose_error_details", &self.expose_error_details)
            .field("content_security_policy", &self.content_security_policy)
            .field("strict_transport_security", &self.strict_transport_security)
            .field("allowed_origins", &self.allowed_origins)
            .finish_non_exhaustive()
    }
}

impl HttpState {
    /// Runs database work on the blocking pool once the database gate lets it in; a request that
    /// cannot get in within the gate's wait limit is refused with 503.
    pub(crate) async fn on_database<T, E>(
        &self,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let _turn = self.database_gate.enter().await?;
        blocking(work).await
    }

    /// Runs a use case as [`on_database`](Self::on_database) does.
    pub(crate) async fn store<T, E>(
        &self,
        work: impl FnOnce(&Loyalty) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let loyalty = self.loyalty.clone();
        self.on_database(move || work(&loyalty)).await
    }
}

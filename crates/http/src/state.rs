use std::fmt;
use std::sync::Arc;

use loyalty_domain::Loyalty;
use loyalty_domain::readiness::ReadinessProbe;
use loyalty_domain::tenant::{TenantDirectory, TenantId};

/// What handlers need, shared by every worker.
#[derive(Clone)]
pub struct HttpState {
    pub loyalty: Loyalty,
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
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("default_tenant", &self.default_tenant)
            .field("expose_error_details", &self.expose_error_details)
            .field("content_security_policy", &self.content_security_policy)
            .finish_non_exhaustive()
    }
}

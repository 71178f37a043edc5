//! Request rate limits (GCRA, governor), in memory per process: per client IP on the public
//! routes, per API key on `/api/v1`. Health probes are never limited. A request over its limit
//! is answered 429 `rate_limited` with `Retry-After`, before any work is done for it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use loyalty_domain::auth::split_key;

use crate::{ApiError, HttpState};

/// Requests per minute for each kind of route; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Per client IP on the public tenant documents (`/api/public/tenant-*`).
    pub tenant_documents_per_minute: u32,
    /// Per client IP on the public card (`/api/public/cards/*`).
    pub cards_per_minute: u32,
    /// Per API key on `/api/v1/*` (per client IP for requests without a well-formed key).
    pub api_per_minute: u32,
    /// How many proxies in front of the service append to `X-Forwarded-For`; 0 (the default)
    /// ignores the header, so a caller cannot pick its own bucket by sending one.
    pub trusted_proxy_hops: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            tenant_documents_per_minute: 60,
            cards_per_minute: 30,
            api_per_minute: 600,
            trusted_proxy_hops: 0,
        }
    }
}

/// Checks between two sweeps of the buckets that are full again: keeps memory bounded by the
/// clients seen within about a minute, whatever the number of clients over time.
const CHECKS_PER_TIDY: u64 = 4096;

/// The process's limiters, one per kind of route.
pub struct RateLimits {
    tenant_documents: Option<DefaultKeyedRateLimiter<String>>,
    cards: Option<DefaultKeyedRateLimiter<String>>,
    api: Option<DefaultKeyedRateLimiter<String>>,
    trusted_proxy_hops: usize,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .finish_non_exhaustive()
    }
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            tenant_documents: limiter(settings.tenant_documents_per_minute),
            cards: limiter(settings.cards_per_minute),
            api: limiter(settings.api_per_minute),
            trusted_proxy_hops: settings.trusted_proxy_hops,
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `request` is over its limit.
    fn check(&self, request: &ServiceRequest) -> Result<(), Duration> {
        let path = request.path();
        let (limiter, per_key) = if path.starts_with("/api/public/cards/") {
            (&self.cards, false)
        } else if path.starts_with("/api/public/") {
            (&self.tenant_documents, false)
        } else if path.starts_with("/api/v1/") {
            (&self.api, true)
        } else {
            return Ok(());
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        let bucket = per_key
            .then(|| bearer_key_prefix(request))
            .flatten()
            .map_or_else(|| self.client_ip(request), |prefix| format!("key:{prefix}"));
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(CHECKS_PER_TIDY)
        {
            self.tidy();
        }
        limiter
            .check_key(&bucket)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn tidy(&self) {
        for limiter in [&self.tenant_documents, &self.cards, &self.api]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// The client's address: the socket's peer, or with `trusted_proxy_hops` = n the address the
    /// outermost trusted proxy saw, n entries from the end of `X-Forwarded-For`. IPv6 clients
    /// count by their /64, which one subscriber usually holds whole.
    fn client_ip(&self, request: &ServiceRequest) -> String {
        let peer = request.peer_addr().map(|address| address.ip());
        let forwarded = (self.trusted_proxy_hops > 0)
            .then(|| forwarded_client(request, self.trusted_proxy_hops))
            .flatten();
        match forwarded.or(peer) {
            Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
            Some(IpAddr::V6(v6)) => {
                let segments = v6.segments();
                format!(
                    "ip:{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
            None => "ip:unknown".to_owned(),
        }
    }
}

/// The address `hops` entries from the end of `X-Forwarded-For` (all of its headers, in order),
/// or its first entry when the chain is shorter.
fn forwarded_client(request: &ServiceRequest, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let index = entries.len().saturating_sub(hops);
    entries.get(index)?.parse().ok()
}

/// The prefix of a well-formed API key in `Authorization: Bearer`, which names the key without
/// its secret.
fn bearer_key_prefix(request: &ServiceRequest) -> Option<String> {
    let presented = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    split_key(presented.trim()).map(|(prefix, _)| prefix.to_owned())
}

/// The middleware: answers 429 before anything else runs for a request over its limit.
pub(crate) async fn limit_rate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let over = request
        .app_data::<web::Data<HttpState>>()
        .map(|state| state.rate_limits.check(&request));
    if let Some(Err(retry_after)) = over {
        let (http_request, _) = request.into_parts();
        return Ok(ServiceResponse::new(
            http_request,
            ApiError::RateLimited { retry_after }.error_response(),
        ));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

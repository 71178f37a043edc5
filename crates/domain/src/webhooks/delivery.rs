//! Deliveries: one per event and subscribed endpoint, tried until the endpoint acknowledges it
//! or the attempts run out, each attempt recorded.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::events::{Event, EventType};
use crate::ids::{EventId, WebhookId};
use crate::tenant::TenantId;

use super::WebhookEndpoint;

/// Each wait between attempts is this many times the one before (before jitter): with the
/// default base of 5 s, twelve attempts span about a day (5 s, 12.5 s, 31 s, ... 13 h).
const BACKOFF_FACTOR: f64 = 2.5;
/// Waits are spread by up to this fraction either way, so endpoints that failed together are
/// not all retried in the same instant.
const JITTER: f64 = 0.2;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet acknowledged; tried again at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// One try at delivering an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// 1 for the first try.
    pub number: u32,
    pub attempted_at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
}

/// What came of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The status the endpoint answered with; None when no answer came.
    pub status_code: Option<u16>,
    /// From sending the request to the end of the answer (or the failure).
    pub latency: Duration,
    /// Why no answer came (a timeout, a refused connection, a forbidden address).
    pub error: Option<String>,
    /// The start of the answer's body, as text.
    pub response_excerpt: Option<String>,
}

impl AttemptOutcome {
    /// An attempt that could not even be sent.
    pub fn unsent(error: String) -> Self {
        Self {
            status_code: None,
            latency: Duration::ZERO,
            error: Some(error),
            response_excerpt: None,
        }
    }

    /// A 2xx acknowledges; anything else is tried again.
    pub fn acknowledged(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// An event's delivery to one endpoint, with its attempts so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub endpoint_id: WebhookId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When it was acknowledged or given up.
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
}

impl crate::page::Keyed for Delivery {
    fn sort_key(&self) -> &str {
        self.event_id.as_str()
    }
}

/// A delivery a worker has claimed: it alone tries it until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub endpoint: WebhookEndpoint,
    pub event: Event,
    /// The number of this attempt; recording its outcome needs it, so a worker whose lease ran
    /// out cannot overwrite a later attempt.
    pub attempt: u32,
}

/// Which attempt at which delivery: what its outcome is recorded against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    pub tenant_id: TenantId,
    pub endpoint_id: WebhookId,
    pub event_id: EventId,
    /// 1 for the first attempt.
    pub attempt: u32,
}

impl AttemptKey {
    pub fn of(claimed: &ClaimedDelivery) -> Self {
        Self {
            tenant_id: claimed.endpoint.tenant_id.clone(),
            endpoint_id: claimed.endpoint.id.clone(),
            event_id: claimed.event.event.id.clone(),
            attempt: claimed.attempt,
        }
    }
}

/// The request a worker sends for a claimed delivery: signed, ready to go.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub key: AttemptKey,
    pub url: super::WebhookUrl,
    /// The event as JSON: the request's body, byte for byte what was signed.
    pub body: String,
    /// `webhook-timestamp`: unix seconds when the attempt was signed.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
}

/// What a recorded attempt did to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    /// Failed; tried again later.
    Retrying,
    /// Failed for the last time.
    Failed,
    /// The delivery was no longer this worker's (its endpoint was deleted, or its lease ran out
    /// and another worker took it): nothing was recorded.
    Stale,
}

impl Recorded {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Stale => "stale",
        }
    }
}

/// The undelivered work across every tenant: what operators watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryQueue {
    /// Deliveries pending to enabled endpoints.
    pub depth: u64,
    /// When the oldest of them was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// What operators watch of the queue: how many deliveries wait, and how long the oldest has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryBacklog {
    pub depth: u64,
    /// Zero when nothing waits.
    pub oldest_age: Duration,
}

impl DeliveryQueue {
    pub fn backlog(&self, now: DateTime<Utc>) -> DeliveryBacklog {
        let oldest_age = self
            .oldest_queued_at
            .and_then(|queued| now.signed_duration_since(queued).to_std().ok())
            .unwrap_or_default();
        DeliveryBacklog {
            depth: self.depth,
            oldest_age,
        }
    }
}

/// How failed deliveries are retried, and when an endpoint that keeps failing is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; each later wait is [`BACKOFF_FACTOR`] times
    /// longer.
    pub base: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// An endpoint failing (no 2xx) for this long is disabled.
    pub disable_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max_attempts: 12,
            disable_after: Duration::from_secs(72 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based), spread by `spread` (from -1 to 1) times
    /// the jitter.
    pub fn delay_after(&self, attempt: u32, spread: f64) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = BACKOFF_FACTOR.powi(exponent) * (1.0 + JITTER * spread.clamp(-1.0, 1.0));
        Duration::try_from_secs_f64(self.base.as_secs_f64() * factor).unwrap_or(Duration::MAX)
    }

    /// When a delivery whose attempt `attempt` failed at `now` is tried next, or None when that
    /// was its last.
    pub fn next_attempt(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        spread: f64,
    ) -> Option<DateTime<Utc>> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay =
            TimeDelta::from_std(self.delay_after(attempt, spread)).unwrap_or(TimeDelta::MAX);
        Some(
            now.checked_add_signed(delay)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Whether an endpoint failing since `failing_since` has failed long enough to be disabled.
    pub fn gives_up_on(&self, failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let limit = TimeDelta::from_std(self.disable_after).unwrap_or(TimeDelta::MAX);
        now.signed_duration_since(failing_since) >= limit
    }
}

/// A number from -1 to 1 for jitter, from the OS's random bytes (0 when it has none: a retry
/// without jitter is still a retry).
pub fn jitter_spread() -> f64 {
    let bytes = crate::secrets::random_bytes::<4>().unwrap_or_default();
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_attempts_span_about_a_day_by_default() {
        let policy = RetryPolicy::default();
        let total: Duration = (1..policy.max_attempts)
            .map(|attempt| policy.delay_after(attempt, 0.0))
            .sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((20.0..28.0).contains(&hours), "{hours} h");
        assert_eq!(policy.delay_after(1, 0.0), Duration::from_secs(5));
        assert_eq!(policy.delay_after(2, 0.0), Duration::from_millis(12_500));
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(1, 1.0), Duration::from_secs(6));
        assert_eq!(policy.delay_after(1, -1.0), Duration::from_secs(4));
        assert_eq!(policy.delay_after(1, 7.0), Duration::from_secs(6));
        for _ in 0..100 {
            assert!((-1.0..=1.0).contains(&jitter_spread()));
        }
    }

    #[test]
    fn the_last_attempt_has_no_next() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = Utc::now();
        assert!(policy.next_attempt(2, now, 0.0).is_some());
        assert_eq!(policy.next_attempt(3, now, 0.0), None);
    }

    #[test]
    fn endpoints_are_given_up_after_the_limit() {
        let policy = RetryPolicy::default();
        let since = Utc::now();
        assert!(!policy.gives_up_on(since, since + TimeDelta::hours(71)));
        assert!(policy.gives_up_on(since, since + TimeDelta::hours(72)));
    }
}

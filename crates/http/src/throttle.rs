//! Wrong voucher codes, counted per API key and per tenant: after too many in a minute every
//! further fulfil attempt of that key (or of every key of that tenant) gets 429 for a while, so
//! 8-character codes cannot be guessed by brute force, nor by minting more keys. Counted per
//! process: with several replicas the allowance is per replica.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Wrong codes a key may try per minute.
pub const WRONG_CODES_PER_MINUTE: u32 = 10;
/// Wrong codes all of a tenant's keys together may try per minute: room for the typos of many
/// tills, far too few for guessing.
pub const WRONG_CODES_PER_TENANT_PER_MINUTE: u32 = 50;

pub struct FulfilThrottle {
    per_key: DefaultKeyedRateLimiter<String>,
    per_tenant: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    /// Keys and tenants (`key:…`, `tenant:…`) that ran out of allowance, until when.
    blocked: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for FulfilThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FulfilThrottle").finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> DefaultKeyedRateLimiter<String> {
    RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
    ))
}

impl Default for FulfilThrottle {
    fn default() -> Self {
        Self {
            per_key: per_minute(WRONG_CODES_PER_MINUTE),
            per_tenant: per_minute(WRONG_CODES_PER_TENANT_PER_MINUTE),
            clock: DefaultClock::default(),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

/// Who is trying codes: the key, and its tenant.
#[derive(Debug, Clone, Copy)]
pub struct Trier<'a> {
    pub key: &'a str,
    pub tenant: &'a str,
}

impl Trier<'_> {
    fn names(&self) -> [String; 2] {
        [
            format!("key:{}", self.key),
            format!("tenant:{}", self.tenant),
        ]
    }
}

impl FulfilThrottle {
    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(retry_after)` while the key or its tenant is blocked.
    pub fn check(&self, trier: Trier<'_>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked();
        blocked.retain(|_, until| *until > now);
        let longest = trier
            .names()
            .iter()
            .filter_map(|name| blocked.get(name))
            .max()
            .map(|until| until.saturating_duration_since(now));
        longest.map_or(Ok(()), Err)
    }

    /// Counts a wrong code against the key and its tenant; `Err(retry_after)` when it was one
    /// too many for either.
    pub fn record_failure(&self, trier: Trier<'_>) -> Result<(), Duration> {
        let [key, tenant] = trier.names();
        let mut longest = None;
        for (limiter, name) in [(&self.per_key, key), (&self.per_tenant, tenant)] {
            if let Err(not_until) = limiter.check_key(&name) {
                let wait = not_until.wait_time_from(self.clock.now());
                self.blocked().insert(name, Instant::now() + wait);
                longest = longest.max(Some(wait));
            }
        }
        longest.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trier<'a>(key: &'a str, tenant: &'a str) -> Trier<'a> {
        Trier { key, tenant }
    }

    #[test]
    fn the_eleventh_wrong_code_in_a_minute_blocks_the_key_only() {
        let throttle = FulfilThrottle::default();
        for _ in 0..WRONG_CODES_PER_MINUTE {
            assert!(throttle.record_failure(trier("key-a", "acme")).is_ok());
            assert!(throttle.check(trier("key-a", "acme")).is_ok());
        }
        let wait = throttle.record_failure(trier("key-a", "acme")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(throttle.check(trier("key-a", "acme")).is_err());
        assert!(
            throttle.check(trier("key-b", "acme")).is_ok(),
            "other keys are not affected"
        );
    }

    #[test]
    fn minting_keys_does_not_lift_the_tenants_allowance() {
        let throttle = FulfilThrottle::default();
        for n in 0..WRONG_CODES_PER_TENANT_PER_MINUTE {
            let key = format!("key-{}", n / WRONG_CODES_PER_MINUTE);
            assert!(throttle.record_failure(trier(&key, "acme")).is_ok());
        }
        assert!(throttle.record_failure(trier("fresh-key", "acme")).is_err());
        assert!(
            throttle.check(trier("another-fresh-key", "acme")).is_err(),
            "every key of the tenant waits"
        );
        assert!(
            throttle.check(trier("key-x", "other-tenant")).is_ok(),
            "other tenants are not affected"
        );
    }
}

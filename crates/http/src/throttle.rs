//! Wrong voucher codes, counted per API key: after too many in a minute every further fulfil
//! attempt of that key gets 429 for a while, so 8-character codes cannot be guessed by brute
//! force. Counted per process: with several replicas the allowance is per replica.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Wrong codes a key may try per minute.
pub const WRONG_CODES_PER_MINUTE: u32 = 10;

pub struct FulfilThrottle {
    failures: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    /// Keys that ran out of allowance, until when.
    blocked: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for FulfilThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FulfilThrottle").finish_non_exhaustive()
    }
}

impl Default for FulfilThrottle {
    fn default() -> Self {
        let per_minute = NonZeroU32::new(WRONG_CODES_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self {
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

impl FulfilThrottle {
    /// `Err(retry_after)` while `key` is blocked.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        blocked.retain(|_, until| *until > now);
        match blocked.get(key) {
            Some(until) => Err(until.saturating_duration_since(now)),
            None => Ok(()),
        }
    }

    /// Counts a wrong code; `Err(retry_after)` when it was one too many.
    pub fn record_failure(&self, key: &str) -> Result<(), Duration> {
        let Err(not_until) = self.failures.check_key(&key.to_owned()) else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(self.clock.now());
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        blocked.insert(key.to_owned(), Instant::now() + wait);
        Err(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_wrong_code_in_a_minute_blocks_the_key_only() {
        let throttle = FulfilThrottle::default();
        for _ in 0..WRONG_CODES_PER_MINUTE {
            assert!(throttle.record_failure("key-a").is_ok());
            assert!(throttle.check("key-a").is_ok());
        }
        let wait = throttle.record_failure("key-a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(throttle.check("key-a").is_err());
        assert!(
            throttle.check("key-b").is_ok(),
            "other keys are not affected"
        );
    }
}

//! The way in to the database for request work: as many at once as the pool has connections,
//! the rest waiting in arrival order, in a bounded queue, for a bounded time.
//!
//! Without it every request would go straight to the blocking pool and wait there for a pooled
//! connection, and the pool wakes its waiters in no particular order: under load some requests
//! waited far longer than others, and nothing bounded how many waited. Here a fair semaphore
//! sized to the pool orders the waiters; one that cannot get in within the wait limit, or finds
//! the queue full, is answered 503 at once instead of stalling.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::ApiError;

#[derive(Debug)]
pub struct DatabaseGate {
    /// One permit per pooled connection; tokio's semaphore hands permits out first come, first
    /// served.
    permits: Semaphore,
    capacity: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait_limit: Duration,
}

impl DatabaseGate {
    /// A gate letting `concurrency` units of work in at once, with at most `max_waiting` more
    /// waiting for up to `wait_limit` each.
    pub fn new(concurrency: usize, max_waiting: usize, wait_limit: Duration) -> Self {
        Self {
            permits: Semaphore::new(concurrency),
            capacity: concurrency,
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait_limit,
        }
    }

    /// Waits for a turn; the permit lets the holder use one connection until it is dropped.
    pub(crate) async fn enter(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if queued >= self.max_waiting {
            return Err(ApiError::DatabaseBusy);
        }
        match tokio::time::timeout(self.wait_limit, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (it never is): either way, not now.
            Ok(Err(_)) | Err(_) => Err(ApiError::DatabaseBusy),
        }
    }

    pub(crate) fn usage(&self) -> GateUsage {
        GateUsage {
            capacity: self.capacity,
            in_use: self
                .capacity
                .saturating_sub(self.permits.available_permits()),
            waiting: self.waiting.load(Ordering::Acquire),
        }
    }
}

/// How busy the gate is at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GateUsage {
    /// Units of work that may run at once: the pool's connections.
    pub capacity: usize,
    pub in_use: usize,
    pub waiting: usize,
}

/// Takes a waiter off the count however its wait ends (a turn, a time-out, a dropped request).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_in_when_a_turn_frees_and_are_refused_past_the_limit() {
        let gate = DatabaseGate::new(1, 1, Duration::from_millis(50));
        let held = gate.enter().await.unwrap();
        assert!(
            matches!(gate.enter().await, Err(ApiError::DatabaseBusy)),
            "the wait times out"
        );
        drop(held);
        assert!(gate.enter().await.is_ok(), "a freed turn lets the next in");
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let gate = std::sync::Arc::new(DatabaseGate::new(1, 1, Duration::from_secs(5)));
        let held = gate.enter().await.unwrap();
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.map(drop) })
        };
        while gate.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let started = std::time::Instant::now();
        assert!(matches!(gate.enter().await, Err(ApiError::DatabaseBusy)));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no wait for a full queue"
        );
        drop(held);
        assert!(
            waiter.await.unwrap().is_ok(),
            "the queued waiter got the turn"
        );
    }
}

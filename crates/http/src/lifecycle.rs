//! Where the process is in its life: serving, or draining before it stops.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the process was asked to stop: it finishes what is in flight, readiness answers 503
/// so that no new traffic is sent its way, and background jobs start nothing new.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

//! Per-process caches for hot reads that rarely change: an API key by its prefix, a public
//! request's tenant, a tenant's program. Entries live a few seconds, so other replicas' changes
//! are seen within that time; the process that makes a change drops what it changed at once.
//! Each cache is bounded, whatever clients send.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::auth::ApiKey;
use crate::program::Program;
use crate::tenant::{Tenant, TenantId};

/// Entries one cache holds at most; past it, expired entries go first, then all of them.
const MAX_ENTRIES: usize = 10_000;

/// A bounded map whose entries expire `ttl` after they were stored.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value stored under `key`, unless it has expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries();
        let (stored_at, value) = entries.get(key)?;
        (stored_at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (stored_at, _)| stored_at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        self.entries().remove(key);
    }

    pub fn clear(&self) {
        self.entries().clear();
    }
}

/// What a public request names its tenant by: the `X-Tenant-ID` header and the host.
pub type TenantSelectorKey = (Option<String>, Option<String>);

/// The caches one process shares between its use cases and its HTTP layer.
#[derive(Debug)]
pub struct Caches {
    /// API keys by prefix; `None` for a prefix no key has.
    pub(crate) keys: TtlCache<String, Option<ApiKey>>,
    /// A public request's tenant by what named it; `None` when nothing matched.
    pub(crate) tenants: TtlCache<TenantSelectorKey, Option<Tenant>>,
    /// Each tenant's program, for showing standings; a change is always earned under the
    /// program its own transaction reads.
    pub(crate) programs: TtlCache<TenantId, Program>,
}

impl Caches {
    pub fn new(ttl: Duration) -> Self {
        Self {
            keys: TtlCache::new(ttl),
            tenants: TtlCache::new(ttl),
            programs: TtlCache::new(ttl),
        }
    }

    /// Caches that keep nothing: every read goes to the store.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let cache = TtlCache::new(Duration::from_millis(50));
        cache.insert("a", 1);
        cache.insert("b", 2);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.remove(&"a");
        assert_eq!(cache.get(&"a"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&"b"), None, "expired");
    }

    #[test]
    fn a_zero_ttl_keeps_nothing_and_size_is_bounded() {
        let off = TtlCache::new(Duration::ZERO);
        off.insert(1, 1);
        assert_eq!(off.get(&1), None);
        let cache = TtlCache::new(Duration::from_secs(60));
        for n in 0..(MAX_ENTRIES + 10) {
            cache.insert(n, n);
        }
        assert!(cache.entries().len() <= MAX_ENTRIES);
        assert_eq!(cache.get(&(MAX_ENTRIES + 9)), Some(MAX_ENTRIES + 9));
    }
}

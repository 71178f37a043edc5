//! Which tenant a public request is about.

use super::{HostCandidates, Tenant, TenantDirectory, TenantId};
use crate::StoreError;
use crate::cache::{Caches, TenantSelectorKey};

/// Longest host or tenant id whose answer is cached: a real host name is at most 253
/// characters, and a longer one is not worth memory.
const MAX_CACHED_NAME: usize = 255;

/// What a request says about its tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantSelector<'a> {
    /// An explicit tenant id (the `X-Tenant-ID` header): matched exactly, never falls back.
    pub explicit_id: Option<&'a str>,
    /// The host the request was sent to.
    pub host: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no tenant matches the request")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves a request's tenant: the explicit id if given (unknown means not found); else the
/// host, by primary domain and then by subdomain, most specific candidate first; else the
/// default tenant.
pub fn resolve_tenant(
    directory: &dyn TenantDirectory,
    default_tenant: &TenantId,
    selector: TenantSelector<'_>,
) -> Result<Tenant, ResolveError> {
    if let Some(raw_id) = selector.explicit_id {
        let id = TenantId::parse(raw_id).map_err(|_| ResolveError::NotFound)?;
        return directory.find_by_id(&id)?.ok_or(ResolveError::NotFound);
    }
    let hosts = selector
        .host
        .map(HostCandidates::from_host)
        .unwrap_or_default();
    if !hosts.is_empty() {
        let matches = directory.find_by_host(&hosts)?;
        if let Some(tenant) = best_host_match(&hosts, matches) {
            return Ok(tenant);
        }
    }
    directory
        .find_by_id(default_tenant)?
        .ok_or(ResolveError::NotFound)
}

/// The cache's key for `selector`, unless it names something too long to keep.
fn cache_key(selector: TenantSelector<'_>) -> Option<TenantSelectorKey> {
    let short = |name: Option<&str>| name.is_none_or(|n| n.len() <= MAX_CACHED_NAME);
    (short(selector.explicit_id) && short(selector.host)).then(|| {
        (
            selector.explicit_id.map(str::to_owned),
            selector.host.map(str::to_owned),
        )
    })
}

/// The tenant a public request is about, when the process's cache knows it (or knows there is
/// none); `None`: resolve it with [`resolve_and_cache`].
pub fn cached_tenant(
    caches: &Caches,
    selector: TenantSelector<'_>,
) -> Option<Result<Tenant, ResolveError>> {
    let found = caches.tenants.get(&cache_key(selector)?)?;
    Some(found.ok_or(ResolveError::NotFound))
}

/// Resolves as [`resolve_tenant`] does, and remembers the answer for the caches' lifetime.
pub fn resolve_and_cache(
    caches: &Caches,
    directory: &dyn TenantDirectory,
    default_tenant: &TenantId,
    selector: TenantSelector<'_>,
) -> Result<Tenant, ResolveError> {
    let resolved = resolve_tenant(directory, default_tenant, selector);
    let answer = match &resolved {
        Ok(tenant) => Some(tenant.clone()),
        Err(ResolveError::NotFound) => None,
        Err(ResolveError::Store(_)) => return resolved,
    };
    if let Some(key) = cache_key(selector) {
        caches.tenants.insert(key, answer);
    }
    resolved
}

fn best_host_match(hosts: &HostCandidates, matches: Vec<Tenant>) -> Option<Tenant> {
    let rank = |tenant: &Tenant| {
        let by_domain = tenant
            .primary_domain
            .as_ref()
            .and_then(|d| hosts.domains().iter().position(|c| c == d));
        let by_subdomain = tenant
            .subdomain
            .as_ref()
            .and_then(|s| hosts.subdomains().iter().position(|c| c == s))
            .map(|position| hosts.domains().len() + position);
        by_domain.or(by_subdomain)
    };
    matches
        .into_iter()
        .filter_map(|tenant| rank(&tenant).map(|r| (r, tenant)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, tenant)| tenant)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::Clock;
    use crate::tenant::default_tenant;

    struct FixedClock;
    impl Clock for FixedClock {
        fn now(&self) -> DateTime<Utc> {
            DateTime::UNIX_EPOCH
        }
    }

    #[derive(Default)]
    struct InMemoryDirectory(Mutex<Vec<Tenant>>);

    impl TenantDirectory for InMemoryDirectory {
        fn find_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
            Ok(self.0.lock().unwrap().iter().find(|t| &t.id == id).cloned())
        }

        fn find_by_host(&self, hosts: &HostCandidates) -> Result<Vec<Tenant>, StoreError> {
            let tenants = self.0.lock().unwrap();
            Ok(tenants
                .iter()
                .filter(|t| {
                    t.primary_domain
                        .as_ref()
                        .is_some_and(|d| hosts.domains().contains(d))
                        || t.subdomain
                            .as_ref()
                            .is_some_and(|s| hosts.subdomains().contains(s))
                })
                .cloned()
                .collect())
        }

        fn insert_if_absent(&self, tenant: &Tenant) -> Result<bool, StoreError> {
            let mut tenants = self.0.lock().unwrap();
            if tenants.iter().any(|t| t.id == tenant.id) {
                return Ok(false);
            }
            tenants.push(tenant.clone());
            Ok(true)
        }
    }

    fn tenant(id: &str, domain: Option<&str>, subdomain: Option<&str>) -> Tenant {
        let country = crate::money::Country::parse("US").unwrap();
        let currency = crate::money::Currency::parse("USD").unwrap();
        let mut t = default_tenant(
            &TenantId::parse(id).unwrap(),
            country,
            currency,
            &FixedClock,
        );
        t.primary_domain = domain.map(str::to_owned);
        t.subdomain = subdomain.map(str::to_owned);
        t
    }

    fn directory() -> InMemoryDirectory {
        let dir = InMemoryDirectory::default();
        for t in [
            tenant("default", None, None),
            tenant("acme", Some("rewards.acme.com"), Some("acme")),
            tenant("beta", None, Some("beta")),
            tenant("api-owner", None, Some("api")),
        ] {
            dir.insert_if_absent(&t).unwrap();
        }
        dir
    }

    fn resolve(explicit_id: Option<&str>, host: Option<&str>) -> Result<String, ResolveError> {
        let default = TenantId::parse("default").unwrap();
        resolve_tenant(&directory(), &default, TenantSelector { explicit_id, host })
            .map(|t| t.id.to_string())
    }

    #[test]
    fn explicit_id_wins_and_never_falls_back() {
        assert_eq!(
            resolve(Some("beta"), Some("rewards.acme.com")).unwrap(),
            "beta"
        );
        assert!(matches!(
            resolve(Some("nobody"), None),
            Err(ResolveError::NotFound)
        ));
        assert!(matches!(
            resolve(Some("NOT A SLUG"), None),
            Err(ResolveError::NotFound)
        ));
    }

    #[test]
    fn host_matches_primary_domain_before_subdomain() {
        assert_eq!(
            resolve(None, Some("WWW.rewards.ACME.com:443")).unwrap(),
            "acme"
        );
        assert_eq!(resolve(None, Some("beta.loyalty.app")).unwrap(), "beta");
    }

    #[test]
    fn api_prefix_is_tried_after_the_full_host() {
        assert_eq!(resolve(None, Some("api.rewards.acme.com")).unwrap(), "acme");
        // The full host's first label outranks the stripped one.
        assert_eq!(
            resolve(None, Some("api.beta.loyalty.app")).unwrap(),
            "api-owner"
        );
    }

    #[test]
    fn unknown_or_missing_host_falls_back_to_default() {
        assert_eq!(
            resolve(None, Some("unknown.example.org")).unwrap(),
            "default"
        );
        assert_eq!(resolve(None, Some("localhost:8080")).unwrap(), "default");
        assert_eq!(resolve(None, None).unwrap(), "default");
    }

    #[test]
    fn missing_default_tenant_is_not_found() {
        let empty = InMemoryDirectory::default();
        let default = TenantId::parse("default").unwrap();
        let found = resolve_tenant(&empty, &default, TenantSelector::default());
        assert!(matches!(found, Err(ResolveError::NotFound)));
    }
}

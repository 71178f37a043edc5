use super::{HostCandidates, Tenant, TenantId};
use crate::StoreError;

/// Port: where tenants are kept.
pub trait TenantDirectory: Send + Sync {
    fn find_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Every tenant whose primary domain is one of `hosts.domains()` or whose subdomain is one of
    /// `hosts.subdomains()`, in any order: the caller decides which match wins.
    fn find_by_host(&self, hosts: &HostCandidates) -> Result<Vec<Tenant>, StoreError>;

    /// Stores `tenant` unless a tenant with its id exists, in one atomic step, so that replicas
    /// starting at once all succeed and exactly one row results. Returns whether it inserted.
    fn insert_if_absent(&self, tenant: &Tenant) -> Result<bool, StoreError>;
}

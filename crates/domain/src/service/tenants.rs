//! Tenants, managed by the platform admin.

use super::{Loyalty, tenant_of};
use crate::audit::{self, AuditAction, AuditEntry, changes};
use crate::auth::Principal;
use crate::page::{Page, PageRequest};
use crate::store::{UnitOfWork, reading, within};
use crate::tenant::{NewTenant, Tenant, TenantChanges, TenantId};
use crate::{LoyaltyError, Resource};

/// Refuses a domain or subdomain that another tenant already uses.
fn ensure_hosts_free(uow: &mut dyn UnitOfWork, tenant: &Tenant) -> Result<(), LoyaltyError> {
    if let Some(domain) = &tenant.primary_domain
        && uow
            .tenant_with_domain(domain)?
            .is_some_and(|owner| owner != tenant.id)
    {
        return Err(LoyaltyError::DomainTaken {
            field: "primary_domain",
        });
    }
    if let Some(subdomain) = &tenant.subdomain
        && uow
            .tenant_with_subdomain(subdomain)?
            .is_some_and(|owner| owner != tenant.id)
    {
        return Err(LoyaltyError::DomainTaken { field: "subdomain" });
    }
    Ok(())
}

impl Loyalty {
    pub fn create_tenant(
        &self,
        caller: &Principal,
        new: NewTenant,
    ) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        let now = self.now();
        let tenant = new.validate(now)?;
        let created = within(self.store.as_ref(), |uow| {
            if uow.tenant(&tenant.id)?.is_some() {
                return Err(LoyaltyError::TenantExists);
            }
            ensure_hosts_free(uow, &tenant)?;
            uow.insert_tenant(&tenant)?;
            let changes = changes(None, Some(&tenant));
            let entry = AuditEntry::new(
                &tenant.id,
                caller,
                AuditAction::TenantCreated,
                tenant.id.as_str(),
                changes,
                now,
            );
            uow.append_audit(&entry)?;
            Ok(tenant.clone())
        })?;
        // A host that resolved to the default tenant may now name this one.
        self.caches.tenants.clear();
        Ok(created)
    }

    pub fn tenants(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Tenant>, LoyaltyError> {
        caller.require_platform_admin()?;
        self.page(page, |uow| Ok(uow.tenants(page)?))
    }

    pub fn tenant(&self, caller: &Principal, id: &TenantId) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        reading(self.store.as_ref(), |uow| tenant_of(uow, id))
    }

    /// Applies `changes` to the tenant, locked while they merge so concurrent changes of other
    /// fields are all kept. With `if_match`, the tenant must still be in one of those versions
    /// (see [`Tenant::version`]), else nothing changes: `PreconditionFailed`.
    pub fn update_tenant(
        &self,
        caller: &Principal,
        id: &TenantId,
        changes: TenantChanges,
        if_match: Option<&[String]>,
    ) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        let now = self.now();
        let updated = within(self.store.as_ref(), |uow| {
            let current = uow
                .tenant_for_update(id)?
                .ok_or(LoyaltyError::NotFound(Resource::Tenant))?;
            if if_match.is_some_and(|versions| !versions.contains(&current.version())) {
                return Err(LoyaltyError::PreconditionFailed);
            }
            let before = current.clone();
            let tenant = changes.clone().apply(current, now)?;
            ensure_hosts_free(uow, &tenant)?;
            uow.update_tenant(&tenant)?;
            let changed = audit::changes(Some(&before), Some(&tenant));
            let entry = AuditEntry::new(
                id,
                caller,
                AuditAction::TenantUpdated,
                id.as_str(),
                changed,
                now,
            );
            uow.append_audit(&entry)?;
            Ok(tenant)
        })?;
        self.caches.tenants.clear();
        Ok(updated)
    }
}

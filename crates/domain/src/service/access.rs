//! Access: authenticating a presented key, issuing keys, listing and revoking them.

use chrono::{DateTime, Utc};

use super::{Loyalty, tenant_of};
use crate::LoyaltyError;
use crate::auth::{
    ApiKey, AuthError, IssueKeyError, IssuedKey, Principal, Role, issue_key, key_accepts, split_key,
};
use crate::error::Resource;
use crate::ids::ApiKeyId;
use crate::page::{Page, PageRequest};
use crate::store::{UnitOfWork, reading_one, within};
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, clean_text};

const MAX_LABEL_CHARS: usize = 100;

/// The tenant feature that lets its admins mint more admin keys. Off by default: an admin key
/// that leaks must not be able to make more of itself.
pub const ADMINS_MINT_ADMINS: &str = "keys_admin_can_mint_admin";

fn issue_error(error: IssueKeyError) -> LoyaltyError {
    match error {
        IssueKeyError::RoleTenantMismatch => {
            ValidationErrors::single("role", "tenant keys are tenant_admin or staff").into()
        }
        IssueKeyError::Randomness(source) => LoyaltyError::Randomness(source),
    }
}

fn clean_label(label: Option<&str>) -> Result<Option<String>, LoyaltyError> {
    label
        .map(|l| {
            clean_text(l, MAX_LABEL_CHARS).map_err(|m| ValidationErrors::single("label", m).into())
        })
        .transpose()
}

/// The principal of `key` if `secret` is its secret and it is live.
fn verify(key: Option<&ApiKey>, secret: &str) -> Result<Principal, LoyaltyError> {
    match key {
        Some(key) if key_accepts(key, secret) => Ok(Principal::from_key(key)),
        _ => Err(AuthError::Unauthenticated.into()),
    }
}

/// Revokes `key` if it exists and is live; revoking a revoked key changes nothing.
fn revoke(
    uow: &mut dyn UnitOfWork,
    key: Option<ApiKey>,
    now: DateTime<Utc>,
) -> Result<ApiKey, LoyaltyError> {
    let mut key = key.ok_or(LoyaltyError::NotFound(Resource::ApiKey))?;
    if key.revoked_at.is_none() {
        uow.revoke_key(key.tenant_id.as_ref(), &key.id, now)?;
        key.revoked_at = Some(now);
    }
    Ok(key)
}

impl Loyalty {
    /// The caller behind a presented API key, when the answer needs no store: the key is
    /// malformed, or the cache knows its prefix. `None`: ask [`Loyalty::authenticate`].
    pub fn authenticate_cached(&self, presented: &str) -> Option<Result<Principal, LoyaltyError>> {
        let Some((prefix, secret)) = split_key(presented) else {
            return Some(Err(AuthError::Unauthenticated.into()));
        };
        let key = self.caches.keys.get(prefix)?;
        Some(verify(key.as_ref(), secret))
    }

    /// The caller behind a presented API key; any failure is the same `Unauthenticated`. The key
    /// record is cached by prefix for the caches' lifetime; a revocation in this process drops it
    /// at once, one in another process is seen when the entry expires.
    pub fn authenticate(&self, presented: &str) -> Result<Principal, LoyaltyError> {
        let (prefix, secret) = split_key(presented).ok_or(AuthError::Unauthenticated)?;
        let key = reading_one(self.store.as_ref(), |uow| Ok(uow.key_by_prefix(prefix)?))?;
        self.caches.keys.insert(prefix.to_owned(), key.clone());
        verify(key.as_ref(), secret)
    }

    /// A platform admin key, for bootstrapping from the operator's command line.
    pub fn issue_platform_key(
        &self,
        caller: &Principal,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        let label = clean_label(label)?;
        let issued =
            issue_key(None, Role::PlatformAdmin, label, self.now()).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| Ok(uow.insert_key(&issued.key)?))?;
        Ok(issued)
    }

    /// A key for `tenant`, issued by the platform admin.
    pub fn issue_tenant_key(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        role: Role,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        self.issue_key_for(tenant, role, label, false)
    }

    /// A key for the caller's own tenant, issued by its tenant admin.
    pub fn issue_key(
        &self,
        caller: &Principal,
        role: Role,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?.clone();
        self.issue_key_for(&tenant, role, label, true)
    }

    /// Issues the key. A tenant admin (`by_tenant_admin`) may issue another tenant admin key
    /// only where the tenant turned on [`ADMINS_MINT_ADMINS`].
    fn issue_key_for(
        &self,
        tenant: &TenantId,
        role: Role,
        label: Option<&str>,
        by_tenant_admin: bool,
    ) -> Result<IssuedKey, LoyaltyError> {
        let label = clean_label(label)?;
        let issued =
            issue_key(Some(tenant.clone()), role, label, self.now()).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| {
            let owner = tenant_of(uow, tenant)?;
            let admins_mint_admins = owner.features.get(ADMINS_MINT_ADMINS) == Some(&true);
            if by_tenant_admin && role == Role::TenantAdmin && !admins_mint_admins {
                return Err(AuthError::Forbidden.into());
            }
            Ok(uow.insert_key(&issued.key)?)
        })?;
        Ok(issued)
    }

    /// A tenant's keys, for the platform admin.
    pub fn tenant_keys(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, LoyaltyError> {
        caller.require_platform_admin()?;
        self.page(page, |uow| {
            tenant_of(uow, tenant)?;
            Ok(uow.keys(tenant, page)?)
        })
    }

    /// Revokes one of a tenant's keys, for the platform admin; revoking twice is not an error.
    pub fn revoke_tenant_key(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        key_id: &ApiKeyId,
    ) -> Result<ApiKey, LoyaltyError> {
        caller.require_platform_admin()?;
        self.revoke_in(tenant, key_id)
    }

    pub fn keys(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.page(page, |uow| Ok(uow.keys(tenant, page)?))
    }

    /// Revokes one of the caller's tenant's keys; revoking twice is not an error.
    pub fn revoke_key(
        &self,
        caller: &Principal,
        key_id: &ApiKeyId,
    ) -> Result<ApiKey, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?.clone();
        self.revoke_in(&tenant, key_id)
    }

    fn revoke_in(&self, tenant: &TenantId, key_id: &ApiKeyId) -> Result<ApiKey, LoyaltyError> {
        let now = self.now();
        let revoked = within(self.store.as_ref(), |uow| {
            let key = uow.key(tenant, key_id)?;
            revoke(uow, key, now)
        })?;
        self.caches.keys.remove(&revoked.prefix);
        Ok(revoked)
    }

    /// Revokes any key by its prefix, for the operator's command line.
    pub fn revoke_key_by_prefix(
        &self,
        caller: &Principal,
        prefix: &str,
    ) -> Result<ApiKey, LoyaltyError> {
        caller.require_platform_admin()?;
        let now = self.now();
        let revoked = within(self.store.as_ref(), |uow| {
            let key = uow.key_by_prefix(prefix)?;
            revoke(uow, key, now)
        })?;
        self.caches.keys.remove(&revoked.prefix);
        Ok(revoked)
    }
}

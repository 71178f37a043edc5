//! Access: authenticating a presented key, recording its use, issuing keys, listing and revoking
//! them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Loyalty, tenant_of};
use crate::LoyaltyError;
use crate::audit::{AuditAction, AuditEntry, changes};
use crate::auth::{
    ApiKey, AuthError, IssueKeyError, IssuedKey, KeyRequest, Principal, Role, issue_key,
    key_accepts, split_key,
};
use crate::error::Resource;
use crate::ids::ApiKeyId;
use crate::page::{Page, PageRequest};
use crate::store::{UnitOfWork, reading_one, within};
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, clean_text};

const MAX_LABEL_CHARS: usize = 100;

/// A key's `last_used_at` is written at most this often: enough to tell a live till from a
/// forgotten one, without a write per request.
const KEY_USE_RESOLUTION: TimeDelta = TimeDelta::minutes(1);
/// Keys whose last recorded use one process remembers at most.
const MAX_REMEMBERED_KEY_USES: usize = 10_000;

/// When this process last recorded each key's use, so that a busy key costs one write a minute.
#[derive(Debug, Default)]
pub(super) struct KeyUses {
    recorded: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl KeyUses {
    /// Whether a use of `key_id` at `now` is to be recorded; if so, it counts as recorded.
    fn claim(&self, key_id: &str, now: DateTime<Utc>) -> bool {
        // A panic while holding the lock leaves a map that is still a valid record of writes.
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = |at: &DateTime<Utc>| now - *at < KEY_USE_RESOLUTION;
        if recorded.get(key_id).is_some_and(fresh) {
            return false;
        }
        if recorded.len() >= MAX_REMEMBERED_KEY_USES {
            recorded.retain(|_, at| fresh(at));
            if recorded.len() >= MAX_REMEMBERED_KEY_USES {
                recorded.clear();
            }
        }
        recorded.insert(key_id.to_owned(), now);
        true
    }
}

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

/// The expiry a new key gets: the one asked for, which must be in the future (such a key would
/// never work) and no later than the issuing key's own, whose expiry it inherits when none is
/// asked for; so a key that expires cannot hand out one that outlives it.
fn new_key_expiry(
    asked: Option<DateTime<Utc>>,
    issuer: &Principal,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, LoyaltyError> {
    let refuse = |message| Err(ValidationErrors::single("expires_at", message).into());
    match (asked, issuer.expires_at) {
        (Some(at), _) if at <= now => refuse("must be in the future"),
        (Some(at), Some(limit)) if at > limit => {
            refuse("must not be later than the issuing key's own expiry")
        }
        (None, limit) => Ok(limit),
        (asked, _) => Ok(asked),
    }
}

/// The principal of `key` if `secret` is its secret and it is live at `now`.
fn verify(
    key: Option<&ApiKey>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Principal, LoyaltyError> {
    match key {
        Some(key) if key_accepts(key, secret, now) => Ok(Principal::from_key(key)),
        _ => Err(AuthError::Unauthenticated.into()),
    }
}

/// Revokes `key` if it exists and is live; revoking a revoked key changes nothing.
fn revoke(
    uow: &mut dyn UnitOfWork,
    key: Option<ApiKey>,
    actor: &Principal,
    now: DateTime<Utc>,
) -> Result<ApiKey, LoyaltyError> {
    let mut key = key.ok_or(LoyaltyError::NotFound(Resource::ApiKey))?;
    // Recorded only by the transaction whose update revoked it, so a concurrent revocation of
    // the same key leaves one entry.
    if key.revoked_at.is_none() && uow.revoke_key(key.tenant_id.as_ref(), &key.id, now)? {
        let before = key.clone();
        key.revoked_at = Some(now);
        if let Some(tenant) = &key.tenant_id {
            let changes = changes(Some(&before), Some(&key));
            let entry = AuditEntry::new(
                tenant,
                actor,
                AuditAction::ApiKeyRevoked,
                key.id.as_str(),
                changes,
                now,
            );
            uow.append_audit(&entry)?;
        }
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
        Some(verify(key.as_ref(), secret, self.now()))
    }

    /// The caller behind a presented API key; any failure is the same `Unauthenticated`. The key
    /// record is cached by prefix for the caches' lifetime; a revocation in this process drops it
    /// at once, one in another process is seen when the entry expires.
    pub fn authenticate(&self, presented: &str) -> Result<Principal, LoyaltyError> {
        let (prefix, secret) = split_key(presented).ok_or(AuthError::Unauthenticated)?;
        let key = reading_one(self.store.as_ref(), |uow| Ok(uow.key_by_prefix(prefix)?))?;
        self.caches.keys.insert(prefix.to_owned(), key.clone());
        verify(key.as_ref(), secret, self.now())
    }

    /// When `caller`'s key is due to have its use recorded, the time to record: at most once a
    /// minute per key in this process. The caller then runs [`Loyalty::record_key_use`], off the
    /// request's path.
    pub fn claim_key_use(&self, caller: &Principal) -> Option<DateTime<Utc>> {
        let now = self.now();
        self.key_uses.claim(&caller.key_id, now).then_some(now)
    }

    /// Records that `caller`'s key was used at `at`; the store skips the write when another
    /// process recorded a use within the last minute.
    pub fn record_key_use(
        &self,
        caller: &Principal,
        at: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let Some(key_id) = ApiKeyId::parse(&caller.key_id) else {
            return Ok(());
        };
        within(self.store.as_ref(), |uow| {
            Ok(uow.record_key_use(&key_id, at, at - KEY_USE_RESOLUTION)?)
        })
    }

    /// A platform admin key, for bootstrapping from the operator's command line.
    pub fn issue_platform_key(
        &self,
        caller: &Principal,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        let request = KeyRequest {
            role: Role::PlatformAdmin,
            label: clean_label(label)?,
            expires_at: None,
        };
        let issued = issue_key(None, request, caller, self.now()).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| Ok(uow.insert_key(&issued.key)?))?;
        Ok(issued)
    }

    /// A key for `tenant`, issued by the platform admin.
    pub fn issue_tenant_key(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        request: KeyRequest,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        self.issue_key_for(caller, tenant, request)
    }

    /// A key for the caller's own tenant, issued by its tenant admin.
    pub fn issue_key(
        &self,
        caller: &Principal,
        request: KeyRequest,
    ) -> Result<IssuedKey, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?.clone();
        self.issue_key_for(caller, &tenant, request)
    }

    /// Issues the key on behalf of `caller`. A tenant admin may issue another tenant admin key
    /// only where the tenant turned on [`ADMINS_MINT_ADMINS`].
    fn issue_key_for(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        request: KeyRequest,
    ) -> Result<IssuedKey, LoyaltyError> {
        let now = self.now();
        let request = KeyRequest {
            label: clean_label(request.label.as_deref())?,
            expires_at: new_key_expiry(request.expires_at, caller, now)?,
            ..request
        };
        let role = request.role;
        let issued = issue_key(Some(tenant.clone()), request, caller, now).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| {
            let owner = tenant_of(uow, tenant)?;
            let admins_mint_admins = owner.features.get(ADMINS_MINT_ADMINS) == Some(&true);
            let by_tenant_admin = caller.role == Role::TenantAdmin;
            if by_tenant_admin && role == Role::TenantAdmin && !admins_mint_admins {
                return Err(AuthError::Forbidden.into());
            }
            uow.insert_key(&issued.key)?;
            let changes = changes(None, Some(&issued.key));
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::ApiKeyIssued,
                issued.key.id.as_str(),
                changes,
                now,
            );
            Ok(uow.append_audit(&entry)?)
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
        self.revoke_in(caller, tenant, key_id)
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
        self.revoke_in(caller, &tenant, key_id)
    }

    fn revoke_in(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        key_id: &ApiKeyId,
    ) -> Result<ApiKey, LoyaltyError> {
        let now = self.now();
        let revoked = within(self.store.as_ref(), |uow| {
            let key = uow.key(tenant, key_id)?;
            revoke(uow, key, caller, now)
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
            revoke(uow, key, caller, now)
        })?;
        self.caches.keys.remove(&revoked.prefix);
        Ok(revoked)
    }
}

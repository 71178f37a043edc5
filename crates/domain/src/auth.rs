//! API keys and what each role may do.
//!
//! A key reads `lk_<prefix>_<secret>`. The prefix is stored as is, to find the key; of the secret
//! only a hash is stored, so a database leak gives no usable key. The whole key is shown once.

use chrono::{DateTime, Utc};

use crate::ids::ApiKeyId;
use crate::secrets::{base32_token, hash_secret, secret_matches};
use crate::tenant::TenantId;

const KEY_SCHEME: &str = "lk_";

/// What a key may do. A tenant admin may do everything staff may, for its own tenant only; the
/// platform admin manages tenants and belongs to none.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Staff,
    TenantAdmin,
    PlatformAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::TenantAdmin => "tenant_admin",
            Self::PlatformAdmin => "platform_admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "staff" => Some(Self::Staff),
            "tenant_admin" => Some(Self::TenantAdmin),
            "platform_admin" => Some(Self::PlatformAdmin),
            _ => None,
        }
    }
}

/// A stored key: everything but the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    /// None only for the platform admin.
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    pub label: Option<String>,
    pub prefix: String,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The id of the key that issued this one, or `operator` for the command line; None for keys
    /// issued before this was recorded.
    pub created_by: Option<String>,
    /// After this the key no longer authenticates; None: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key last authenticated a request, to the minute or so: it is written at most
    /// once a minute per key.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a new key is to be, as its issuer asks for it.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    pub role: Role,
    pub label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl crate::page::Keyed for ApiKey {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// A key just made: the stored part, and the full key to hand over once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueKeyError {
    #[error("a platform_admin key belongs to no tenant, and every other key to one")]
    RoleTenantMismatch,
    #[error("the operating system gave no random bytes")]
    Randomness(#[source] getrandom::Error),
}

/// Makes a new key, issued by `created_by` at `now`. `tenant_id` must be None exactly for
/// `Role::PlatformAdmin`.
pub fn issue_key(
    tenant_id: Option<TenantId>,
    request: KeyRequest,
    created_by: &Principal,
    now: DateTime<Utc>,
) -> Result<IssuedKey, IssueKeyError> {
    let KeyRequest {
        role,
        label,
        expires_at,
    } = request;
    if (role == Role::PlatformAdmin) != tenant_id.is_none() {
        return Err(IssueKeyError::RoleTenantMismatch);
    }
    let prefix = base32_token::<10>().map_err(IssueKeyError::Randomness)?;
    let secret = base32_token::<32>().map_err(IssueKeyError::Randomness)?;
    Ok(IssuedKey {
        key: ApiKey {
            id: ApiKeyId::generate(),
            tenant_id,
            role,
            label,
            secret_hash: hash_secret(&secret),
            prefix: prefix.clone(),
            created_at: now,
            revoked_at: None,
            created_by: Some(created_by.key_id.clone()),
            expires_at,
            last_used_at: None,
        },
        secret: format!("{KEY_SCHEME}{prefix}_{secret}"),
    })
}

/// Splits a presented key into prefix and secret; None when it cannot be one of ours.
pub fn split_key(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(KEY_SCHEME)?;
    let (prefix, secret) = rest.split_once('_')?;
    let well_formed =
        |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    (well_formed(prefix) && well_formed(secret)).then_some((prefix, secret))
}

/// Whether `key` accepts the presented secret at `now`: not revoked, not expired, and the
/// secret's hash matches.
pub fn key_accepts(key: &ApiKey, secret: &str, now: DateTime<Utc>) -> bool {
    key.revoked_at.is_none()
        && key.expires_at.is_none_or(|expiry| now < expiry)
        && secret_matches(secret, &key.secret_hash)
}

/// Who is calling, once their key is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    /// When the caller's key stops working; the keys it issues stop by then too.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("a valid API key is required")]
    Unauthenticated,
    #[error("this API key's role may not do this")]
    Forbidden,
}

impl Principal {
    /// The operator at the command line, straight against the database: acts as platform admin.
    pub fn operator() -> Self {
        Self {
            key_id: "operator".to_owned(),
            tenant_id: None,
            role: Role::PlatformAdmin,
            expires_at: None,
        }
    }

    /// The operator at the command line acting as a tenant's admin (an import).
    pub fn operator_for(tenant: TenantId) -> Self {
        Self {
            tenant_id: Some(tenant),
            role: Role::TenantAdmin,
            ..Self::operator()
        }
    }

    pub fn from_key(key: &ApiKey) -> Self {
        Self {
            key_id: key.id.to_string(),
            tenant_id: key.tenant_id.clone(),
            role: key.role,
            expires_at: key.expires_at,
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), AuthError> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }

    /// The caller's tenant, when its role is at least `needed` (staff or tenant admin).
    pub fn tenant_as(&self, needed: Role) -> Result<&TenantId, AuthError> {
        match (&self.tenant_id, self.role) {
            (Some(tenant), role) if role != Role::PlatformAdmin && role >= needed => Ok(tenant),
            _ => Err(AuthError::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn request(role: Role, expires_at: Option<DateTime<Utc>>) -> KeyRequest {
        KeyRequest {
            role,
            label: None,
            expires_at,
        }
    }

    #[test]
    fn issued_keys_verify_and_store_no_secret() {
        let now = Utc::now();
        let by = Principal::operator();
        let issued = issue_key(Some(tenant()), request(Role::Staff, None), &by, now).unwrap();
        let (prefix, secret) = split_key(&issued.secret).unwrap();
        assert_eq!(prefix, issued.key.prefix);
        assert_eq!(issued.key.created_by.as_deref(), Some("operator"));
        assert!(key_accepts(&issued.key, secret, now));
        assert!(!issued.key.secret_hash.contains(secret));
        assert!(!key_accepts(&issued.key, "wrong", now));
        let mut revoked = issued.key.clone();
        revoked.revoked_at = Some(now);
        assert!(
            !key_accepts(&revoked, secret, now),
            "revoked keys stop working"
        );
    }

    #[test]
    fn a_key_stops_working_when_it_expires() {
        let now = Utc::now();
        let expiry = now + chrono::Duration::hours(1);
        let by = Principal::operator();
        let issued =
            issue_key(Some(tenant()), request(Role::Staff, Some(expiry)), &by, now).unwrap();
        let (_, secret) = split_key(&issued.secret).unwrap();
        assert!(key_accepts(
            &issued.key,
            secret,
            expiry - chrono::Duration::seconds(1)
        ));
        assert!(
            !key_accepts(&issued.key, secret, expiry),
            "expired at the instant"
        );
    }

    #[test]
    fn platform_admin_keys_have_no_tenant_and_others_do() {
        let (now, by) = (Utc::now(), Principal::operator());
        assert!(issue_key(None, request(Role::PlatformAdmin, None), &by, now).is_ok());
        let platform_in_tenant = request(Role::PlatformAdmin, None);
        assert!(issue_key(Some(tenant()), platform_in_tenant, &by, now).is_err());
        assert!(issue_key(None, request(Role::Staff, None), &by, now).is_err());
    }

    #[test]
    fn malformed_keys_do_not_split() {
        for bad in [
            "",
            "lk_",
            "lk_abc",
            "lk__x",
            "xx_abc_def",
            "lk_ab-c_def",
            "Bearer lk_a_b",
        ] {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn roles_nest_within_a_tenant() {
        let principal = |role, tenant_id| Principal {
            key_id: "k".into(),
            tenant_id,
            role,
            expires_at: None,
        };
        let admin = principal(Role::TenantAdmin, Some(tenant()));
        let staff = principal(Role::Staff, Some(tenant()));
        let platform = principal(Role::PlatformAdmin, None);
        assert!(admin.tenant_as(Role::Staff).is_ok());
        assert!(admin.tenant_as(Role::TenantAdmin).is_ok());
        assert!(staff.tenant_as(Role::Staff).is_ok());
        assert_eq!(
            staff.tenant_as(Role::TenantAdmin),
            Err(AuthError::Forbidden)
        );
        assert_eq!(platform.tenant_as(Role::Staff), Err(AuthError::Forbidden));
        assert!(platform.require_platform_admin().is_ok());
        assert_eq!(admin.require_platform_admin(), Err(AuthError::Forbidden));
    }
}

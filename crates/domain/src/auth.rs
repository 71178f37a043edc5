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

/// Makes a new key. `tenant_id` must be None exactly for `Role::PlatformAdmin`.
pub fn issue_key(
    tenant_id: Option<TenantId>,
    role: Role,
    label: Option<String>,
    now: DateTime<Utc>,
) -> Result<IssuedKey, IssueKeyError> {
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

/// Whether `key` accepts the presented secret: not revoked, and the secret's hash matches.
pub fn key_accepts(key: &ApiKey, secret: &str) -> bool {
    key.revoked_at.is_none() && secret_matches(secret, &key.secret_hash)
}

/// Who is calling, once their key is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub tenant_id: Option<TenantId>,
    pub role: Role,
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
        }
    }

    pub fn from_key(key: &ApiKey) -> Self {
        Self {
            key_id: key.id.to_string(),
            tenant_id: key.tenant_id.clone(),
            role: key.role,
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

    #[test]
    fn issued_keys_verify_and_store_no_secret() {
        let issued = issue_key(Some(tenant()), Role::Staff, None, Utc::now()).unwrap();
        let (prefix, secret) = split_key(&issued.secret).unwrap();
        assert_eq!(prefix, issued.key.prefix);
        assert!(key_accepts(&issued.key, secret));
        assert!(!issued.key.secret_hash.contains(secret));
        assert!(!key_accepts(&issued.key, "wrong"));
        let mut revoked = issued.key.clone();
        revoked.revoked_at = Some(Utc::now());
        assert!(!key_accepts(&revoked, secret), "revoked keys stop working");
    }

    #[test]
    fn platform_admin_keys_have_no_tenant_and_others_do() {
        assert!(issue_key(None, Role::PlatformAdmin, None, Utc::now()).is_ok());
        assert!(issue_key(Some(tenant()), Role::PlatformAdmin, None, Utc::now()).is_err());
        assert!(issue_key(None, Role::Staff, None, Utc::now()).is_err());
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

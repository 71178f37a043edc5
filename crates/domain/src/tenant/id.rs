use std::fmt;

/// A tenant's id: a slug of 1 to 63 lowercase ASCII letters, digits and inner hyphens, so it is
/// safe in URLs, host names, headers and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantIdError {
    #[error("a tenant id must not be empty")]
    Empty,
    #[error("a tenant id is at most {max} characters long", max = TenantId::MAX_LEN)]
    TooLong,
    #[error(
        "a tenant id holds only lowercase letters, digits and hyphens, and neither starts nor ends with a hyphen"
    )]
    InvalidCharacters,
}

impl TenantId {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, TenantIdError> {
        if raw.is_empty() {
            return Err(TenantIdError::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return Err(TenantIdError::TooLong);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !raw.chars().all(allowed) || raw.starts_with('-') || raw.ends_with('-') {
            return Err(TenantIdError::InvalidCharacters);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        for ok in ["default", "a", "acme-wash", "cafe42", &"x".repeat(63)] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_what_is_not_a_slug() {
        assert_eq!(TenantId::parse(""), Err(TenantIdError::Empty));
        assert_eq!(
            TenantId::parse(&"x".repeat(64)),
            Err(TenantIdError::TooLong)
        );
        for bad in ["Acme", "-acme", "acme-", "ac me", "acmé", "a_b", "a.b"] {
            assert_eq!(
                TenantId::parse(bad),
                Err(TenantIdError::InvalidCharacters),
                "{bad}"
            );
        }
    }
}

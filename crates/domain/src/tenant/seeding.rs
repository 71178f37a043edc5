//! The default tenant every installation starts with.

use std::collections::BTreeMap;

use super::{Branding, LoyaltyType, Tenant, TenantDirectory, TenantId, Vertical};
use crate::local_time::TimeZone;
use crate::money::{Country, Currency};
use crate::{Clock, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    Created,
    AlreadyPresent,
}

/// The tenant to create when the configured default tenant is missing: named after its id
/// (`acme-wash` becomes "Acme Wash"), a hybrid program, in the given country and currency, with
/// no domains and no branding.
pub fn default_tenant(
    id: &TenantId,
    country: Country,
    currency: Currency,
    clock: &dyn Clock,
) -> Tenant {
    let now = clock.now();
    Tenant {
        id: id.clone(),
        name: display_name(id),
        vertical: Vertical::Other,
        loyalty_type: LoyaltyType::Hybrid,
        country,
        currency,
        time_zone: TimeZone::default(),
        primary_domain: None,
        subdomain: None,
        features: BTreeMap::new(),
        branding: Branding::default(),
        created_at: now,
        updated_at: now,
    }
}

/// Creates the default tenant unless it exists; safe to run on every start of every replica.
pub fn ensure_default_tenant(
    directory: &dyn TenantDirectory,
    clock: &dyn Clock,
    id: &TenantId,
    country: Country,
    currency: Currency,
) -> Result<SeedOutcome, StoreError> {
    let inserted = directory.insert_if_absent(&default_tenant(id, country, currency, clock))?;
    Ok(if inserted {
        SeedOutcome::Created
    } else {
        SeedOutcome::AlreadyPresent
    })
}

fn display_name(id: &TenantId) -> String {
    id.as_str()
        .split('-')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_tenant_after_its_id() {
        let name = |id: &str| display_name(&TenantId::parse(id).unwrap());
        assert_eq!(name("default"), "Default");
        assert_eq!(name("acme-car-wash"), "Acme Car Wash");
        assert_eq!(name("cafe42"), "Cafe42");
    }
}

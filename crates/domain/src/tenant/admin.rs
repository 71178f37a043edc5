//! Creating and changing tenants: the rules a platform admin's input must meet.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Branding, LoyaltyType, Tenant, TenantId, Vertical};
use crate::local_time::TimeZone;
use crate::money::{Country, Currency};
use crate::validation::{ValidationErrors, clean_text};

pub const MAX_TENANT_NAME_CHARS: usize = 200;
const MAX_FEATURES: usize = 50;
const MAX_URL_CHARS: usize = 2048;
/// Labels a tenant cannot take as its subdomain: they name the platform's own hosts.
const RESERVED_SUBDOMAINS: [&str; 4] = ["www", "api", "admin", "app"];

/// A new tenant as the platform admin describes it.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub id: String,
    pub name: String,
    pub vertical: Vertical,
    pub loyalty_type: LoyaltyType,
    pub country: String,
    pub currency: String,
    /// An IANA time zone name; UTC when absent.
    pub time_zone: Option<String>,
    pub primary_domain: Option<String>,
    pub subdomain: Option<String>,
    pub branding: Branding,
    pub features: BTreeMap<String, bool>,
}

/// Changes to a tenant; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub vertical: Option<Vertical>,
    pub loyalty_type: Option<LoyaltyType>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    pub primary_domain: Option<Option<String>>,
    pub subdomain: Option<Option<String>>,
    pub branding: Option<Branding>,
    pub features: Option<BTreeMap<String, bool>>,
}

impl NewTenant {
    pub fn validate(self, now: DateTime<Utc>) -> Result<Tenant, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let id = errors.check("id", TenantId::parse(&self.id));
        let name = errors.check("name", clean_text(&self.name, MAX_TENANT_NAME_CHARS));
        let country = errors.check("country", Country::parse(&self.country));
        let currency = errors.check("currency", Currency::parse(&self.currency));
        let time_zone = match self.time_zone.as_deref() {
            None => Some(TimeZone::default()),
            Some(name) => errors.check("time_zone", TimeZone::parse(name)),
        };
        let primary_domain = self
            .primary_domain
            .as_deref()
            .and_then(|d| errors.check("primary_domain", normalize_domain(d)));
        let subdomain = self
            .subdomain
            .as_deref()
            .and_then(|s| errors.check("subdomain", normalize_subdomain(s)));
        check_branding(&mut errors, &self.branding);
        check_features(&mut errors, &self.features);
        let (Some(id), Some(name), Some(country), Some(currency), Some(time_zone)) =
            (id, name, country, currency, time_zone)
        else {
            return Err(errors);
        };
        errors.into_result(Tenant {
            id,
            name,
            vertical: self.vertical,
            loyalty_type: self.loyalty_type,
            country,
            currency,
            time_zone,
            primary_domain,
            subdomain,
            features: self.features,
            branding: self.branding,
            created_at: now,
            updated_at: now,
        })
    }
}

impl TenantChanges {
    pub fn apply(self, mut tenant: Tenant, now: DateTime<Utc>) -> Result<Tenant, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(name) = self
            .name
            .and_then(|n| errors.check("name", clean_text(&n, MAX_TENANT_NAME_CHARS)))
        {
            tenant.name = name;
        }
        if let Some(vertical) = self.vertical {
            tenant.vertical = vertical;
        }
        if let Some(loyalty_type) = self.loyalty_type {
            tenant.loyalty_type = loyalty_type;
        }
        if let Some(country) = self
            .country
            .and_then(|c| errors.check("country", Country::parse(&c)))
        {
            tenant.country = country;
        }
        if let Some(currency) = self
            .currency
            .and_then(|c| errors.check("currency", Currency::parse(&c)))
        {
            tenant.currency = currency;
        }
        if let Some(time_zone) = self
            .time_zone
            .and_then(|name| errors.check("time_zone", TimeZone::parse(&name)))
        {
            tenant.time_zone = time_zone;
        }
        match self.primary_domain {
            Some(Some(domain)) => {
                tenant.primary_domain = errors.check("primary_domain", normalize_domain(&domain));
            }
            Some(None) => tenant.primary_domain = None,
            None => {}
        }
        match self.subdomain {
            Some(Some(label)) => {
                tenant.subdomain = errors.check("subdomain", normalize_subdomain(&label));
            }
            Some(None) => tenant.subdomain = None,
            None => {}
        }
        if let Some(branding) = self.branding {
            check_branding(&mut errors, &branding);
            tenant.branding = branding;
        }
        if let Some(features) = self.features {
            check_features(&mut errors, &features);
            tenant.features = features;
        }
        tenant.updated_at = now;
        errors.into_result(tenant)
    }
}

fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A host name such as `rewards.acme-wash.com`, lower-cased, without `www.` or a trailing dot
/// (the same normal form requests are resolved with).
pub fn normalize_domain(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let host = lower
        .strip_prefix("www.")
        .unwrap_or(&lower)
        .trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| is_label(l)) {
        return Err("must be a host name such as rewards.example.com".into());
    }
    Ok(host.to_owned())
}

pub fn normalize_subdomain(raw: &str) -> Result<String, String> {
    let label = raw.trim().to_ascii_lowercase();
    if !is_label(&label) {
        return Err("must be one DNS label: letters, digits and inner hyphens".into());
    }
    if RESERVED_SUBDOMAINS.contains(&label.as_str()) {
        return Err(format!("{label} is reserved"));
    }
    Ok(label)
}

fn is_color(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn check_branding(errors: &mut ValidationErrors, branding: &Branding) {
    for (field, value) in [
        ("branding.primary_color", &branding.primary_color),
        ("branding.secondary_color", &branding.secondary_color),
        ("branding.background_color", &branding.background_color),
        ("branding.text_color", &branding.text_color),
    ] {
        if value.as_deref().is_some_and(|v| !is_color(v)) {
            errors.add(field, "must be a hex colour such as #1f6feb");
        }
    }
    if let Some(url) = &branding.logo_url {
        let ok = url.starts_with("https://")
            && url.len() <= MAX_URL_CHARS
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            errors.add("branding.logo_url", "must be an https:// URL");
        }
    }
}

fn check_features(errors: &mut ValidationErrors, features: &BTreeMap<String, bool>) {
    if features.len() > MAX_FEATURES {
        errors.add("features", format!("at most {MAX_FEATURES} flags"));
    }
    for name in features.keys() {
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            errors.add(
                format!("features.{name}"),
                "flag names are snake_case, at most 64 characters",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> NewTenant {
        NewTenant {
            id: "acme-wash".into(),
            name: "Acme Wash".into(),
            vertical: Vertical::CarWash,
            loyalty_type: LoyaltyType::Stamps,
            country: "de".into(),
            currency: "eur".into(),
            time_zone: None,
            primary_domain: Some("WWW.Rewards.Acme.com".into()),
            subdomain: Some("Acme".into()),
            branding: Branding::default(),
            features: BTreeMap::new(),
        }
    }

    #[test]
    fn valid_tenants_are_normalized() {
        let tenant = draft().validate(Utc::now()).unwrap();
        assert_eq!(tenant.country.as_str(), "DE");
        assert_eq!(tenant.currency.as_str(), "EUR");
        assert_eq!(tenant.primary_domain.as_deref(), Some("rewards.acme.com"));
        assert_eq!(tenant.subdomain.as_deref(), Some("acme"));
        assert_eq!(tenant.time_zone.name(), "UTC", "UTC unless told otherwise");
        let berlin = NewTenant {
            time_zone: Some("Europe/Berlin".into()),
            ..draft()
        };
        assert_eq!(
            berlin.validate(Utc::now()).unwrap().time_zone.name(),
            "Europe/Berlin"
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = draft();
        bad.id = "Acme Wash".into();
        bad.name = "".into();
        bad.country = "Germany".into();
        bad.currency = "EURO".into();
        bad.time_zone = Some("Berlin".into());
        bad.primary_domain = Some("localhost".into());
        bad.subdomain = Some("www".into());
        bad.branding.primary_color = Some("red".into());
        bad.branding.logo_url = Some("http://insecure".into());
        bad.features.insert("Bad Flag".into(), true);
        let errors = bad.validate(Utc::now()).unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "id",
                "name",
                "country",
                "currency",
                "time_zone",
                "primary_domain",
                "subdomain",
                "branding.primary_color",
                "branding.logo_url",
                "features.Bad Flag"
            ]
        );
    }

    #[test]
    fn changes_clear_and_replace() {
        let tenant = draft().validate(Utc::now()).unwrap();
        let changes = TenantChanges {
            name: Some("Acme Car Wash".into()),
            primary_domain: Some(None),
            subdomain: Some(Some("acme2".into())),
            ..TenantChanges::default()
        };
        let changed = changes.apply(tenant, Utc::now()).unwrap();
        assert_eq!(changed.name, "Acme Car Wash");
        assert_eq!(changed.primary_domain, None);
        assert_eq!(changed.subdomain.as_deref(), Some("acme2"));
    }
}

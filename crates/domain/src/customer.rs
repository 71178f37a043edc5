//! Customers and their accounts.

use chrono::{DateTime, Utc};
use email_address::EmailAddress;
use phonenumber::Mode;

use crate::ids::CustomerId;
use crate::money::Country;
use crate::program::{Program, TierStanding};
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, clean_text};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// A customer of a tenant, with the account that holds their points and stamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub name: Option<String>,
    /// E.164, e.g. `+4915123456789`.
    pub phone: Option<String>,
    /// Lower-cased.
    pub email: Option<String>,
    /// The customer's id in the tenant's own system (a POS, a CRM).
    pub external_id: Option<String>,
    /// The random token of the customer's public card; not derivable from the id.
    pub card_token: String,
    pub account: Account,
    /// Derived, not stored: the tier the lifetime points reach under the tenant's program. The
    /// use cases fill it in; a customer as loaded from a store has the default.
    pub tier: TierStanding,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the customer was erased: who they are is gone, their account stays.
    pub erased_at: Option<DateTime<Utc>>,
}

impl Customer {
    /// Forgets who the customer is: name, phone, email, external id, and the card token, which
    /// becomes `card_token`, a new one never shown, so the card's URL stops working. The account
    /// stays, so the tenant's totals still add up.
    pub fn erase(&mut self, card_token: String, now: DateTime<Utc>) {
        self.name = None;
        self.phone = None;
        self.email = None;
        self.external_id = None;
        self.card_token = card_token;
        self.erased_at = Some(now);
        self.updated_at = now;
    }
}

impl crate::page::Keyed for Customer {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// The running totals, updated in the same transaction as the ledger entry they result from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    pub balance: i64,
    /// Points ever earned, less reversed earnings; what tiers follow.
    pub lifetime_points: i64,
    pub visits: i64,
    pub last_visit_at: Option<DateTime<Utc>>,
    /// When the soonest of the points on the balance expire; None when none will. Lets a read
    /// know without looking at the lots whether some of the balance may have expired.
    pub points_expire_next_at: Option<DateTime<Utc>>,
}

impl Customer {
    /// The customer with the standing their lifetime points give under `program`.
    pub fn standing_under(mut self, program: &Program) -> Self {
        self.tier = program.standing(self.account.lifetime_points);
        self
    }

    /// The first word of the name, for greeting on the public card.
    pub fn first_name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .and_then(|name| name.split_whitespace().next())
    }
}

/// How staff find a customer at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerLookup {
    Phone(String),
    Email(String),
    ExternalId(String),
}

/// Identifiers and name as a client sent them, before normalization.
#[derive(Debug, Clone, Default)]
pub struct CustomerDetails {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

/// Details after validation: phone in E.164 (the tenant's country applies to numbers written
/// without a country code), email lower-cased, text trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanDetails {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

impl CustomerDetails {
    pub fn clean(&self, country: Country) -> Result<CleanDetails, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.check("name", clean_text(n, MAX_NAME_CHARS)));
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| errors.check("phone", normalize_phone(p, country)));
        let email = self
            .email
            .as_deref()
            .and_then(|e| errors.check("email", normalize_email(e)));
        let external_id = self
            .external_id
            .as_deref()
            .and_then(|x| errors.check("external_id", clean_text(x, MAX_EXTERNAL_ID_CHARS)));
        errors.into_result(CleanDetails {
            name,
            phone,
            email,
            external_id,
        })
    }
}

impl CleanDetails {
    /// The lookups under which these details must be unique in their tenant.
    pub fn unique_keys(&self) -> Vec<(&'static str, CustomerLookup)> {
        let mut keys = Vec::new();
        if let Some(phone) = &self.phone {
            keys.push(("phone", CustomerLookup::Phone(phone.clone())));
        }
        if let Some(email) = &self.email {
            keys.push(("email", CustomerLookup::Email(email.clone())));
        }
        if let Some(external_id) = &self.external_id {
            keys.push((
                "external_id",
                CustomerLookup::ExternalId(external_id.clone()),
            ));
        }
        keys
    }

    pub fn has_identifier(&self) -> bool {
        self.phone.is_some() || self.email.is_some() || self.external_id.is_some()
    }
}

pub fn normalize_phone(raw: &str, country: Country) -> Result<String, String> {
    let number = phonenumber::parse(Some(country.phone_region()), raw.trim())
        .map_err(|_| "is not a phone number".to_owned())?;
    if !number.is_valid() {
        return Err(format!(
            "is not a valid phone number for {country} or with a country code"
        ));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

pub fn normalize_email(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if !EmailAddress::is_valid(trimmed) {
        return Err("is not an email address".into());
    }
    Ok(trimmed.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Country {
        Country::parse("DE").unwrap()
    }

    #[test]
    fn phones_become_e164_with_the_tenant_country_as_default() {
        assert_eq!(
            normalize_phone("0151 23456789", de()).unwrap(),
            "+4915123456789"
        );
        assert_eq!(
            normalize_phone("+49 151 23456789", de()).unwrap(),
            "+4915123456789"
        );
        assert_eq!(
            normalize_phone("+1 (415) 555-2671", de()).unwrap(),
            "+14155552671",
            "an explicit country code wins"
        );
        let us = Country::parse("US").unwrap();
        assert_eq!(
            normalize_phone("(415) 555-2671", us).unwrap(),
            "+14155552671"
        );
        assert!(normalize_phone("12", de()).is_err());
        assert!(normalize_phone("call me", de()).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Zoe@Example.COM ").unwrap(),
            "zoe@example.com"
        );
        assert!(normalize_email("not-an-email").is_err());
        assert!(normalize_email("a@").is_err());
    }

    #[test]
    fn details_report_each_bad_field() {
        let details = CustomerDetails {
            name: Some(" ".into()),
            phone: Some("x".into()),
            email: Some("y".into()),
            external_id: Some("ok".into()),
        };
        let errors = details.clean(de()).unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "phone", "email"]);
    }

    #[test]
    fn first_name_is_the_first_word() {
        let details = CustomerDetails {
            name: Some("  Zoë  Müller ".into()),
            ..Default::default()
        };
        let clean = details.clean(de()).unwrap();
        assert_eq!(clean.name.as_deref(), Some("Zoë  Müller"));
    }
}

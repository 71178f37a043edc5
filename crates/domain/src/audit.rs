//! The audit trail: who changed what, with which key and when, for every change that is not a
//! ledger posting (an entry records its own actor and time). Each entry holds the fields that
//! changed, before and after, with personal data masked.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{ApiKey, Principal};
use crate::customer::Customer;
use crate::ids::AuditEntryId;
use crate::program::Program;
use crate::rewards::Reward;
use crate::tenant::{Tenant, TenantId};
use crate::voucher::Voucher;

/// What a change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    ProgramReplaced,
    RewardCreated,
    RewardUpdated,
    ApiKeyIssued,
    ApiKeyRevoked,
    TenantCreated,
    TenantUpdated,
    CustomerUpdated,
    CardTokenRotated,
    CustomerErased,
    CustomersImported,
    VoucherFulfilled,
    VoucherCancelled,
}

impl AuditAction {
    pub const ALL: [Self; 13] = [
        Self::ProgramReplaced,
        Self::RewardCreated,
        Self::RewardUpdated,
        Self::ApiKeyIssued,
        Self::ApiKeyRevoked,
        Self::TenantCreated,
        Self::TenantUpdated,
        Self::CustomerUpdated,
        Self::CardTokenRotated,
        Self::CustomerErased,
        Self::CustomersImported,
        Self::VoucherFulfilled,
        Self::VoucherCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProgramReplaced => "program.replaced",
            Self::RewardCreated => "reward.created",
            Self::RewardUpdated => "reward.updated",
            Self::ApiKeyIssued => "api_key.issued",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::TenantCreated => "tenant.created",
            Self::TenantUpdated => "tenant.updated",
            Self::CustomerUpdated => "customer.updated",
            Self::CardTokenRotated => "customer.card_token_rotated",
            Self::CustomerErased => "customer.erased",
            Self::CustomersImported => "customers.imported",
            Self::VoucherFulfilled => "voucher.fulfilled",
            Self::VoucherCancelled => "voucher.cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == text)
    }
}

/// One field a change changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    /// Null when the record did not exist before (or the field was empty).
    pub before: Value,
    pub after: Value,
}

/// One change, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub tenant_id: TenantId,
    /// The API key that made the change, or `operator` for the command line.
    pub actor_key_id: String,
    pub request_id: Option<String>,
    pub action: AuditAction,
    /// The id of the record changed (the tenant's own id for tenant changes and imports).
    pub subject_id: String,
    pub changes: Vec<FieldChange>,
    pub created_at: DateTime<Utc>,
}

impl AuditEntry {
    pub fn new(
        tenant: &TenantId,
        actor: &Principal,
        action: AuditAction,
        subject_id: impl Into<String>,
        changes: Vec<FieldChange>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: AuditEntryId::generate(),
            tenant_id: tenant.clone(),
            actor_key_id: actor.key_id.clone(),
            request_id: None,
            action,
            subject_id: subject_id.into(),
            changes,
            created_at: at,
        }
    }

    pub fn with_request(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }
}

impl crate::page::Keyed for AuditEntry {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// A field of an audited record: its name, its value, and whether it is personal data (shown
/// masked in the trail).
#[derive(Debug)]
pub struct AuditedField {
    name: &'static str,
    value: Value,
    personal: bool,
}

fn field(name: &'static str, value: Value) -> AuditedField {
    AuditedField {
        name,
        value,
        personal: false,
    }
}

fn personal(name: &'static str, value: Option<&str>) -> AuditedField {
    AuditedField {
        name,
        value: value.map_or(Value::Null, |v| Value::String(v.to_owned())),
        personal: true,
    }
}

/// An instant as the API writes them (RFC 3339 in UTC, to the microsecond), or null.
fn instant(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| {
        Value::String(at.to_rfc3339_opts(SecondsFormat::Micros, true))
    })
}

/// A record whose changes the trail keeps.
pub trait Audited {
    fn audited_fields(&self) -> Vec<AuditedField>;
}

/// The fields that differ between `before` and `after` (either may be absent: a record created
/// or removed), personal ones masked.
pub fn changes<T: Audited>(before: Option<&T>, after: Option<&T>) -> Vec<FieldChange> {
    let before = before.map(Audited::audited_fields).unwrap_or_default();
    let after = after.map(Audited::audited_fields).unwrap_or_default();
    let names: Vec<&'static str> =
        after
            .iter()
            .chain(before.iter())
            .map(|f| f.name)
            .fold(Vec::new(), |mut names, name| {
                if !names.contains(&name) {
                    names.push(name);
                }
                names
            });
    let find = |fields: &[AuditedField], name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| (f.value.clone(), f.personal))
    };
    names
        .into_iter()
        .filter_map(|name| {
            let (old, old_personal) = find(&before, name).unwrap_or((Value::Null, false));
            let (new, new_personal) = find(&after, name).unwrap_or((Value::Null, false));
            if old == new {
                return None;
            }
            let masked = old_personal || new_personal;
            let show = |value: Value| if masked { mask(&value) } else { value };
            Some(FieldChange {
                field: name.to_owned(),
                before: show(old),
                after: show(new),
            })
        })
        .collect()
}

/// The fields of a customer that are personal data.
pub const CUSTOMER_PERSONAL_FIELDS: [&str; 5] =
    ["name", "phone", "email", "external_id", "card_token"];

/// Replaces every value of a personal field in `changes` with `***` (an erased customer's
/// trail keeps that the fields changed, not even their masked fragments).
pub fn scrub_personal(changes: &mut [FieldChange]) {
    for change in changes {
        if CUSTOMER_PERSONAL_FIELDS.contains(&change.field.as_str()) {
            for value in [&mut change.before, &mut change.after] {
                if !value.is_null() {
                    *value = Value::String("***".to_owned());
                }
            }
        }
    }
}

/// Personal data as the trail shows it: enough to tell values apart, not to read them. Text keeps
/// its first character and, when long enough, its last two.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::String(text) => {
            let chars: Vec<char> = text.chars().collect();
            let masked = match chars.len() {
                0 => String::new(),
                1..=5 => format!("{}***", chars[0]),
                n => format!("{}***{}{}", chars[0], chars[n - 2], chars[n - 1]),
            };
            Value::String(masked)
        }
        Value::Null => Value::Null,
        _ => Value::String("***".to_owned()),
    }
}

/// A count or setting an action reports, as a change from nothing.
pub fn reported(name: &str, value: Value) -> FieldChange {
    FieldChange {
        field: name.to_owned(),
        before: Value::Null,
        after: value,
    }
}

impl Audited for Program {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            field("visits_per_reward", json!(self.visits_per_reward)),
            field("points_per_visit", json!(self.points_per_visit)),
            field(
                "spend_rule",
                json!({"points": self.spend_rule.points, "per_amount_minor": self.spend_rule.per_amount_minor}),
            ),
            field("min_purchase_minor", json!(self.min_purchase_minor)),
            field("max_purchase_minor", json!(self.max_purchase_minor)),
            field(
                "min_minutes_between_visits",
                json!(self.min_minutes_between_visits),
            ),
            field(
                "milestone_reward_id",
                json!(self.milestone_reward_id.as_ref().map(|id| id.as_str())),
            ),
            field(
                "refund_expired_vouchers",
                json!(self.refund_expired_vouchers),
            ),
            field(
                "tiers",
                Value::Array(
                    self.tiers
                        .iter()
                        .map(|t| json!({"name": t.name, "min_lifetime_points": t.min_lifetime_points, "multiplier_percent": t.multiplier_percent}))
                        .collect(),
                ),
            ),
            field(
                "points_expire_after_days",
                json!(self.points_expire_after_days),
            ),
        ]
    }
}

impl Audited for Reward {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            field("name", json!(self.name)),
            field("description", json!(self.description)),
            field("cost_points", json!(self.cost_points)),
            field("active", json!(self.active)),
            field("stock", json!(self.stock)),
            field("valid_days", json!(self.valid_days)),
        ]
    }
}

impl Audited for Tenant {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            field("name", json!(self.name)),
            field("vertical", json!(self.vertical.as_str())),
            field("loyalty_type", json!(self.loyalty_type.as_str())),
            field("country", json!(self.country.as_str())),
            field("currency", json!(self.currency.as_str())),
            field("time_zone", json!(self.time_zone.name())),
            field("primary_domain", json!(self.primary_domain)),
            field("subdomain", json!(self.subdomain)),
            field("features", json!(self.features)),
            field(
                "branding",
                serde_json::to_value(&self.branding).unwrap_or(Value::Null),
            ),
        ]
    }
}

impl Audited for Customer {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            personal(CUSTOMER_PERSONAL_FIELDS[0], self.name.as_deref()),
            personal(CUSTOMER_PERSONAL_FIELDS[1], self.phone.as_deref()),
            personal(CUSTOMER_PERSONAL_FIELDS[2], self.email.as_deref()),
            personal(CUSTOMER_PERSONAL_FIELDS[3], self.external_id.as_deref()),
            personal(CUSTOMER_PERSONAL_FIELDS[4], Some(&self.card_token)),
            field("erased_at", instant(self.erased_at)),
        ]
    }
}

impl Audited for ApiKey {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            field("role", json!(self.role.as_str())),
            field("label", json!(self.label)),
            field("prefix", json!(self.prefix)),
            field("expires_at", instant(self.expires_at)),
            field("revoked_at", instant(self.revoked_at)),
        ]
    }
}

impl Audited for Voucher {
    fn audited_fields(&self) -> Vec<AuditedField> {
        vec![
            field("status", json!(self.status.as_str())),
            field("closed_at", instant(self.closed_at)),
            field("fulfilled_by_key_id", json!(self.fulfilled_by_key_id)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_personal_text_and_keeps_the_rest() {
        assert_eq!(mask(&json!("+4915123456789")), json!("+***89"));
        assert_eq!(mask(&json!("Zoë")), json!("Z***"));
        assert_eq!(mask(&Value::Null), Value::Null);
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
    }
}

//! Response bodies: how domain records look on the wire (snake_case, RFC 3339 UTC timestamps,
//! amounts in minor units).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use loyalty_domain::auth::{ApiKey, IssuedKey, Role};
use loyalty_domain::customer::Customer;
use loyalty_domain::ids::{ApiKeyId, CustomerId, LedgerEntryId, RewardId, VoucherId};
use loyalty_domain::ledger::{EntryKind, LedgerEntry};
use loyalty_domain::page::Page;
use loyalty_domain::program::{Program, milestone_reward_id};
use loyalty_domain::rewards::Reward;
use loyalty_domain::service::CardView;
use loyalty_domain::tenant::{Branding, LoyaltyType, Tenant, Vertical};
use loyalty_domain::validation::ValidationErrors;
use loyalty_domain::voucher::{Voucher, VoucherStatus};
use serde::Serialize;
use utoipa::ToSchema;

mod reports;
mod webhooks;

pub(crate) use reports::{DailyView, SummaryView, TopCustomersView};
pub(crate) use webhooks::{CreatedWebhookView, DeliveryView, WebhookView};

/// RFC 3339 in UTC with a `Z`, to the microsecond.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> PageView<T> {
    pub fn of<D>(page: Page<D>, view: impl FnMut(D) -> T) -> Self {
        let page = page.map(view);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TenantView {
    id: String,
    name: String,
    #[schema(value_type = crate::openapi::Vertical)]
    vertical: Vertical,
    #[schema(value_type = crate::openapi::LoyaltyType)]
    loyalty_type: LoyaltyType,
    country: String,
    currency: String,
    /// The IANA time zone whose days the tenant's rules follow.
    time_zone: String,
    primary_domain: Option<String>,
    subdomain: Option<String>,
    #[schema(value_type = crate::openapi::Branding)]
    branding: Branding,
    features: BTreeMap<String, bool>,
    created_at: String,
    updated_at: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            vertical: t.vertical,
            loyalty_type: t.loyalty_type,
            country: t.country.to_string(),
            currency: t.currency.to_string(),
            time_zone: t.time_zone.name().to_owned(),
            primary_domain: t.primary_domain,
            subdomain: t.subdomain,
            branding: t.branding,
            features: t.features,
            created_at: timestamp(t.created_at),
            updated_at: timestamp(t.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct KeyView {
    #[schema(value_type = String)]
    id: ApiKeyId,
    tenant_id: Option<String>,
    #[schema(value_type = crate::openapi::Role)]
    role: Role,
    label: Option<String>,
    prefix: String,
    created_at: String,
    revoked_at: Option<String>,
    /// The id of the key that issued this one, `operator` for the command line; null for keys
    /// issued before this was recorded.
    created_by: Option<String>,
    /// When the key stops working; null: until revoked.
    expires_at: Option<String>,
    /// When the key last authenticated a request, to within a minute or so.
    last_used_at: Option<String>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            tenant_id: k.tenant_id.map(|t| t.to_string()),
            role: k.role,
            label: k.label,
            prefix: k.prefix,
            created_at: timestamp(k.created_at),
            revoked_at: k.revoked_at.map(timestamp),
            created_by: k.created_by,
            expires_at: k.expires_at.map(timestamp),
            last_used_at: k.last_used_at.map(timestamp),
        }
    }
}

/// A new key with its secret: the only response that ever shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssuedKeyView {
    #[serde(flatten)]
    stored: KeyView,
    /// The full key, to send as `Authorization: Bearer <key>`.
    key: String,
}

impl From<IssuedKey> for IssuedKeyView {
    fn from(issued: IssuedKey) -> Self {
        Self {
            stored: issued.key.into(),
            key: issued.secret,
        }
    }
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpendRuleBody {
    pub points: i64,
    pub per_amount_minor: i64,
}

/// The program, as read and as replaced with PUT (every field required).
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"visits_per_reward": 10, "points_per_visit": 10, "spend_rule": {"points": 1, "per_amount_minor": 100}, "min_purchase_minor": 0, "max_purchase_minor": 10000000, "min_minutes_between_visits": 60, "milestone_reward_id": null, "refund_expired_vouchers": true, "tiers": [{"name": "Gold", "min_lifetime_points": 1000, "multiplier_percent": 150}], "points_expire_after_days": 365}))]
pub(crate) struct ProgramBody {
    pub visits_per_reward: i64,
    pub points_per_visit: i64,
    pub spend_rule: SpendRuleBody,
    pub min_purchase_minor: i64,
    /// The largest purchase a till may record; larger ones are refused (422).
    #[serde(default = "max_purchase_minor_default")]
    pub max_purchase_minor: i64,
    pub min_minutes_between_visits: i64,
    /// The reward a completed card earns as a free voucher; null for none.
    #[serde(default)]
    pub milestone_reward_id: Option<String>,
    #[serde(default = "refund_expired_vouchers_default")]
    pub refund_expired_vouchers: bool,
    /// Tiers by lifetime points; empty for none.
    #[serde(default)]
    pub tiers: Vec<TierBody>,
    /// Days earned points stay spendable; null: never expire.
    #[serde(default)]
    pub points_expire_after_days: Option<i64>,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TierBody {
    pub name: String,
    pub min_lifetime_points: i64,
    pub multiplier_percent: i64,
}

fn refund_expired_vouchers_default() -> bool {
    true
}

fn max_purchase_minor_default() -> i64 {
    loyalty_domain::program::DEFAULT_MAX_PURCHASE_MINOR
}

impl From<Program> for ProgramBody {
    fn from(p: Program) -> Self {
        Self {
            visits_per_reward: p.visits_per_reward,
            points_per_visit: p.points_per_visit,
            spend_rule: SpendRuleBody {
                points: p.spend_rule.points,
                per_amount_minor: p.spend_rule.per_amount_minor,
            },
            min_purchase_minor: p.min_purchase_minor,
            max_purchase_minor: p.max_purchase_minor,
            min_minutes_between_visits: p.min_minutes_between_visits,
            milestone_reward_id: p.milestone_reward_id.map(RewardId::into_string),
            refund_expired_vouchers: p.refund_expired_vouchers,
            tiers: p
                .tiers
                .into_iter()
                .map(|t| TierBody {
                    name: t.name,
                    min_lifetime_points: t.min_lifetime_points,
                    multiplier_percent: t.multiplier_percent,
                })
                .collect(),
            points_expire_after_days: p.points_expire_after_days,
        }
    }
}

impl TryFrom<ProgramBody> for Program {
    type Error = ValidationErrors;

    fn try_from(b: ProgramBody) -> Result<Self, ValidationErrors> {
        Ok(Self {
            visits_per_reward: b.visits_per_reward,
            points_per_visit: b.points_per_visit,
            spend_rule: loyalty_domain::program::SpendRule {
                points: b.spend_rule.points,
                per_amount_minor: b.spend_rule.per_amount_minor,
            },
            min_purchase_minor: b.min_purchase_minor,
            max_purchase_minor: b.max_purchase_minor,
            min_minutes_between_visits: b.min_minutes_between_visits,
            milestone_reward_id: b
                .milestone_reward_id
                .as_deref()
                .map(milestone_reward_id)
                .transpose()?,
            refund_expired_vouchers: b.refund_expired_vouchers,
            tiers: b
                .tiers
                .into_iter()
                .map(|t| loyalty_domain::program::Tier {
                    name: t.name,
                    min_lifetime_points: t.min_lifetime_points,
                    multiplier_percent: t.multiplier_percent,
                })
                .collect(),
            points_expire_after_days: b.points_expire_after_days,
        })
    }
}

/// A customer with their account's totals.
#[derive(Serialize, ToSchema)]
pub(crate) struct CustomerView {
    #[schema(value_type = String)]
    id: CustomerId,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    balance: i64,
    lifetime_points: i64,
    visits: i64,
    last_visit_at: Option<String>,
    /// The tier the lifetime points reach, and what the next one takes.
    tier: Option<String>,
    points_to_next_tier: Option<i64>,
    /// The token of the customer's public card. Absent from the `account` a change answers with:
    /// that answer is kept to replay it, and a card token need not be kept twice.
    #[serde(skip_serializing_if = "Option::is_none")]
    card_token: Option<String>,
    created_at: String,
    updated_at: String,
}

impl CustomerView {
    /// The fields that say who the customer is: what erasure takes from every copy of the view
    /// the service keeps.
    pub(crate) const PERSONAL_FIELDS: [&'static str; 5] =
        ["name", "phone", "email", "external_id", "card_token"];

    /// The customer as the `account` of a change's answer: without the card token.
    pub(crate) fn account(customer: Customer) -> Self {
        Self {
            card_token: None,
            ..customer.into()
        }
    }
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            name: c.name,
            phone: c.phone,
            email: c.email,
            external_id: c.external_id,
            balance: c.account.balance,
            lifetime_points: c.account.lifetime_points,
            visits: c.account.visits,
            last_visit_at: c.account.last_visit_at.map(timestamp),
            tier: c.tier.tier,
            points_to_next_tier: c.tier.points_to_next_tier,
            card_token: Some(c.card_token),
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LedgerEntryView {
    #[schema(value_type = String)]
    id: LedgerEntryId,
    #[schema(value_type = String)]
    customer_id: CustomerId,
    #[schema(value_type = crate::openapi::EntryKind)]
    kind: EntryKind,
    points: i64,
    balance_after: i64,
    visit_number: Option<i64>,
    amount_minor: Option<i64>,
    currency: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
    #[schema(value_type = Option<String>)]
    reverses_entry_id: Option<LedgerEntryId>,
    /// The id of the API key that caused the entry.
    actor: String,
    request_id: Option<String>,
    created_at: String,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(e: LedgerEntry) -> Self {
        Self {
            id: e.id,
            customer_id: e.customer_id,
            kind: e.kind,
            points: e.points,
            balance_after: e.balance_after,
            visit_number: e.visit_number,
            amount_minor: e.amount_minor,
            currency: e.currency,
            reference: e.reference,
            reason: e.reason,
            reverses_entry_id: e.reverses_entry_id,
            actor: e.actor_key_id,
            request_id: e.request_id,
            created_at: timestamp(e.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CardBody {
    tenant_name: String,
    first_name: Option<String>,
    balance: i64,
    visits: i64,
    visits_to_next_milestone: i64,
    vouchers: Vec<CardVoucher>,
    affordable_rewards: Vec<CardReward>,
}

/// A live voucher as its owner sees it.
#[derive(Serialize, ToSchema)]
struct CardVoucher {
    reward_name: String,
    code: String,
    qr_payload: String,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
struct CardReward {
    #[schema(value_type = String)]
    id: RewardId,
    name: String,
    cost_points: i64,
}

impl From<CardView> for CardBody {
    fn from(c: CardView) -> Self {
        Self {
            tenant_name: c.tenant_name,
            first_name: c.first_name,
            balance: c.balance,
            visits: c.visits,
            visits_to_next_milestone: c.visits_to_next_milestone,
            vouchers: c
                .vouchers
                .into_iter()
                .map(|v| CardVoucher {
                    reward_name: v.reward_name,
                    code: v.code,
                    qr_payload: v.qr_payload,
                    expires_at: timestamp(v.expires_at),
                })
                .collect(),
            affordable_rewards: c
                .affordable_rewards
                .into_iter()
                .map(|r| CardReward {
                    id: r.id,
                    name: r.name,
                    cost_points: r.cost_points,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RewardView {
    #[schema(value_type = String)]
    id: RewardId,
    name: String,
    description: Option<String>,
    cost_points: i64,
    active: bool,
    stock: Option<i64>,
    valid_days: i64,
    created_at: String,
    updated_at: String,
}

impl From<Reward> for RewardView {
    fn from(r: Reward) -> Self {
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
            cost_points: r.cost_points,
            active: r.active,
            stock: r.stock,
            valid_days: r.valid_days,
            created_at: timestamp(r.created_at),
            updated_at: timestamp(r.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RewardRef {
    #[schema(value_type = String)]
    id: RewardId,
    name: String,
}

/// A voucher.
#[derive(Serialize, ToSchema)]
pub(crate) struct VoucherView {
    #[schema(value_type = String)]
    id: VoucherId,
    #[schema(value_type = String)]
    customer_id: CustomerId,
    reward: RewardRef,
    #[schema(value_type = crate::openapi::VoucherStatus)]
    status: VoucherStatus,
    code: String,
    qr_payload: String,
    points_spent: i64,
    milestone_visit_number: Option<i64>,
    expires_at: String,
    created_at: String,
    closed_at: Option<String>,
    /// The API key that fulfilled it.
    fulfilled_by_key_id: Option<String>,
}

impl From<Voucher> for VoucherView {
    fn from(r: Voucher) -> Self {
        Self {
            status: r.status,
            id: r.id,
            customer_id: r.customer_id,
            reward: RewardRef {
                id: r.reward_id,
                name: r.reward_name,
            },
            code: r.code,
            qr_payload: r.qr_payload,
            points_spent: r.points_spent,
            milestone_visit_number: r.milestone_visit_number,
            expires_at: timestamp(r.expires_at),
            created_at: timestamp(r.created_at),
            closed_at: r.closed_at.map(timestamp),
            fulfilled_by_key_id: r.fulfilled_by_key_id,
        }
    }
}

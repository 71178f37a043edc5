//! The rewards catalog: what customers can take home, at what price in points.

use chrono::{DateTime, Utc};

use crate::ids::RewardId;
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, clean_text};

pub const MAX_REWARD_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_COST_POINTS: i64 = 1_000_000_000;
pub const MAX_STOCK: i64 = 1_000_000_000;
pub const MAX_VALID_DAYS: i64 = 3650;
/// How long an issued voucher stays redeemable unless the reward says otherwise.
pub const DEFAULT_VALID_DAYS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub id: RewardId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    pub cost_points: i64,
    /// Inactive rewards take no new redemptions; vouchers already issued stay good.
    pub active: bool,
    /// Items left; None is unlimited. Never below zero.
    pub stock: Option<i64>,
    /// Days an issued voucher stays redeemable.
    pub valid_days: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::page::Keyed for Reward {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// A reward as a tenant admin describes it.
#[derive(Debug, Clone)]
pub struct NewReward {
    pub name: String,
    pub description: Option<String>,
    pub cost_points: i64,
    pub active: Option<bool>,
    pub stock: Option<i64>,
    pub valid_days: Option<i64>,
}

/// Changes to a reward; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct RewardChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub cost_points: Option<i64>,
    pub active: Option<bool>,
    pub stock: Option<Option<i64>>,
    pub valid_days: Option<i64>,
}

fn check_numbers(
    errors: &mut ValidationErrors,
    cost_points: i64,
    stock: Option<i64>,
    valid_days: i64,
) {
    if !(1..=MAX_COST_POINTS).contains(&cost_points) {
        errors.add(
            "cost_points",
            format!("must be between 1 and {MAX_COST_POINTS}"),
        );
    }
    if stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
        errors.add(
            "stock",
            format!("must be between 0 and {MAX_STOCK}, or null for unlimited"),
        );
    }
    if !(1..=MAX_VALID_DAYS).contains(&valid_days) {
        errors.add(
            "valid_days",
            format!("must be between 1 and {MAX_VALID_DAYS}"),
        );
    }
}

impl NewReward {
    pub fn validate(
        self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Reward, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", clean_text(&self.name, MAX_REWARD_NAME_CHARS));
        let description = self
            .description
            .as_deref()
            .and_then(|d| errors.check("description", clean_text(d, MAX_DESCRIPTION_CHARS)));
        let valid_days = self.valid_days.unwrap_or(DEFAULT_VALID_DAYS);
        check_numbers(&mut errors, self.cost_points, self.stock, valid_days);
        let Some(name) = name else {
            return Err(errors);
        };
        errors.into_result(Reward {
            id: RewardId::generate(),
            tenant_id: tenant.clone(),
            name,
            description,
            cost_points: self.cost_points,
            active: self.active.unwrap_or(true),
            stock: self.stock,
            valid_days,
            created_at: now,
            updated_at: now,
        })
    }
}

impl RewardChanges {
    pub fn apply(self, mut reward: Reward, now: DateTime<Utc>) -> Result<Reward, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(name) = self
            .name
            .and_then(|n| errors.check("name", clean_text(&n, MAX_REWARD_NAME_CHARS)))
        {
            reward.name = name;
        }
        match self.description {
            Some(Some(text)) => {
                reward.description =
                    errors.check("description", clean_text(&text, MAX_DESCRIPTION_CHARS));
            }
            Some(None) => reward.description = None,
            None => {}
        }
        reward.cost_points = self.cost_points.unwrap_or(reward.cost_points);
        reward.active = self.active.unwrap_or(reward.active);
        if let Some(stock) = self.stock {
            reward.stock = stock;
        }
        reward.valid_days = self.valid_days.unwrap_or(reward.valid_days);
        check_numbers(
            &mut errors,
            reward.cost_points,
            reward.stock,
            reward.valid_days,
        );
        reward.updated_at = now;
        errors.into_result(reward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn defaults_and_validation() {
        let new = NewReward {
            name: " Free wash ".into(),
            description: None,
            cost_points: 100,
            active: None,
            stock: None,
            valid_days: None,
        };
        let reward = new.clone().validate(&tenant(), Utc::now()).unwrap();
        assert_eq!(
            (
                reward.name.as_str(),
                reward.active,
                reward.stock,
                reward.valid_days
            ),
            ("Free wash", true, None, 10)
        );
        let bad = NewReward {
            cost_points: 0,
            stock: Some(-1),
            valid_days: Some(0),
            ..new
        };
        let fields: Vec<String> = bad
            .validate(&tenant(), Utc::now())
            .unwrap_err()
            .fields()
            .iter()
            .map(|e| e.field.clone())
            .collect();
        assert_eq!(fields, ["cost_points", "stock", "valid_days"]);
    }
}

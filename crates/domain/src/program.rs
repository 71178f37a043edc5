//! A tenant's loyalty program: how visits and spend turn into stamps and points.

use serde::{Deserialize, Serialize};

use crate::LoyaltyError;
use crate::ids::RewardId;
use crate::local_time::TimeZone;
use crate::validation::{ValidationErrors, clean_text};

/// Points for spend: `floor(amount_minor / per_amount_minor) * points`. With `{1, 1000}` a
/// purchase of 105.00 (10500 minor units) earns 10 points. Integers only, never floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendRule {
    pub points: i64,
    pub per_amount_minor: i64,
}

/// A level customers reach by lifetime points (not their balance); purchases earn
/// `multiplier_percent` of the spend rule's points, floored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub name: String,
    pub min_lifetime_points: i64,
    pub multiplier_percent: i64,
}

/// Where a customer stands among the program's tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStanding {
    /// None below the lowest tier, or when the program has none.
    pub tier: Option<String>,
    pub multiplier_percent: i64,
    /// Lifetime points still needed for the next tier; None at the top.
    pub points_to_next_tier: Option<i64>,
}

impl Default for TierStanding {
    fn default() -> Self {
        Self {
            tier: None,
            multiplier_percent: 100,
            points_to_next_tier: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Visits (stamps) for one milestone reward.
    pub visits_per_reward: i64,
    pub points_per_visit: i64,
    pub spend_rule: SpendRule,
    /// Purchases below this amount earn no points.
    pub min_purchase_minor: i64,
    /// The largest purchase a till may record: a typo (an amount keyed in cents twice) is
    /// refused instead of earning a fortune.
    pub max_purchase_minor: i64,
    /// Anti-fraud: a second visit inside this window is refused. 0 turns the check off.
    pub min_minutes_between_visits: i64,
    /// The reward a completed stamp card earns, as a free voucher; None issues none.
    pub milestone_reward_id: Option<RewardId>,
    /// Whether a voucher that expires unused gives its points back.
    pub refund_expired_vouchers: bool,
    /// Tiers by lifetime points, lowest first.
    pub tiers: Vec<Tier>,
    /// Days earned points stay spendable; None: they never expire.
    pub points_expire_after_days: Option<i64>,
}

/// Upper bounds that catch typos (an extra zero or three) without limiting real programs.
pub const MAX_VISITS_PER_REWARD: i64 = 1_000;
pub const MAX_POINTS_PER_EVENT: i64 = 1_000_000;
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
/// 100,000.00 in a currency with cents: more than one visit to a car wash, café or salon costs.
pub const DEFAULT_MAX_PURCHASE_MINOR: i64 = 10_000_000;
pub const MAX_MINUTES_BETWEEN_VISITS: i64 = 7 * 24 * 60;
pub const MAX_TIERS: usize = 10;
pub const MAX_POINTS_LIFE_DAYS: i64 = 3650;
pub const MAX_TIER_NAME_CHARS: usize = 50;
pub const MIN_MULTIPLIER_PERCENT: i64 = 100;
pub const MAX_MULTIPLIER_PERCENT: i64 = 1000;

impl Default for Program {
    /// Ten stamps to a reward, ten points a visit, a point per 100 minor units spent (one per
    /// euro or dollar), and at most one stamp an hour.
    fn default() -> Self {
        Self {
            visits_per_reward: 10,
            points_per_visit: 10,
            spend_rule: SpendRule {
                points: 1,
                per_amount_minor: 100,
            },
            min_purchase_minor: 0,
            max_purchase_minor: DEFAULT_MAX_PURCHASE_MINOR,
            min_minutes_between_visits: 60,
            milestone_reward_id: None,
            refund_expired_vouchers: true,
            tiers: Vec::new(),
            points_expire_after_days: None,
        }
    }
}

/// What a milestone reward id that names no reward of the tenant is told.
pub const NO_SUCH_REWARD: &str = "names no reward of this tenant";

/// The milestone reward a client named: text that is no reward id names no reward either.
pub fn milestone_reward_id(raw: &str) -> Result<RewardId, ValidationErrors> {
    RewardId::parse(raw)
        .ok_or_else(|| ValidationErrors::single("milestone_reward_id", NO_SUCH_REWARD))
}

impl Program {
    /// Checks every field, reporting each one out of range by name.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut within = |field: &str, value: i64, min: i64, max: i64| {
            if !(min..=max).contains(&value) {
                errors.add(field, format!("must be between {min} and {max}"));
            }
        };
        within(
            "visits_per_reward",
            self.visits_per_reward,
            1,
            MAX_VISITS_PER_REWARD,
        );
        within(
            "points_per_visit",
            self.points_per_visit,
            0,
            MAX_POINTS_PER_EVENT,
        );
        within(
            "spend_rule.points",
            self.spend_rule.points,
            0,
            MAX_POINTS_PER_EVENT,
        );
        within(
            "spend_rule.per_amount_minor",
            self.spend_rule.per_amount_minor,
            1,
            MAX_AMOUNT_MINOR,
        );
        within(
            "min_purchase_minor",
            self.min_purchase_minor,
            0,
            MAX_AMOUNT_MINOR,
        );
        within(
            "max_purchase_minor",
            self.max_purchase_minor,
            1,
            MAX_AMOUNT_MINOR,
        );
        within(
            "min_minutes_between_visits",
            self.min_minutes_between_visits,
            0,
            MAX_MINUTES_BETWEEN_VISITS,
        );
        if self.max_purchase_minor < self.min_purchase_minor {
            errors.add("max_purchase_minor", "must not be below min_purchase_minor");
        }
        if self
            .points_expire_after_days
            .is_some_and(|days| !(1..=MAX_POINTS_LIFE_DAYS).contains(&days))
        {
            errors.add(
                "points_expire_after_days",
                format!("must be between 1 and {MAX_POINTS_LIFE_DAYS}, or null for never"),
            );
        }
        let mut program = self;
        program.tiers = check_tiers(&mut errors, program.tiers);
        errors.into_result(program)
    }

    /// The tier `lifetime_points` reach: the highest whose minimum they meet.
    pub fn tier_for(&self, lifetime_points: i64) -> Option<&Tier> {
        self.tiers
            .iter()
            .rev()
            .find(|tier| lifetime_points >= tier.min_lifetime_points)
    }

    pub fn standing(&self, lifetime_points: i64) -> TierStanding {
        let tier = self.tier_for(lifetime_points);
        TierStanding {
            tier: tier.map(|t| t.name.clone()),
            multiplier_percent: tier.map_or(100, |t| t.multiplier_percent),
            points_to_next_tier: self
                .tiers
                .iter()
                .find(|t| t.min_lifetime_points > lifetime_points)
                .map(|next| next.min_lifetime_points - lifetime_points),
        }
    }

    /// When points earned at `earned_at` expire under this program: at the end of the local
    /// day (in the tenant's `zone`) `points_expire_after_days` after the day they were earned,
    /// so one day's earnings expire together.
    pub fn points_expiry(
        &self,
        earned_at: chrono::DateTime<chrono::Utc>,
        zone: TimeZone,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let days = u64::try_from(self.points_expire_after_days?).ok()?;
        let last_day = zone
            .date_of(earned_at)
            .checked_add_days(chrono::Days::new(days))?;
        Some(zone.end_of(last_day))
    }

    /// A purchase's points at the customer's tier: the spend rule's, times the tier's
    /// multiplier, floored.
    /// More than a balance can hold is `PointsOverflow`, never a clamped number.
    pub fn purchase_points(
        &self,
        amount_minor: i64,
        lifetime_points: i64,
    ) -> Result<i64, LoyaltyError> {
        let base = i128::from(self.spend_points(amount_minor));
        let percent = i128::from(self.standing(lifetime_points).multiplier_percent);
        i64::try_from(base * percent / 100).map_err(|_| LoyaltyError::PointsOverflow)
    }

    /// Points a purchase of `amount_minor` earns under the spend rule.
    pub fn spend_points(&self, amount_minor: i64) -> i64 {
        if amount_minor < self.min_purchase_minor || amount_minor <= 0 {
            return 0;
        }
        // Both factors are bounded by validation: at most 10^12 * 10^6, well inside i64.
        (amount_minor / self.spend_rule.per_amount_minor) * self.spend_rule.points
    }

    /// Whether the `visit_number`-th visit completes a card.
    pub fn is_milestone(&self, visit_number: i64) -> bool {
        visit_number > 0 && visit_number % self.visits_per_reward == 0
    }

    /// Visits still needed, after `visits`, for the next milestone.
    pub fn visits_to_next_milestone(&self, visits: i64) -> i64 {
        self.visits_per_reward - visits.rem_euclid(self.visits_per_reward)
    }
}

/// Checks each tier and returns them lowest first; minimums must differ, names too.
fn check_tiers(errors: &mut ValidationErrors, mut tiers: Vec<Tier>) -> Vec<Tier> {
    if tiers.len() > MAX_TIERS {
        errors.add("tiers", format!("at most {MAX_TIERS} tiers"));
    }
    for (n, tier) in tiers.iter_mut().enumerate() {
        match clean_text(&tier.name, MAX_TIER_NAME_CHARS) {
            Ok(name) => tier.name = name,
            Err(message) => errors.add(format!("tiers[{n}].name"), message),
        }
        if !(0..=MAX_AMOUNT_MINOR).contains(&tier.min_lifetime_points) {
            errors.add(
                format!("tiers[{n}].min_lifetime_points"),
                format!("must be between 0 and {MAX_AMOUNT_MINOR}"),
            );
        }
        if !(MIN_MULTIPLIER_PERCENT..=MAX_MULTIPLIER_PERCENT).contains(&tier.multiplier_percent) {
            errors.add(
                format!("tiers[{n}].multiplier_percent"),
                format!("must be between {MIN_MULTIPLIER_PERCENT} and {MAX_MULTIPLIER_PERCENT}"),
            );
        }
    }
    tiers.sort_by_key(|t| t.min_lifetime_points);
    if tiers
        .windows(2)
        .any(|pair| pair[0].min_lifetime_points == pair[1].min_lifetime_points)
    {
        errors.add(
            "tiers",
            "no two tiers may start at the same lifetime points",
        );
    }
    let mut names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        errors.add("tiers", "tier names must differ");
    }
    tiers
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn program(points: i64, per: i64, min: i64) -> Program {
        Program {
            spend_rule: SpendRule {
                points,
                per_amount_minor: per,
            },
            min_purchase_minor: min,
            ..Program::default()
        }
    }

    #[test]
    fn the_issue_example() {
        assert_eq!(program(1, 1000, 0).spend_points(10_500), 10);
    }

    #[test]
    fn points_expire_at_the_end_of_the_last_day() {
        use chrono::TimeZone;
        let program = Program {
            points_expire_after_days: Some(30),
            ..Program::default()
        };
        let morning = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 8, 15, 0).unwrap();
        let night = chrono::Utc
            .with_ymd_and_hms(2026, 11, 1, 23, 59, 59)
            .unwrap();
        let end = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let utc = crate::local_time::TimeZone::default();
        assert_eq!(program.points_expiry(morning, utc), Some(end));
        assert_eq!(
            program.points_expiry(night, utc),
            Some(end),
            "one day's earnings expire together"
        );
        assert_eq!(Program::default().points_expiry(morning, utc), None);
        // In Berlin (+1 in November) that night is already 2 November: its points last a day
        // longer, to the end of 2 December there, 23:00 UTC.
        let berlin = crate::local_time::TimeZone::parse("Europe/Berlin").unwrap();
        let berlin_end = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 23, 0, 0).unwrap();
        assert_eq!(program.points_expiry(night, berlin), Some(berlin_end));
        assert_eq!(
            program.points_expiry(morning, berlin),
            Some(chrono::Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap())
        );
    }

    #[test]
    fn default_program_is_valid() {
        assert!(Program::default().validate().is_ok());
    }

    #[test]
    fn validation_names_every_bad_field() {
        let bad = Program {
            visits_per_reward: 0,
            points_per_visit: -1,
            spend_rule: SpendRule {
                points: 1,
                per_amount_minor: 0,
            },
            min_purchase_minor: -5,
            min_minutes_between_visits: 100_000,
            ..Program::default()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "visits_per_reward",
                "points_per_visit",
                "spend_rule.per_amount_minor",
                "min_purchase_minor",
                "min_minutes_between_visits"
            ]
        );
    }

    proptest! {
        #[test]
        fn spend_points_floor_and_never_exceed_proportion(
            amount in 0i64..=MAX_AMOUNT_MINOR,
            points in 0i64..=MAX_POINTS_PER_EVENT,
            per in 1i64..=1_000_000,
            min in 0i64..=100_000,
        ) {
            let p = program(points, per, min);
            let earned = p.spend_points(amount);
            if amount < min || amount == 0 {
                prop_assert_eq!(earned, 0);
            } else {
                // Exactly the floor: k full blocks of `per` earn k * points; the remainder earns nothing.
                let blocks = amount / per;
                prop_assert_eq!(earned, blocks * points);
                prop_assert!(i128::from(earned) * i128::from(per) <= i128::from(amount) * i128::from(points));
                prop_assert_eq!(p.spend_points(amount + (per - amount % per)), (blocks + 1) * points);
            }
        }

        #[test]
        fn spend_points_grow_with_amount(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000, per in 1i64..10_000) {
            let p = program(3, per, 0);
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(p.spend_points(low) <= p.spend_points(high));
        }

        #[test]
        fn tiers_follow_lifetime_points_and_only_ever_multiply(
            mins in prop::collection::btree_set(0i64..100_000, 1..5),
            percents in prop::collection::vec(100i64..=1000, 5),
            lifetime in 0i64..200_000,
            more in 0i64..50_000,
            amount in 0i64..10_000_000,
        ) {
            let tiers: Vec<Tier> = mins.iter().zip(&percents).enumerate()
                .map(|(n, (min, pct))| Tier { name: format!("T{n}"), min_lifetime_points: *min, multiplier_percent: *pct })
                .collect();
            let p = Program { tiers: tiers.clone(), ..Program::default() }.validate().unwrap();
            let standing = p.standing(lifetime);
            // The tier reached is the highest whose minimum the lifetime points meet.
            let expected = tiers.iter().rfind(|t| t.min_lifetime_points <= lifetime);
            prop_assert_eq!(standing.tier.as_deref(), expected.map(|t| t.name.as_str()));
            if let Some(next) = standing.points_to_next_tier {
                prop_assert!(next > 0);
                prop_assert_ne!(p.standing(lifetime + next).tier, standing.tier.clone());
            }
            // More lifetime points never lower the tier's minimum.
            let later = p.tier_for(lifetime + more).map_or(-1, |t| t.min_lifetime_points);
            prop_assert!(later >= p.tier_for(lifetime).map_or(-1, |t| t.min_lifetime_points));
            // A multiplier only multiplies, floored, in integers.
            let base = p.spend_points(amount);
            let earned = p.purchase_points(amount, lifetime).unwrap();
            prop_assert_eq!(earned, base * standing.multiplier_percent / 100);
            prop_assert!(earned >= base);
        }

        #[test]
        fn exactly_one_milestone_per_card(visits_per_reward in 1i64..=50, visits in 0i64..=500) {
            let p = Program { visits_per_reward, ..Program::default() };
            let milestones = (1..=visits).filter(|n| p.is_milestone(*n)).count() as i64;
            prop_assert_eq!(milestones, visits / visits_per_reward);
            let to_next = p.visits_to_next_milestone(visits);
            prop_assert!((1..=visits_per_reward).contains(&to_next));
            prop_assert!(p.is_milestone(visits + to_next));
        }
    }
}

//! Earning rules: what an event at the counter earns. The extension point for new promotions.
//!
//! A rule looks at the program, the account and the event, and returns awards. Awards of the
//! event's own kind (a visit's, a purchase's) are summed into that event's ledger entry, so a
//! reversal of a purchase undoes everything it earned; a milestone award becomes its own entry.
//! To add a promotion, implement [`EarningRule`] and register it with
//! `Loyalty::with_rule`; no adapter changes.

use chrono::{DateTime, Utc};

use crate::LoyaltyError;
use crate::customer::Account;
use crate::ledger::EntryKind;
use crate::program::Program;

/// Something that happened at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarningEvent {
    /// The customer's `visit_number`-th visit.
    Visit {
        visit_number: i64,
        at: DateTime<Utc>,
    },
    Purchase {
        amount_minor: i64,
        at: DateTime<Utc>,
    },
}

/// Points (and milestones) a rule grants for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Award {
    pub kind: EntryKind,
    pub points: i64,
}

pub trait EarningRule: Send + Sync {
    /// What the event earns under this rule. A rule whose arithmetic would leave the points'
    /// range answers `PointsOverflow` rather than a clamped number.
    fn awards(
        &self,
        program: &Program,
        account: &Account,
        event: &EarningEvent,
    ) -> Result<Vec<Award>, LoyaltyError>;
}

/// Stamps: points per visit, and a milestone each time the visit count reaches a multiple of
/// `visits_per_reward`.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitRule;

impl EarningRule for VisitRule {
    fn awards(
        &self,
        program: &Program,
        _: &Account,
        event: &EarningEvent,
    ) -> Result<Vec<Award>, LoyaltyError> {
        let EarningEvent::Visit { visit_number, .. } = *event else {
            return Ok(Vec::new());
        };
        let mut awards = vec![Award {
            kind: EntryKind::Visit,
            points: program.points_per_visit,
        }];
        if program.is_milestone(visit_number) {
            awards.push(Award {
                kind: EntryKind::Milestone,
                points: 0,
            });
        }
        Ok(awards)
    }
}

/// Points for spend, per the program's spend rule and minimum purchase, times the multiplier of
/// the tier the customer's lifetime points reach.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpendRule;

impl EarningRule for SpendRule {
    fn awards(
        &self,
        program: &Program,
        account: &Account,
        event: &EarningEvent,
    ) -> Result<Vec<Award>, LoyaltyError> {
        let EarningEvent::Purchase { amount_minor, .. } = *event else {
            return Ok(Vec::new());
        };
        Ok(vec![Award {
            kind: EntryKind::Purchase,
            points: program.purchase_points(amount_minor, account.lifetime_points)?,
        }])
    }
}

/// The rules every tenant starts with.
pub fn default_rules() -> Vec<std::sync::Arc<dyn EarningRule>> {
    vec![
        std::sync::Arc::new(VisitRule),
        std::sync::Arc::new(SpendRule),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone, Weekday};

    use super::*;
    use crate::activity::{Purchase, plan_purchase};
    use crate::money::Currency;

    /// The example from docs/architecture.md: a promotion as a third rule.
    struct TuesdayDoublePoints;

    impl EarningRule for TuesdayDoublePoints {
        fn awards(
            &self,
            program: &Program,
            _: &Account,
            event: &EarningEvent,
        ) -> Result<Vec<Award>, LoyaltyError> {
            Ok(match *event {
                EarningEvent::Purchase { amount_minor, at } if at.weekday() == Weekday::Tue => {
                    vec![Award {
                        kind: EntryKind::Purchase,
                        points: program.spend_points(amount_minor),
                    }]
                }
                _ => Vec::new(),
            })
        }
    }

    #[test]
    fn a_third_rule_adds_to_the_purchase_it_rewards() {
        let mut rules = default_rules();
        rules.push(std::sync::Arc::new(TuesdayDoublePoints));
        let program = Program::default();
        let eur = Currency::parse("EUR").unwrap();
        let purchase = Purchase {
            amount_minor: 2500,
            currency: "EUR",
            reference: None,
        };
        let tuesday = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let wednesday = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let on =
            |at| plan_purchase(&program, &rules, &Account::default(), &eur, purchase, at).unwrap();
        assert_eq!(
            on(tuesday)[0].points,
            50,
            "one entry, so a refund takes back both halves"
        );
        assert_eq!(on(tuesday).len(), 1);
        assert_eq!(on(wednesday)[0].points, 25);
    }

    #[test]
    fn visit_rule_marks_each_completed_card() {
        let program = Program {
            visits_per_reward: 2,
            points_per_visit: 7,
            ..Program::default()
        };
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let awards = |visit_number| {
            VisitRule
                .awards(
                    &program,
                    &Account::default(),
                    &EarningEvent::Visit { visit_number, at },
                )
                .unwrap()
        };
        assert_eq!(
            awards(1),
            [Award {
                kind: EntryKind::Visit,
                points: 7
            }]
        );
        assert_eq!(
            awards(2),
            [
                Award {
                    kind: EntryKind::Visit,
                    points: 7
                },
                Award {
                    kind: EntryKind::Milestone,
                    points: 0
                }
            ]
        );
        assert!(
            SpendRule
                .awards(
                    &program,
                    &Account::default(),
                    &EarningEvent::Visit {
                        visit_number: 1,
                        at
                    }
                )
                .unwrap()
                .is_empty()
        );
    }
}

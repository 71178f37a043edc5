//! What visits, purchases, adjustments and reversals write: pure functions from the program, the
//! account and the request to the ledger postings, so every rule is testable without a store.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::LoyaltyError;
use crate::customer::Account;
use crate::earning::{EarningEvent, EarningRule};
use crate::ledger::{EntryKind, LedgerEntry, Posting};
use crate::money::Currency;
use crate::program::{MAX_AMOUNT_MINOR, Program};
use crate::validation::{ValidationErrors, clean_text};

pub const MAX_TEXT_CHARS: usize = 500;
/// Largest single adjustment, either way.
pub const MAX_ADJUSTMENT_POINTS: i64 = 1_000_000_000;
/// How far in the future a client's clock may put a visit.
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// How long after the fact a visit may still be recorded (an offline till catching up).
const MAX_BACKDATE: Duration = Duration::days(7);

fn optional_text(errors: &mut ValidationErrors, field: &str, text: Option<&str>) -> Option<String> {
    text.and_then(|t| errors.check(field, clean_text(t, MAX_TEXT_CHARS)))
}

/// Sums the rules' awards of the event's own kind into its posting; milestones come after it.
fn postings_for(
    primary: EntryKind,
    rules: &[Arc<dyn EarningRule>],
    program: &Program,
    account: &Account,
    event: &EarningEvent,
) -> Result<(Posting, Vec<Posting>), LoyaltyError> {
    let mut points: i64 = 0;
    let mut extra = Vec::new();
    for rule in rules {
        for award in rule.awards(program, account, event)? {
            if award.kind == primary {
                points = points
                    .checked_add(award.points)
                    .ok_or(LoyaltyError::PointsOverflow)?;
            } else {
                extra.push(Posting::new(award.kind, award.points));
            }
        }
    }
    Ok((Posting::new(primary, points), extra))
}

pub fn plan_visit(
    program: &Program,
    rules: &[Arc<dyn EarningRule>],
    account: &Account,
    occurred_at: Option<DateTime<Utc>>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Posting>, LoyaltyError> {
    let mut errors = ValidationErrors::new();
    let note = optional_text(&mut errors, "note", note);
    let at = occurred_at.unwrap_or(now);
    if at > now + CLOCK_SKEW {
        errors.add("occurred_at", "must not be in the future");
    }
    if at < now - MAX_BACKDATE {
        errors.add("occurred_at", "must be within the last 7 days");
    }
    errors.into_result(())?;
    if let Some(last) = account.last_visit_at {
        let window = Duration::minutes(program.min_minutes_between_visits);
        let too_soon = if occurred_at.is_some() {
            // A visit dated by the till must come after the last one and its window, so
            // backdating cannot slip extra stamps past the window.
            at < last + window
        } else {
            // A visit happening now: concurrent requests may commit in another order than they
            // read the clock, so only the distance counts.
            (at - last).abs() < window
        };
        if too_soon {
            return Err(LoyaltyError::VisitTooSoon {
                next_allowed_at: last + window,
            });
        }
    }
    let visit_number = account.visits + 1;
    let event = EarningEvent::Visit { visit_number, at };
    let (mut visit, extra) = postings_for(EntryKind::Visit, rules, program, account, &event)?;
    visit.visit_number = Some(visit_number);
    visit.reason = note;
    visit.visited_at = Some(at);
    let milestones = extra.into_iter().map(|mut posting| {
        posting.visit_number = Some(visit_number);
        posting
    });
    Ok(std::iter::once(visit).chain(milestones).collect())
}

/// A purchase as the till reports it.
#[derive(Debug, Clone, Copy)]
pub struct Purchase<'a> {
    pub amount_minor: i64,
    pub currency: &'a str,
    pub reference: Option<&'a str>,
}

pub fn plan_purchase(
    program: &Program,
    rules: &[Arc<dyn EarningRule>],
    account: &Account,
    tenant_currency: &Currency,
    purchase: Purchase<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Posting>, LoyaltyError> {
    let Purchase {
        amount_minor,
        currency,
        reference,
    } = purchase;
    let mut errors = ValidationErrors::new();
    if !(1..=MAX_AMOUNT_MINOR).contains(&amount_minor) {
        errors.add(
            "amount_minor",
            format!("must be between 1 and {MAX_AMOUNT_MINOR}"),
        );
    } else if amount_minor > program.max_purchase_minor {
        errors.add(
            "amount_minor",
            format!(
                "must be at most {} (the program's max_purchase_minor)",
                program.max_purchase_minor
            ),
        );
    }
    let currency = errors.check("currency", Currency::parse(currency));
    let reference = optional_text(&mut errors, "reference", reference);
    let currency = errors.into_result(currency)?;
    if currency.as_ref() != Some(tenant_currency) {
        return Err(LoyaltyError::CurrencyMismatch {
            expected: tenant_currency.clone(),
        });
    }
    let event = EarningEvent::Purchase {
        amount_minor,
        at: now,
    };
    let (mut purchase, extra) = postings_for(EntryKind::Purchase, rules, program, account, &event)?;
    purchase.amount_minor = Some(amount_minor);
    purchase.currency = Some(tenant_currency.to_string());
    purchase.reference = reference;
    Ok(std::iter::once(purchase).chain(extra).collect())
}

pub fn plan_adjustment(
    account: &Account,
    points: i64,
    reason: &str,
    allow_negative: bool,
) -> Result<Vec<Posting>, LoyaltyError> {
    let mut errors = ValidationErrors::new();
    if points == 0 || points.abs() > MAX_ADJUSTMENT_POINTS {
        errors.add(
            "points",
            format!(
                "must be non-zero and between -{MAX_ADJUSTMENT_POINTS} and {MAX_ADJUSTMENT_POINTS}"
            ),
        );
    }
    let reason = errors.check("reason", clean_text(reason, MAX_TEXT_CHARS));
    let reason = errors.into_result(reason)?;
    let after = account
        .balance
        .checked_add(points)
        .ok_or(LoyaltyError::PointsOverflow)?;
    if after < 0 && !allow_negative {
        return Err(LoyaltyError::InsufficientPoints {
            balance: account.balance,
            requested: -points,
        });
    }
    let mut posting = Posting::new(EntryKind::Adjustment, points);
    posting.reason = reason;
    Ok(vec![posting])
}

/// A refund: takes back exactly what a purchase earned, once. The balance may go negative when
/// the points were already spent.
pub fn plan_reversal(
    original: &LedgerEntry,
    existing_reversal: Option<&LedgerEntry>,
    reason: &str,
) -> Result<Vec<Posting>, LoyaltyError> {
    let reason = clean_text(reason, MAX_TEXT_CHARS)
        .map_err(|message| ValidationErrors::single("reason", message))?;
    if original.kind != EntryKind::Purchase {
        return Err(LoyaltyError::NotReversible);
    }
    if let Some(reversal) = existing_reversal {
        return Err(LoyaltyError::AlreadyReversed {
            reversal_id: reversal.id.clone(),
        });
    }
    let mut posting = Posting::new(EntryKind::Reversal, -original.points);
    posting.reason = Some(reason);
    posting.reverses_entry_id = Some(original.id.clone());
    posting.amount_minor = original.amount_minor;
    posting.currency = original.currency.clone();
    Ok(vec![posting])
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::customer::Customer;
    use crate::earning::default_rules;
    use crate::ids::{CustomerId, LedgerEntryId};
    use crate::ledger::{Provenance, post};
    use crate::program::SpendRule;
    use crate::tenant::TenantId;

    #[derive(Debug, Clone)]
    enum Step {
        Visit,
        Purchase(i64),
        Spend(i64),
        Grant(i64),
        Refund(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Visit),
            (1i64..=1_000_000).prop_map(Step::Purchase),
            (1i64..=500).prop_map(Step::Spend),
            (1i64..=500).prop_map(Step::Grant),
            (0usize..50).prop_map(Step::Refund),
        ]
    }

    fn program() -> impl Strategy<Value = Program> {
        (1i64..=10, 0i64..=50, 0i64..=10, 1i64..=5_000, 0i64..=2_000).prop_map(
            |(
                visits_per_reward,
                points_per_visit,
                points,
                per_amount_minor,
                min_purchase_minor,
            )| Program {
                visits_per_reward,
                points_per_visit,
                spend_rule: SpendRule {
                    points,
                    per_amount_minor,
                },
                min_purchase_minor,
                min_minutes_between_visits: 0,
                ..Program::default()
            },
        )
    }

    fn customer() -> Customer {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        Customer {
            id: CustomerId::generate(),
            tenant_id: TenantId::parse("t").unwrap(),
            name: None,
            phone: None,
            email: None,
            external_id: Some("x".into()),
            card_token: "token".into(),
            account: Account::default(),
            tier: Default::default(),
            created_at: at,
            updated_at: at,
            erased_at: None,
        }
    }

    proptest! {
        /// Any sequence of counter operations keeps the ledger and the account in step: the
        /// balance is the sum of the entries, never negative without an explicit allowance,
        /// one milestone per completed card, and a refund undoes exactly its purchase, once.
        #[test]
        fn ledger_and_account_stay_in_step(program in program(), steps in prop::collection::vec(step(), 1..60)) {
            let rules = default_rules();
            let currency = Currency::parse("EUR").unwrap();
            let mut customer = customer();
            let mut ledger: Vec<LedgerEntry> = Vec::new();
            let mut reversed: Vec<LedgerEntryId> = Vec::new();
            for (n, step) in steps.into_iter().enumerate() {
                let now = Utc.timestamp_opt(1_700_000_000 + n as i64 * 3600, 0).unwrap();
                let account = customer.account;
                let planned = match step {
                    Step::Visit => plan_visit(&program, &rules, &account, None, None, now),
                    Step::Purchase(amount_minor) => plan_purchase(
                        &program, &rules, &account, &currency,
                        Purchase { amount_minor, currency: "eur", reference: None }, now,
                    ),
                    Step::Spend(points) => plan_adjustment(&account, -points, "spend", false),
                    Step::Grant(points) => plan_adjustment(&account, points, "grant", false),
                    Step::Refund(pick) => {
                        let purchases: Vec<&LedgerEntry> = ledger.iter().filter(|e| e.kind == EntryKind::Purchase).collect();
                        let Some(original) = purchases.get(pick % purchases.len().max(1)).copied() else { continue };
                        let existing = ledger.iter().find(|e| e.reverses_entry_id.as_ref() == Some(&original.id));
                        let planned = plan_reversal(original, existing, "refund");
                        if existing.is_some() {
                            let already = matches!(planned, Err(LoyaltyError::AlreadyReversed { .. }));
                            prop_assert!(already, "a second refund is refused");
                        } else {
                            reversed.push(original.id.clone());
                        }
                        planned
                    }
                };
                let Ok(postings) = planned else {
                    if let Err(LoyaltyError::InsufficientPoints { balance, requested }) = planned {
                        prop_assert!(balance < requested);
                    }
                    prop_assert_eq!(customer.account, account, "a refusal changes nothing");
                    continue;
                };
                let provenance = Provenance { actor_key_id: "k".into(), request_id: None, at: now };
                ledger.extend(post(&mut customer, postings, &provenance).unwrap());
                let sum: i64 = ledger.iter().map(|e| e.points).sum();
                prop_assert_eq!(customer.account.balance, sum);
                prop_assert_eq!(ledger.last().unwrap().balance_after, sum);
                prop_assert!(customer.account.lifetime_points >= 0);
            }
            let visits = ledger.iter().filter(|e| e.kind == EntryKind::Visit).count() as i64;
            let milestones = ledger.iter().filter(|e| e.kind == EntryKind::Milestone).count() as i64;
            prop_assert_eq!(customer.account.visits, visits);
            prop_assert_eq!(milestones, visits / program.visits_per_reward);
            for id in reversed {
                let original = ledger.iter().find(|e| e.id == id).unwrap();
                let refunds: Vec<&LedgerEntry> = ledger.iter().filter(|e| e.reverses_entry_id.as_ref() == Some(&id)).collect();
                prop_assert_eq!(refunds.len(), 1);
                prop_assert_eq!(refunds[0].points, -original.points);
            }
            // Purchases earn the spend rule's floor, never a fraction (no tiers here).
            for entry in ledger.iter().filter(|e| e.kind == EntryKind::Purchase) {
                prop_assert_eq!(entry.points, program.spend_points(entry.amount_minor.unwrap()));
            }
        }
    }

    #[test]
    fn the_anti_fraud_window_refuses_quick_repeat_visits() {
        let program = Program {
            min_minutes_between_visits: 30,
            ..Program::default()
        };
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let account = Account {
            last_visit_at: Some(now - Duration::minutes(29)),
            ..Account::default()
        };
        let refused = plan_visit(&program, &default_rules(), &account, None, None, now);
        assert!(
            matches!(refused, Err(LoyaltyError::VisitTooSoon { next_allowed_at }) if next_allowed_at == now + Duration::minutes(1))
        );
        let account = Account {
            last_visit_at: Some(now - Duration::minutes(30)),
            ..account
        };
        assert!(plan_visit(&program, &default_rules(), &account, None, None, now).is_ok());
        // Backdating before the last visit does not get around the window.
        let backdated = Some(now - Duration::minutes(61));
        let refused = plan_visit(&program, &default_rules(), &account, backdated, None, now);
        assert!(matches!(refused, Err(LoyaltyError::VisitTooSoon { .. })));
        let too_old = Some(now - Duration::days(8));
        let fresh = Account::default();
        assert!(matches!(
            plan_visit(&program, &default_rules(), &fresh, too_old, None, now),
            Err(LoyaltyError::Invalid(_))
        ));
    }
}

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
    for award in rules
        .iter()
        .flat_map(|rule| rule.awards(program, account, event))
    {
        if award.kind == primary {
            points = points
                .checked_add(award.points)
                .ok_or(LoyaltyError::PointsOverflow)?;
        } else {
            extra.push(Posting::new(award.kind, award.points));
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
    errors.into_result(())?;
    if let Some(last) = account.last_visit_at {
        let window = Duration::minutes(program.min_minutes_between_visits);
        if (at - last).abs() < window {
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

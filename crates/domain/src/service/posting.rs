//! The one way a balance changes: postings become ledger entries, the customer's point lots move
//! with them, and the account is written, all in the caller's transaction.
//!
//! Every use case that changes points (a visit, a purchase, an adjustment, a reversal, spending on
//! a voucher, a voucher's refund, points expiring) calls [`post_to_account`] and nothing else, so
//! the invariants are checked in one place: the balance moves by exactly the entries' points (the
//! balance equals the sum of the ledger), spending never overdraws it, and the open lots add up
//! to it afterwards.
//!
//! Points past their expiry are never spendable, whether or not the sweep has reached them yet:
//! every posting first records the expiry of the customer's lots that are due, and reads show the
//! balance without them ([`customer_as_of`]).

use std::collections::HashMap;

use crate::LoyaltyError;
use crate::customer::Customer;
use crate::ids::{CustomerId, LedgerEntryId};
use chrono::{DateTime, Utc};

use super::outbox::Outbox;
use super::tenant_of;
use crate::events::EventType;
use crate::ledger::{EntryKind, LedgerEntry, Posting, Provenance, post};
use crate::local_time::TimeZone;
use crate::lots::{Draw, Lot, LotBook, points_due};
use crate::program::Program;
use crate::store::UnitOfWork;
use crate::tenant::TenantId;

/// Who the ledger names for points that expired: the sweep, or a change that found them due.
const EXPIRY_ACTOR: &str = "system:expiry";

/// The provenance of changes the service makes on its own (expiries), at `at`.
pub(super) fn expiry_provenance(at: DateTime<Utc>) -> Provenance {
    Provenance {
        actor_key_id: EXPIRY_ACTOR.to_owned(),
        request_id: None,
        at,
    }
}

/// Posts `postings` in order to `customer`, who must be locked in this transaction: first records
/// the expiry of points that are due at the provenance's time, then appends the entries, books
/// them on the lots, checks the lots against the balance, writes the account and the events of
/// the entries (and `tier.changed` when the tier moved). Returns the entries of `postings` as
/// written.
pub(super) fn post_to_account(
    uow: &mut dyn UnitOfWork,
    outbox: Outbox<'_>,
    program: &Program,
    customer: &mut Customer,
    postings: Vec<Posting>,
    provenance: &Provenance,
) -> Result<Vec<LedgerEntry>, LoyaltyError> {
    Ok(post_after_expiry(uow, outbox, program, customer, postings, provenance)?.1)
}

/// Records the expiry of the customer's points that are due at `now` (the customer locked in this
/// transaction); returns the points that expired.
pub(super) fn expire_due_points(
    uow: &mut dyn UnitOfWork,
    outbox: Outbox<'_>,
    program: &Program,
    customer: &mut Customer,
    now: DateTime<Utc>,
) -> Result<i64, LoyaltyError> {
    let provenance = expiry_provenance(now);
    Ok(post_after_expiry(uow, outbox, program, customer, Vec::new(), &provenance)?.0)
}

/// The customer as a read at `now` shows them: points whose lots have expired leave the balance
/// at once, before the sweep or the customer's next change records their expiry.
/// It reads the lots, so the caller reads the customer in the same snapshot (a transaction).
pub(super) fn customer_as_of(
    uow: &mut dyn UnitOfWork,
    mut customer: Customer,
    now: DateTime<Utc>,
) -> Result<Customer, LoyaltyError> {
    if may_have_expired_points(&customer, now) {
        let due = points_due(&uow.open_lots(&customer.tenant_id, &customer.id)?, now);
        customer.account.balance -= due;
    }
    Ok(customer)
}

/// Whether some of the customer's balance may be past its expiry at `now`, as far as the account
/// knows without reading the lots.
pub(super) fn may_have_expired_points(customer: &Customer, now: DateTime<Utc>) -> bool {
    customer
        .account
        .points_expire_next_at
        .is_some_and(|at| at <= now)
}

/// Posts an expiry entry for the points due at the provenance's time, if any, then `postings`;
/// returns the points expired and the entries of `postings`.
fn post_after_expiry(
    uow: &mut dyn UnitOfWork,
    outbox: Outbox<'_>,
    program: &Program,
    customer: &mut Customer,
    postings: Vec<Posting>,
    provenance: &Provenance,
) -> Result<(i64, Vec<LedgerEntry>), LoyaltyError> {
    let at = provenance.at;
    let lots = uow.open_lots(&customer.tenant_id, &customer.id)?;
    let due = points_due(&lots, at);
    if due == 0 && postings.is_empty() {
        return Ok((0, Vec::new()));
    }
    let tier_before = program.standing(customer.account.lifetime_points).tier;
    let mut entries = Vec::with_capacity(postings.len() + 1);
    if due > 0 {
        let expiry = Posting::new(EntryKind::Expiry, -due);
        entries.extend(post(customer, vec![expiry], &expiry_provenance(at))?);
    }
    let expired = entries.len();
    entries.extend(post(customer, postings, provenance)?);
    for entry in &entries {
        uow.append_entry(entry)?;
    }
    let zone = expiry_zone(uow, &customer.tenant_id, program)?;
    let book = book_entries(
        uow,
        &customer.tenant_id,
        &customer.id,
        program,
        zone,
        lots,
        &entries,
    )?;
    if book.total() != customer.account.balance {
        return Err(LoyaltyError::LotsOutOfStep {
            balance: customer.account.balance,
            lots: book.total(),
        });
    }
    customer.account.points_expire_next_at = book.next_expiry();
    uow.update_customer(customer)?;
    for entry in &entries {
        outbox.entry(uow, entry)?;
    }
    let standing = program.standing(customer.account.lifetime_points);
    if standing.tier != tier_before {
        let changed = customer.clone().standing_under(program);
        outbox.customer(uow, EventType::TierChanged, &changed, at)?;
    }
    Ok((due, entries.split_off(expired)))
}

/// The time zone whose days the program's points expire by: the tenant's, read only when the
/// program's points expire at all.
fn expiry_zone(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    program: &Program,
) -> Result<TimeZone, LoyaltyError> {
    if program.points_expire_after_days.is_none() {
        return Ok(TimeZone::default());
    }
    Ok(tenant_of(uow, tenant)?.time_zone)
}

/// Applies `entries` (already on the ledger, in order) to the customer's open `lots`, writes the
/// lots back and returns them: earnings become lots expiring per `program`, spending draws from the
/// soonest-expiring lots (a reversal from its purchase's own lot first), a voucher's refund goes
/// back to the lots its spending drew from, and expiry empties the lots that are due. Days end at
/// midnight in `zone`.
fn book_entries(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    customer_id: &CustomerId,
    program: &Program,
    zone: TimeZone,
    mut lots: Vec<Lot>,
    entries: &[LedgerEntry],
) -> Result<LotBook, LoyaltyError> {
    let refund_draws = draws_to_restore(uow, tenant, entries, &mut lots)?;
    let before = lots.clone();
    let mut book = LotBook::new(lots);
    for entry in entries {
        let at = entry.created_at;
        match entry.kind {
            EntryKind::Refund => {
                let draws = refund_draws.get(&entry.id).map_or(&[][..], Vec::as_slice);
                book.restore(draws, entry.points, &entry.id, at);
            }
            EntryKind::Reversal => {
                // The refunded purchase's points went to the lot expiring when they would.
                let original = match &entry.reverses_entry_id {
                    Some(id) => uow.entry(tenant, id)?,
                    None => None,
                };
                let prefer =
                    original.map(|purchase| program.points_expiry(purchase.created_at, zone));
                book.debit(-entry.points, prefer, &entry.id, at);
            }
            EntryKind::Expiry => {
                let expired = book.expire(at);
                if expired != -entry.points {
                    return Err(LoyaltyError::LotsOutOfStep {
                        balance: -entry.points,
                        lots: expired,
                    });
                }
            }
            _ if entry.points > 0 => {
                book.credit(entry.points, &entry.id, at, program.points_expiry(at, zone));
            }
            _ if entry.points < 0 => {
                let draws = book.debit(-entry.points, None, &entry.id, at);
                if entry.kind == EntryKind::Redemption {
                    uow.insert_draws(tenant, &entry.id, &draws)?;
                }
            }
            _ => {}
        }
    }
    write_back(uow, tenant, customer_id, &before, book.lots())?;
    Ok(book)
}

/// For each refund among `entries`, the draws its voucher's spending took; lots they drew from
/// that are empty now are added to `lots`, so the refund can fill them again.
fn draws_to_restore(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    entries: &[LedgerEntry],
    lots: &mut Vec<Lot>,
) -> Result<HashMap<LedgerEntryId, Vec<Draw>>, LoyaltyError> {
    let mut refund_draws = HashMap::new();
    for refund in entries.iter().filter(|e| e.kind == EntryKind::Refund) {
        let Some(voucher_id) = &refund.voucher_id else {
            continue;
        };
        let Some(spending) = uow.redemption_entry(tenant, voucher_id)? else {
            continue;
        };
        let draws = uow.draws_of(tenant, &spending.id)?;
        let missing: Vec<_> = draws
            .iter()
            .filter(|d| !lots.iter().any(|lot| lot.id == d.lot_id))
            .map(|d| d.lot_id.clone())
            .collect();
        lots.extend(uow.lots_by_id(tenant, &missing)?);
        refund_draws.insert(refund.id.clone(), draws);
    }
    Ok(refund_draws)
}

/// Inserts new lots and updates those whose remainder changed.
fn write_back(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    customer_id: &CustomerId,
    before: &[Lot],
    after: &[Lot],
) -> Result<(), LoyaltyError> {
    for lot in after {
        match before.iter().find(|old| old.id == lot.id) {
            Some(old) if old.remaining != lot.remaining => uow.update_lot(tenant, lot)?,
            Some(_) => {}
            None => uow.insert_lot(tenant, customer_id, lot)?,
        }
    }
    Ok(())
}

//! The one way a balance changes: postings become ledger entries, the customer's point lots move
//! with them, and the account is written, all in the caller's transaction.
//!
//! Every use case that changes points (a visit, a purchase, an adjustment, a reversal, spending on
//! a voucher, a voucher's refund, points expiring) calls [`post_to_account`] and nothing else, so
//! the invariants are checked in one place: the balance moves by exactly the entries' points (the
//! balance equals the sum of the ledger), spending never overdraws it, and the open lots add up
//! to it afterwards.

use std::collections::HashMap;

use crate::LoyaltyError;
use crate::customer::Customer;
use crate::ids::{CustomerId, LedgerEntryId};
use crate::ledger::{EntryKind, LedgerEntry, Posting, Provenance, post};
use crate::lots::{Draw, Lot, LotBook};
use crate::program::Program;
use crate::store::UnitOfWork;
use crate::tenant::TenantId;

/// Posts `postings` in order to `customer`, who must be locked in this transaction: appends the
/// entries, books them on the lots, checks the lots against the balance and writes the account.
/// Returns the entries as written.
pub(super) fn post_to_account(
    uow: &mut dyn UnitOfWork,
    program: &Program,
    customer: &mut Customer,
    postings: Vec<Posting>,
    provenance: &Provenance,
) -> Result<Vec<LedgerEntry>, LoyaltyError> {
    let entries = post(customer, postings, provenance)?;
    for entry in &entries {
        uow.append_entry(entry)?;
    }
    let lots_total = book_entries(uow, &customer.tenant_id, &customer.id, program, &entries)?;
    if lots_total != customer.account.balance {
        return Err(LoyaltyError::LotsOutOfStep {
            balance: customer.account.balance,
            lots: lots_total,
        });
    }
    uow.update_customer(customer)?;
    Ok(entries)
}

/// Applies `entries` (already on the ledger, in order) to the customer's lots and returns what the
/// lots hold afterwards: earnings become lots expiring per `program`, spending draws from the
/// soonest-expiring lots (a reversal from its purchase's own lot first), a voucher's refund goes
/// back to the lots its spending drew from, and expiry empties the lots that are due.
fn book_entries(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    customer_id: &CustomerId,
    program: &Program,
    entries: &[LedgerEntry],
) -> Result<i64, LoyaltyError> {
    let mut lots = uow.open_lots(tenant, customer_id)?;
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
                let prefer = original.map(|purchase| program.points_expiry(purchase.created_at));
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
                book.credit(entry.points, &entry.id, at, program.points_expiry(at));
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
    Ok(book.total())
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

//! Keeping a customer's point lots in step with the ledger entries a use case posts.

use std::collections::HashMap;

use crate::LoyaltyError;
use crate::ledger::{EntryKind, LedgerEntry};
use crate::lots::{Draw, Lot, LotBook};
use crate::program::Program;
use crate::store::UnitOfWork;
use crate::tenant::TenantId;

/// Applies `entries` (already on the ledger, in order) to the customer's lots: earnings become
/// lots expiring per `program`, spending draws from the soonest-expiring lots (a reversal from its
/// purchase's own lot first), a voucher's refund goes back to the lots its spending drew from.
pub(super) fn book_entries(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    customer_id: &str,
    program: &Program,
    entries: &[LedgerEntry],
) -> Result<(), LoyaltyError> {
    let mut lots = uow.open_lots(tenant, customer_id)?;
    let mut refund_draws: HashMap<&str, Vec<Draw>> = HashMap::new();
    for refund in entries.iter().filter(|e| e.kind == EntryKind::Refund) {
        let Some(redemption_id) = &refund.redemption_id else {
            continue;
        };
        let Some(spending) = uow.redemption_entry(tenant, redemption_id)? else {
            continue;
        };
        let draws = uow.draws_of(tenant, &spending.id)?;
        let missing: Vec<String> = draws
            .iter()
            .filter(|d| !lots.iter().any(|lot| lot.id == d.lot_id))
            .map(|d| d.lot_id.clone())
            .collect();
        lots.extend(uow.lots_by_id(tenant, &missing)?);
        refund_draws.insert(&refund.id, draws);
    }
    let before = lots.clone();
    let mut book = LotBook::new(lots);
    for entry in entries {
        let at = entry.created_at;
        match entry.kind {
            EntryKind::Refund => {
                let draws = refund_draws
                    .get(entry.id.as_str())
                    .map_or(&[][..], Vec::as_slice);
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
            // The expiry sweep empties the lots itself.
            EntryKind::Expiry => {}
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
    write_back(uow, tenant, customer_id, &before, book.lots())
}

/// Inserts new lots and updates those whose remainder changed.
pub(super) fn write_back(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    customer_id: &str,
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

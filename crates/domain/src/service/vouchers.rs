//! Vouchers: redeeming points for one, issuing one for a completed stamp card, fulfilling it at
//! the counter exactly once, cancelling it, and reading them.

use chrono::{DateTime, Utc};

use super::outbox::Outbox;
use super::posting::{customer_as_of, post_to_account};
use super::{Caller, Loyalty, lock_customer, lock_live_customer, program_of};
use crate::LoyaltyError;
use crate::audit::{AuditAction, AuditEntry, changes};
use crate::auth::{Principal, Role};
use crate::customer::Customer;
use crate::error::Resource;
use crate::idempotency::{Idempotent, Outcome};
use crate::ids::{CustomerId, RewardId, VoucherId};
use crate::ledger::{EntryKind, Posting, Provenance};
use crate::page::{Page, PageRequest};
use crate::store::{UnitOfWork, VoucherFilter, VoucherLookup, reading};
use crate::tenant::TenantId;
use crate::validation::could_be_stored;
use crate::voucher::{Voucher, VoucherStatus, issue, normalize_code};

/// A voucher just bought with points, with the account it was paid from.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub voucher: Voucher,
    pub customer: Customer,
}

/// A cancelled voucher, with the account its points went back to.
#[derive(Debug, Clone)]
pub struct Cancelled {
    pub voucher: Voucher,
    pub customer: Customer,
}

/// The voucher as a reader should see it at `now`: an issued voucher past its expiry reads
/// expired even before the sweep marks it.
pub(super) fn as_of(mut voucher: Voucher, now: DateTime<Utc>) -> Voucher {
    voucher.status = voucher.status_at(now);
    voucher
}

/// Gives a stock item back to the reward, if it counts stock.
fn restock(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    reward_id: &RewardId,
) -> Result<(), LoyaltyError> {
    if let Some(mut reward) = uow.reward_for_update(tenant, reward_id)?
        && let Some(stock) = reward.stock
    {
        reward.stock = Some(stock + 1);
        uow.update_reward(&reward)?;
    }
    Ok(())
}

/// Closes `voucher` as `status` and restores its stock item. A cancelled voucher gives its points
/// back, an expired one where the program says so: then the refund is posted and the account it
/// went to is returned.
pub(super) fn close_and_refund(
    uow: &mut dyn UnitOfWork,
    outbox: Outbox<'_>,
    voucher: &mut Voucher,
    status: VoucherStatus,
    provenance: &Provenance,
) -> Result<Option<Customer>, LoyaltyError> {
    let program = program_of(uow, &voucher.tenant_id)?;
    let refund = match status {
        VoucherStatus::Cancelled => true,
        VoucherStatus::Expired => program.refund_expired_vouchers,
        VoucherStatus::Issued | VoucherStatus::Fulfilled => false,
    };
    voucher.status = status;
    voucher.closed_at = Some(provenance.at);
    uow.update_voucher(voucher)?;
    // Locks are taken in one order everywhere (voucher, customer, reward) so that concurrent
    // redemptions and cancellations cannot deadlock.
    let refunded = if refund && voucher.points_spent > 0 {
        let mut customer = lock_customer(uow, &voucher.tenant_id, &voucher.customer_id)?;
        // Written under the customer's lock, so it takes its place among the customer's events
        // in the order the changes commit.
        outbox.voucher(uow, voucher, provenance.at)?;
        let mut posting = Posting::new(EntryKind::Refund, voucher.points_spent);
        posting.voucher_id = Some(voucher.id.clone());
        post_to_account(
            uow,
            outbox,
            &program,
            &mut customer,
            vec![posting],
            provenance,
        )?;
        // Points given back to lots that have expired since are due again at once.
        Some(customer_as_of(uow, customer, provenance.at)?.standing_under(&program))
    } else {
        outbox.voucher(uow, voucher, provenance.at)?;
        None
    };
    restock(uow, &voucher.tenant_id, &voucher.reward_id)?;
    Ok(refunded)
}

impl Loyalty {
    /// Spends a customer's points on a reward: one transaction deducts the points, takes an item
    /// from stock and issues the voucher.
    pub fn redeem(
        &self,
        caller: &Caller<'_>,
        customer_id: &CustomerId,
        reward_id: &RewardId,
        idempotent: Option<Idempotent<'_, Redeemed>>,
    ) -> Result<Outcome<Redeemed>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(caller.principal, tenant, idempotent, |uow| {
            let mut customer = lock_live_customer(uow, tenant, customer_id)?;
            let mut reward = uow
                .reward_for_update(tenant, reward_id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))?;
            if !reward.active {
                return Err(LoyaltyError::RewardInactive);
            }
            if reward.stock == Some(0) {
                return Err(LoyaltyError::OutOfStock);
            }
            if let Some(stock) = reward.stock {
                reward.stock = Some(stock - 1);
                uow.update_reward(&reward)?;
            }
            let voucher = issue(&reward, &customer.id, reward.cost_points, None, now)?;
            uow.insert_voucher(&voucher)?;
            self.outbox().voucher(uow, &voucher, now)?;
            // Spending refuses what the balance cannot cover once points past their expiry have
            // left it; the transaction then takes back the stock and the voucher above.
            let mut posting = Posting::new(EntryKind::Redemption, -reward.cost_points);
            posting.voucher_id = Some(voucher.id.clone());
            let program = program_of(uow, tenant)?;
            post_to_account(
                uow,
                self.outbox(),
                &program,
                &mut customer,
                vec![posting],
                &caller.provenance(now),
            )?;
            Ok(Redeemed {
                voucher,
                customer: customer.standing_under(&program),
            })
        })
    }

    /// The free voucher a completed stamp card earns, inside the visit's transaction. None when
    /// the reward is inactive or out of stock: the milestone stays on the ledger either way.
    pub(super) fn issue_milestone_voucher(
        &self,
        uow: &mut dyn UnitOfWork,
        tenant: &TenantId,
        reward_id: &RewardId,
        customer_id: &CustomerId,
        visit_number: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Option<Voucher>, LoyaltyError> {
        let Some(mut reward) = uow.reward_for_update(tenant, reward_id)? else {
            return Ok(None);
        };
        if !reward.active {
            return Ok(None);
        }
        match reward.stock {
            Some(0) => return Ok(None),
            Some(stock) => {
                reward.stock = Some(stock - 1);
                uow.update_reward(&reward)?;
            }
            None => {}
        }
        let voucher = issue(&reward, customer_id, 0, visit_number, now)?;
        uow.insert_voucher(&voucher)?;
        self.outbox().voucher(uow, &voucher, now)?;
        Ok(Some(voucher))
    }

    /// Fulfils a voucher at the counter, exactly once; the clock decides expiry, whether or not a
    /// sweep has run.
    pub fn fulfil(
        &self,
        caller: &Principal,
        lookup: VoucherLookup,
        idempotent: Option<Idempotent<'_, Voucher>>,
    ) -> Result<Outcome<Voucher>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let lookup = match lookup {
            VoucherLookup::Code(code) => VoucherLookup::Code(normalize_code(&code)),
            other => other,
        };
        let (VoucherLookup::Code(text) | VoucherLookup::QrPayload(text)) = &lookup;
        if !could_be_stored(text) {
            return Err(LoyaltyError::NotFound(Resource::Voucher));
        }
        let now = self.now();
        self.idempotently(caller, tenant, idempotent, |uow| {
            let found = uow
                .find_voucher(tenant, &lookup)?
                .ok_or(LoyaltyError::NotFound(Resource::Voucher))?;
            let mut voucher = uow
                .voucher_for_update(tenant, &found.id)?
                .ok_or(LoyaltyError::NotFound(Resource::Voucher))?;
            voucher.ensure_open(now)?;
            let before = voucher.clone();
            voucher.status = VoucherStatus::Fulfilled;
            voucher.closed_at = Some(now);
            voucher.fulfilled_by_key_id = Some(caller.key_id.clone());
            uow.update_voucher(&voucher)?;
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::VoucherFulfilled,
                voucher.id.as_str(),
                changes(Some(&before), Some(&voucher)),
                now,
            );
            uow.append_audit(&entry)?;
            self.outbox().voucher(uow, &voucher, now)?;
            Ok(voucher.as_seen_by(caller.role))
        })
    }

    /// Cancels an open voucher: its points come back once, as a refund entry, and its stock item
    /// returns to the reward.
    pub fn cancel_voucher(
        &self,
        caller: &Caller<'_>,
        id: &VoucherId,
        idempotent: Option<Idempotent<'_, Cancelled>>,
    ) -> Result<Outcome<Cancelled>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(caller.principal, tenant, idempotent, |uow| {
            let mut voucher = uow
                .voucher_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Voucher))?;
            voucher.ensure_open(now)?;
            let before = voucher.clone();
            let refunded_to = close_and_refund(
                uow,
                self.outbox(),
                &mut voucher,
                VoucherStatus::Cancelled,
                &caller.provenance(now),
            )?;
            let entry = AuditEntry::new(
                tenant,
                caller.principal,
                AuditAction::VoucherCancelled,
                voucher.id.as_str(),
                changes(Some(&before), Some(&voucher)),
                now,
            )
            .with_request(caller.request_id.clone());
            uow.append_audit(&entry)?;
            // A free (milestone) voucher refunds nothing: its account is read as it is, locked,
            // so an erasure cannot commit between this read and the stored answer.
            let customer = match refunded_to {
                Some(customer) => customer,
                None => {
                    let customer = lock_customer(uow, tenant, &voucher.customer_id)?;
                    customer_as_of(uow, customer, now)?.standing_under(&program_of(uow, tenant)?)
                }
            };
            Ok(Cancelled {
                voucher: voucher.as_seen_by(caller.principal.role),
                customer,
            })
        })
    }

    pub fn vouchers(
        &self,
        caller: &Principal,
        filter: &VoucherFilter,
        page: &PageRequest,
    ) -> Result<Page<Voucher>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        let page = self.page(page, |uow| Ok(uow.vouchers(tenant, filter, now, page)?))?;
        Ok(page.map(|voucher| as_of(voucher, now).as_seen_by(caller.role)))
    }

    pub fn voucher(&self, caller: &Principal, id: &VoucherId) -> Result<Voucher, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let voucher = uow
                .voucher(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Voucher))?;
            Ok(as_of(voucher, now).as_seen_by(caller.role))
        })
    }
}

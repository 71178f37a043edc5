//! Rewards and vouchers: the catalog, spending points on a voucher, fulfilling it at the counter
//! exactly once, cancelling it, and expiring it.

use chrono::{DateTime, Utc};

use super::{Caller, Loyalty, lots, program_of};
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::customer::Customer;
use crate::error::Resource;
use crate::idempotency::{Idempotent, Outcome};
use crate::ledger::{EntryKind, Posting, Provenance, post};
use crate::page::{Page, PageRequest};
use crate::program::Program;
use crate::redemption::{Redemption, RedemptionStatus, issue, normalize_code};
use crate::rewards::{NewReward, Reward, RewardChanges};
use crate::store::{RedemptionFilter, UnitOfWork, VoucherLookup, reading, within};
use crate::tenant::TenantId;

/// The actor recorded on ledger entries the expiry sweep writes.
pub const SWEEP_ACTOR: &str = "system:expiry";
/// Vouchers the sweep handles per batch, each in its own transaction.
const SWEEP_BATCH: i64 = 100;

/// A voucher just bought with points, with the account it was paid from.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub redemption: Redemption,
    pub customer: Customer,
}

/// A cancelled voucher, with the account its points went back to.
#[derive(Debug, Clone)]
pub struct Cancelled {
    pub redemption: Redemption,
    pub customer: Customer,
}

/// What one expiry sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Vouchers that expired.
    pub expired: u64,
    /// Points their refunds gave back.
    pub refunded_points: i64,
    /// Earned points that expired unspent.
    pub expired_points: i64,
}

/// The voucher as a reader should see it at `now`: an issued voucher past its expiry reads
/// expired even before the sweep marks it.
fn as_of(mut voucher: Redemption, now: DateTime<Utc>) -> Redemption {
    voucher.status = voucher.status_at(now);
    voucher
}

/// Gives a stock item back to the reward, if it counts stock.
fn restock(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    reward_id: &str,
) -> Result<(), LoyaltyError> {
    if let Some(mut reward) = uow.reward_for_update(tenant, reward_id)?
        && let Some(stock) = reward.stock
    {
        reward.stock = Some(stock + 1);
        uow.update_reward(&reward)?;
    }
    Ok(())
}

/// Posts `postings` to the customer's locked account and writes the result.
fn post_to_customer(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    program: &Program,
    customer_id: &str,
    postings: Vec<Posting>,
    provenance: &Provenance,
) -> Result<Customer, LoyaltyError> {
    let mut customer = uow
        .customer_for_update(tenant, customer_id)?
        .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
    let entries = post(&mut customer, postings, provenance)?;
    for entry in &entries {
        uow.append_entry(entry)?;
    }
    lots::book_entries(uow, tenant, customer_id, program, &entries)?;
    uow.update_customer(&customer)?;
    Ok(customer.standing_under(program))
}

/// Closes `voucher` as `status`; when it gives points back, posts the refund and returns the
/// account it went to. Restores stock.
fn close_and_refund(
    uow: &mut dyn UnitOfWork,
    program: &Program,
    voucher: &mut Redemption,
    status: RedemptionStatus,
    refund: bool,
    provenance: &Provenance,
) -> Result<Option<Customer>, LoyaltyError> {
    voucher.status = status;
    voucher.closed_at = Some(provenance.at);
    uow.update_redemption(voucher)?;
    // Locks are taken in one order everywhere (voucher, customer, reward) so that concurrent
    // redemptions and cancellations cannot deadlock.
    let refunded = if refund && voucher.points_spent > 0 {
        let mut posting = Posting::new(EntryKind::Refund, voucher.points_spent);
        posting.redemption_id = Some(voucher.id.clone());
        Some(post_to_customer(
            uow,
            &voucher.tenant_id,
            program,
            &voucher.customer_id,
            vec![posting],
            provenance,
        )?)
    } else {
        None
    };
    restock(uow, &voucher.tenant_id, &voucher.reward_id)?;
    Ok(refunded)
}

impl Loyalty {
    // --- Catalog ------------------------------------------------------------------------------

    pub fn create_reward(
        &self,
        caller: &Principal,
        new: NewReward,
    ) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let reward = new.validate(tenant, self.now())?;
        within(self.store.as_ref(), |uow| {
            uow.insert_reward(&reward)?;
            Ok(reward.clone())
        })
    }

    pub fn rewards(
        &self,
        caller: &Principal,
        active: Option<bool>,
        page: &PageRequest,
    ) -> Result<Page<Reward>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        self.page(
            page,
            |r: &Reward| &r.id,
            |uow| Ok(uow.rewards(tenant, active, page)?),
        )
    }

    pub fn reward(&self, caller: &Principal, id: &str) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        reading(self.store.as_ref(), |uow| {
            uow.reward(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))
        })
    }

    /// Changes a reward; deactivating stops new redemptions, not vouchers already issued.
    pub fn update_reward(
        &self,
        caller: &Principal,
        id: &str,
        changes: RewardChanges,
    ) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let reward = uow
                .reward_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))?;
            let reward = changes.clone().apply(reward, now)?;
            uow.update_reward(&reward)?;
            Ok(reward)
        })
    }

    // --- Vouchers -----------------------------------------------------------------------------

    /// Spends a customer's points on a reward: one transaction deducts the points, takes an item
    /// from stock and issues the voucher.
    pub fn redeem(
        &self,
        caller: &Caller<'_>,
        customer_id: &str,
        reward_id: &str,
        idempotent: Option<Idempotent<'_, Redeemed>>,
    ) -> Result<Outcome<Redeemed>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let mut customer = uow
                .customer_for_update(tenant, customer_id)?
                .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
            let mut reward = uow
                .reward_for_update(tenant, reward_id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))?;
            if !reward.active {
                return Err(LoyaltyError::RewardInactive);
            }
            if reward.stock == Some(0) {
                return Err(LoyaltyError::OutOfStock);
            }
            if customer.account.balance < reward.cost_points {
                return Err(LoyaltyError::InsufficientPoints {
                    balance: customer.account.balance,
                    requested: reward.cost_points,
                });
            }
            if let Some(stock) = reward.stock {
                reward.stock = Some(stock - 1);
                uow.update_reward(&reward)?;
            }
            let redemption = issue(&reward, &customer.id, reward.cost_points, None, now)?;
            uow.insert_redemption(&redemption)?;
            let mut posting = Posting::new(EntryKind::Redemption, -reward.cost_points);
            posting.redemption_id = Some(redemption.id.clone());
            let provenance = Provenance {
                actor_key_id: caller.principal.key_id.clone(),
                request_id: caller.request_id.clone(),
                at: now,
            };
            let entries = post(&mut customer, vec![posting], &provenance)?;
            for entry in &entries {
                uow.append_entry(entry)?;
            }
            let program = program_of(uow, tenant)?;
            lots::book_entries(uow, tenant, &customer.id, &program, &entries)?;
            uow.update_customer(&customer)?;
            let customer = customer.standing_under(&program);
            Ok(Redeemed {
                redemption,
                customer,
            })
        })
    }

    /// The free voucher a completed stamp card earns, inside the visit's transaction. None when
    /// the reward is inactive or out of stock: the milestone stays on the ledger either way.
    pub(super) fn issue_milestone_voucher(
        &self,
        uow: &mut dyn UnitOfWork,
        tenant: &TenantId,
        reward_id: &str,
        customer_id: &str,
        visit_number: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Option<Redemption>, LoyaltyError> {
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
        uow.insert_redemption(&voucher)?;
        Ok(Some(voucher))
    }

    /// Redeems a voucher at the counter, exactly once; the clock decides expiry, whether or not a
    /// sweep has run.
    pub fn fulfil(
        &self,
        caller: &Principal,
        lookup: VoucherLookup,
        idempotent: Option<Idempotent<'_, Redemption>>,
    ) -> Result<Outcome<Redemption>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let lookup = match lookup {
            VoucherLookup::Code(code) => VoucherLookup::Code(normalize_code(&code)),
            other => other,
        };
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let found = uow
                .find_voucher(tenant, &lookup)?
                .ok_or(LoyaltyError::NotFound(Resource::Redemption))?;
            let mut voucher = uow
                .redemption_for_update(tenant, &found.id)?
                .ok_or(LoyaltyError::NotFound(Resource::Redemption))?;
            voucher.ensure_open(now)?;
            voucher.status = RedemptionStatus::Fulfilled;
            voucher.closed_at = Some(now);
            uow.update_redemption(&voucher)?;
            Ok(voucher)
        })
    }

    /// Cancels an open voucher: its points come back once, as a refund entry, and its stock item
    /// returns to the reward.
    pub fn cancel_redemption(
        &self,
        caller: &Caller<'_>,
        id: &str,
        idempotent: Option<Idempotent<'_, Cancelled>>,
    ) -> Result<Outcome<Cancelled>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let mut voucher = uow
                .redemption_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Redemption))?;
            voucher.ensure_open(now)?;
            let provenance = Provenance {
                actor_key_id: caller.principal.key_id.clone(),
                request_id: caller.request_id.clone(),
                at: now,
            };
            let program = program_of(uow, tenant)?;
            let refunded_to = close_and_refund(
                uow,
                &program,
                &mut voucher,
                RedemptionStatus::Cancelled,
                true,
                &provenance,
            )?;
            // A free (milestone) voucher refunds nothing: its account is read as it is.
            let customer = match refunded_to {
                Some(customer) => customer,
                None => uow
                    .customer(tenant, &voucher.customer_id)?
                    .ok_or(LoyaltyError::NotFound(Resource::Customer))?
                    .standing_under(&program),
            };
            Ok(Cancelled {
                redemption: voucher,
                customer,
            })
        })
    }

    pub fn redemptions(
        &self,
        caller: &Principal,
        filter: &RedemptionFilter,
        page: &PageRequest,
    ) -> Result<Page<Redemption>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        let page = self.page(
            page,
            |r: &Redemption| &r.id,
            |uow| Ok(uow.redemptions(tenant, filter, now, page)?),
        )?;
        Ok(page.map(|voucher| as_of(voucher, now)))
    }

    pub fn redemption(&self, caller: &Principal, id: &str) -> Result<Redemption, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let voucher = uow
                .redemption(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Redemption))?;
            Ok(as_of(voucher, now))
        })
    }

    /// Marks every voucher past its expiry as expired and, where the program says so, gives its
    /// points back. Each voucher is its own transaction, re-checked under lock, so a sweep racing
    /// a fulfilment leaves the voucher either fulfilled or expired-and-refunded, never both; and
    /// running it twice changes nothing the second time.
    pub fn sweep_expired(&self) -> Result<SweepReport, LoyaltyError> {
        let mut report = self.expire_vouchers()?;
        report.expired_points = self.expire_points()?;
        Ok(report)
    }

    /// Takes unspent points whose lots reached their expiry off each balance, with an `expiry`
    /// ledger entry per customer; a customer's lots and balance move in one transaction.
    fn expire_points(&self) -> Result<i64, LoyaltyError> {
        let mut expired_points = 0;
        loop {
            let now = self.now();
            let due = reading(self.store.as_ref(), |uow| {
                Ok(uow.customers_with_expiring_points(now, SWEEP_BATCH)?)
            })?;
            for (tenant, customer_id) in &due {
                expired_points += within(self.store.as_ref(), |uow| {
                    let Some(mut customer) = uow.customer_for_update(tenant, customer_id)? else {
                        return Ok(0);
                    };
                    let before = uow.open_lots(tenant, customer_id)?;
                    let mut book = crate::lots::LotBook::new(before.clone());
                    let expired = book.expire(now);
                    if expired == 0 {
                        return Ok(0);
                    }
                    let provenance = Provenance {
                        actor_key_id: SWEEP_ACTOR.to_owned(),
                        request_id: None,
                        at: now,
                    };
                    for entry in post(
                        &mut customer,
                        vec![Posting::new(EntryKind::Expiry, -expired)],
                        &provenance,
                    )? {
                        uow.append_entry(&entry)?;
                    }
                    lots::write_back(uow, tenant, customer_id, &before, book.lots())?;
                    uow.update_customer(&customer)?;
                    Ok(expired)
                })?;
            }
            if (due.len() as i64) < SWEEP_BATCH {
                return Ok(expired_points);
            }
        }
    }

    fn expire_vouchers(&self) -> Result<SweepReport, LoyaltyError> {
        let mut report = SweepReport::default();
        loop {
            let now = self.now();
            let due = reading(self.store.as_ref(), |uow| {
                Ok(uow.overdue_vouchers(now, SWEEP_BATCH)?)
            })?;
            for (tenant, id) in &due {
                let refunded = within(self.store.as_ref(), |uow| {
                    let Some(mut voucher) = uow.redemption_for_update(tenant, id)? else {
                        return Ok(None);
                    };
                    if voucher.status != RedemptionStatus::Issued || voucher.expires_at > now {
                        return Ok(None);
                    }
                    let program = program_of(uow, tenant)?;
                    let provenance = Provenance {
                        actor_key_id: SWEEP_ACTOR.to_owned(),
                        request_id: None,
                        at: now,
                    };
                    let refunded_to = close_and_refund(
                        uow,
                        &program,
                        &mut voucher,
                        RedemptionStatus::Expired,
                        program.refund_expired_vouchers,
                        &provenance,
                    )?;
                    Ok(Some(if refunded_to.is_some() {
                        voucher.points_spent
                    } else {
                        0
                    }))
                })?;
                if let Some(points) = refunded {
                    report.expired += 1;
                    report.refunded_points += points;
                }
            }
            if (due.len() as i64) < SWEEP_BATCH {
                return Ok(report);
            }
        }
    }
}

//! The expiry sweep: vouchers past their expiry are closed (and refunded where the program says
//! so), and earned points past their expiry leave the balance.

use chrono::{DateTime, Utc};

use super::posting::post_to_account;
use super::vouchers::close_and_refund;
use super::{Loyalty, program_of};
use crate::LoyaltyError;
use crate::ids::{CustomerId, VoucherId};
use crate::ledger::{EntryKind, Posting, Provenance};
use crate::lots::LotBook;
use crate::store::{UnitOfWork, reading, within};
use crate::tenant::TenantId;
use crate::voucher::VoucherStatus;

/// The actor recorded on ledger entries the expiry sweep writes.
const SWEEP_ACTOR: &str = "system:expiry";
/// Records the sweep handles per batch, each in its own transaction.
const SWEEP_BATCH: i64 = 100;
/// Idempotency records deleted per statement: each batch is one short transaction, so the
/// sweep never holds many rows locked at once.
const IDEMPOTENCY_BATCH: i64 = 1_000;

/// What one expiry sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Vouchers that expired.
    pub expired: u64,
    /// Points their refunds gave back.
    pub refunded_points: i64,
    /// Earned points that expired unspent.
    pub expired_points: i64,
    /// Idempotency records past their time to live, deleted.
    pub forgotten_idempotency_keys: u64,
}

fn sweep_provenance(at: DateTime<Utc>) -> Provenance {
    Provenance {
        actor_key_id: SWEEP_ACTOR.to_owned(),
        request_id: None,
        at,
    }
}

impl Loyalty {
    /// Marks every voucher past its expiry as expired and, where the program says so, gives its
    /// points back. Each voucher is its own transaction, re-checked under lock, so a sweep racing
    /// a fulfilment leaves the voucher either fulfilled or expired-and-refunded, never both; and
    /// running it twice changes nothing the second time.
    pub fn sweep_expired(&self) -> Result<SweepReport, LoyaltyError> {
        let mut report = SweepReport::default();
        self.in_batches(
            |uow, now| Ok(uow.overdue_vouchers(now, SWEEP_BATCH)?),
            |(tenant, id), now| {
                if let Some(points) = self.expire_voucher(tenant, id, now)? {
                    report.expired += 1;
                    report.refunded_points += points;
                }
                Ok(())
            },
        )?;
        self.in_batches(
            |uow, now| Ok(uow.customers_with_expiring_points(now, SWEEP_BATCH)?),
            |(tenant, customer_id), now| {
                report.expired_points += self.expire_points(tenant, customer_id, now)?;
                Ok(())
            },
        )?;
        report.forgotten_idempotency_keys = self.forget_expired_idempotency()?;
        Ok(report)
    }

    /// Deletes idempotency records past their time to live, in bounded batches.
    fn forget_expired_idempotency(&self) -> Result<u64, LoyaltyError> {
        let before = self.now() - self.idempotency_ttl;
        let mut forgotten = 0;
        loop {
            let deleted = within(self.store.as_ref(), |uow| {
                Ok(uow.forget_idempotency_before(before, IDEMPOTENCY_BATCH)?)
            })?;
            forgotten += deleted;
            if deleted < IDEMPOTENCY_BATCH as u64 {
                return Ok(forgotten);
            }
        }
    }

    /// Reads what is due in batches at the clock's time and handles each item, until a batch
    /// comes back short.
    fn in_batches<T>(
        &self,
        mut due: impl FnMut(&mut dyn UnitOfWork, DateTime<Utc>) -> Result<Vec<T>, LoyaltyError>,
        mut handle: impl FnMut(&T, DateTime<Utc>) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        loop {
            let now = self.now();
            let batch = reading(self.store.as_ref(), |uow| due(uow, now))?;
            for item in &batch {
                handle(item, now)?;
            }
            if (batch.len() as i64) < SWEEP_BATCH {
                return Ok(());
            }
        }
    }

    /// Expires one voucher if it is still issued and due; returns the points refunded, or None
    /// when there was nothing to do.
    fn expire_voucher(
        &self,
        tenant: &TenantId,
        id: &VoucherId,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, LoyaltyError> {
        within(self.store.as_ref(), |uow| {
            let Some(mut voucher) = uow.voucher_for_update(tenant, id)? else {
                return Ok(None);
            };
            if voucher.status != VoucherStatus::Issued || voucher.expires_at > now {
                return Ok(None);
            }
            let refunded_to = close_and_refund(
                uow,
                &mut voucher,
                VoucherStatus::Expired,
                &sweep_provenance(now),
            )?;
            Ok(Some(if refunded_to.is_some() {
                voucher.points_spent
            } else {
                0
            }))
        })
    }

    /// Takes the customer's unspent points whose lots reached their expiry off the balance, with
    /// one `expiry` ledger entry; returns the points expired.
    fn expire_points(
        &self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<i64, LoyaltyError> {
        within(self.store.as_ref(), |uow| {
            let Some(mut customer) = uow.customer_for_update(tenant, customer_id)? else {
                return Ok(0);
            };
            let expired = LotBook::new(uow.open_lots(tenant, customer_id)?).expire(now);
            if expired == 0 {
                return Ok(0);
            }
            let program = program_of(uow, tenant)?;
            post_to_account(
                uow,
                &program,
                &mut customer,
                vec![Posting::new(EntryKind::Expiry, -expired)],
                &sweep_provenance(now),
            )?;
            Ok(expired)
        })
    }
}

//! The expiry sweep: vouchers past their expiry are closed (and refunded where the program says
//! so), and earned points past their expiry leave the balance.

use chrono::{DateTime, Utc};

use super::posting::{expire_due_points, expiry_provenance};
use super::vouchers::close_and_refund;
use super::{Loyalty, lock_customer, program_of};
use crate::LoyaltyError;
use crate::ids::{CustomerId, VoucherId};
use crate::search::search_terms;
use crate::store::{UnitOfWork, reading, within};
use crate::tenant::TenantId;
use crate::voucher::VoucherStatus;

/// Records the sweep handles per batch, each in its own transaction.
const SWEEP_BATCH: i64 = 100;
/// Idempotency records deleted per statement: each batch is one short transaction, so the
/// sweep never holds many rows locked at once.
const IDEMPOTENCY_BATCH: i64 = 1_000;
/// Customers given search terms per transaction.
const INDEXING_BATCH: i64 = 500;

/// What expiring one voucher did to its customer's balance.
struct ExpiredVoucher {
    /// The points the voucher cost, given back (where the program says so).
    refunded_points: i64,
    /// The customer's points found past their expiry on the way.
    expired_points: i64,
}

/// What the sweep could not do for one record. The pass goes on without it; the record stays due
/// and is tried again by the next sweep.
#[derive(Debug)]
pub struct SweepFailure {
    pub tenant: TenantId,
    pub item: SweptItem,
    pub error: LoyaltyError,
}

/// A record the sweep works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweptItem {
    /// A voucher past its expiry.
    Voucher(VoucherId),
    /// A customer with earned points past their expiry.
    PointsOf(CustomerId),
}

impl std::fmt::Display for SweptItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Voucher(id) => write!(f, "voucher {id}"),
            Self::PointsOf(id) => write!(f, "the points of customer {id}"),
        }
    }
}

/// What one expiry sweep did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Vouchers that expired.
    pub expired: u64,
    /// Points their refunds gave back.
    pub refunded_points: i64,
    /// Earned points that expired unspent.
    pub expired_points: i64,
    /// Idempotency records past their time to live, deleted.
    pub forgotten_idempotency_keys: u64,
    /// Events that were waiting for their place in the feed, placed.
    pub placed_events: u64,
    /// Events past the feed's retention, deleted.
    pub forgotten_events: u64,
    /// Customers written without search terms (before search existed), indexed.
    pub indexed_customers: u64,
    /// Records that failed, each skipped for the rest of the pass.
    pub failures: Vec<SweepFailure>,
}

impl SweepReport {
    /// Whether the sweep changed or skipped anything.
    pub fn did_anything(&self) -> bool {
        self.expired > 0
            || self.expired_points > 0
            || self.forgotten_idempotency_keys > 0
            || self.forgotten_events > 0
            || self.indexed_customers > 0
            || !self.failures.is_empty()
    }
}

impl Loyalty {
    /// Marks every voucher past its expiry as expired and, where the program says so, gives its
    /// points back. Each voucher is its own transaction, re-checked under lock, so a sweep racing
    /// a fulfilment leaves the voucher either fulfilled or expired-and-refunded, never both; and
    /// running it twice changes nothing the second time.
    ///
    /// One record that fails (corrupt data, a refund that would break an invariant) is reported
    /// in the result and skipped; the pass goes on with every other record of every tenant. Only
    /// a database that cannot serve at all stops it.
    pub fn sweep_expired(&self) -> Result<SweepReport, LoyaltyError> {
        let mut report = SweepReport::default();
        let mut failures = Vec::new();
        self.in_batches(
            |uow, now, skipping| Ok(uow.overdue_vouchers(now, SWEEP_BATCH, skipping)?),
            |tenant, id, now| {
                if let Some(expired) = self.expire_voucher(tenant, id, now)? {
                    report.expired += 1;
                    report.refunded_points += expired.refunded_points;
                    report.expired_points += expired.expired_points;
                }
                Ok(())
            },
            SweptItem::Voucher,
            &mut failures,
        )?;
        self.in_batches(
            |uow, now, skipping| {
                Ok(uow.customers_with_expiring_points(now, SWEEP_BATCH, skipping)?)
            },
            |tenant, customer_id, now| {
                report.expired_points += self.expire_points(tenant, customer_id, now)?;
                Ok(())
            },
            SweptItem::PointsOf,
            &mut failures,
        )?;
        report.forgotten_idempotency_keys = self.forget_expired_idempotency()?;
        report.placed_events = self.place_all_events()?;
        report.forgotten_events = self.forget_old_events()?;
        report.indexed_customers = self.index_unindexed_customers()?;
        report.failures = failures;
        Ok(report)
    }

    /// Writes the search terms of customers that have none yet, a batch per transaction.
    fn index_unindexed_customers(&self) -> Result<u64, LoyaltyError> {
        let mut indexed = 0;
        let mut after: Option<(TenantId, CustomerId)> = None;
        loop {
            let (count, last) = within(self.store.as_ref(), |uow| {
                let customers = uow.unindexed_customers(after.as_ref(), INDEXING_BATCH)?;
                let last = customers
                    .last()
                    .map(|c| (c.tenant_id.clone(), c.id.clone()));
                for tenant_customers in customers.chunk_by(|a, b| a.tenant_id == b.tenant_id) {
                    let terms: Vec<(CustomerId, Vec<String>)> = tenant_customers
                        .iter()
                        .map(|c| (c.id.clone(), search_terms(c)))
                        .collect();
                    uow.add_search_terms(&tenant_customers[0].tenant_id, &terms)?;
                }
                Ok((customers.len() as u64, last))
            })?;
            indexed += count;
            match last {
                Some(last) if count == INDEXING_BATCH as u64 => after = Some(last),
                _ => return Ok(indexed),
            }
        }
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

    /// Reads what is due in batches at the clock's time and handles each record, until a batch
    /// comes back short. A record that fails is recorded in `failures` (as `item` names it) and
    /// left out of the batches read after it; a database that cannot serve stops the pass.
    fn in_batches<Id: Clone>(
        &self,
        mut due: impl FnMut(
            &mut dyn UnitOfWork,
            DateTime<Utc>,
            &[Id],
        ) -> Result<Vec<(TenantId, Id)>, LoyaltyError>,
        mut handle: impl FnMut(&TenantId, &Id, DateTime<Utc>) -> Result<(), LoyaltyError>,
        item: fn(Id) -> SweptItem,
        failures: &mut Vec<SweepFailure>,
    ) -> Result<(), LoyaltyError> {
        let mut skipping: Vec<Id> = Vec::new();
        loop {
            let now = self.now();
            let batch = reading(self.store.as_ref(), |uow| due(uow, now, &skipping))?;
            for (tenant, id) in &batch {
                match handle(tenant, id, now) {
                    Ok(()) => {}
                    Err(LoyaltyError::Store(error)) if error.is_unavailable() => {
                        return Err(LoyaltyError::Store(error));
                    }
                    Err(error) => {
                        skipping.push(id.clone());
                        failures.push(SweepFailure {
                            tenant: tenant.clone(),
                            item: item(id.clone()),
                            error,
                        });
                    }
                }
            }
            if (batch.len() as i64) < SWEEP_BATCH {
                return Ok(());
            }
        }
    }

    /// Expires one voucher if it is still issued and due; None when there was nothing to do.
    fn expire_voucher(
        &self,
        tenant: &TenantId,
        id: &VoucherId,
        now: DateTime<Utc>,
    ) -> Result<Option<ExpiredVoucher>, LoyaltyError> {
        within(self.store.as_ref(), |uow| {
            let Some(mut voucher) = uow.voucher_for_update(tenant, id)? else {
                return Ok(None);
            };
            if voucher.status != VoucherStatus::Issued || voucher.expires_at > now {
                return Ok(None);
            }
            // A refund first records the customer's points that are due by now; expiring them
            // here (the voucher locked first, as everywhere) lets the report count them.
            let mut expired_points = 0;
            if voucher.points_spent > 0 {
                let mut customer = lock_customer(uow, tenant, &voucher.customer_id)?;
                let program = program_of(uow, tenant)?;
                expired_points =
                    expire_due_points(uow, self.outbox(), &program, &mut customer, now)?;
            }
            let refunded_to = close_and_refund(
                uow,
                self.outbox(),
                &mut voucher,
                VoucherStatus::Expired,
                &expiry_provenance(now),
            )?;
            Ok(Some(ExpiredVoucher {
                refunded_points: if refunded_to.is_some() {
                    voucher.points_spent
                } else {
                    0
                },
                expired_points,
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
            let program = program_of(uow, tenant)?;
            expire_due_points(uow, self.outbox(), &program, &mut customer, now)
        })
    }
}

//! What happens at the counter: visits, purchases, adjustments, reversals, and the ledger that
//! records them.

use chrono::{DateTime, Utc};

use super::posting::{expire_due_points, may_have_expired_points, post_to_account};
use super::{Caller, Loyalty, live, lock_live_customer, program_of, tenant_of};
use crate::LoyaltyError;
use crate::activity::{Purchase, plan_adjustment, plan_purchase, plan_reversal, plan_visit};
use crate::auth::{Principal, Role};
use crate::customer::Customer;
use crate::error::Resource;
use crate::idempotency::{Idempotent, Outcome};
use crate::ids::{CustomerId, LedgerEntryId};
use crate::ledger::{EntryKind, LedgerEntry, Posting};
use crate::page::{Page, PageRequest};
use crate::program::Program;
use crate::store::UnitOfWork;
use crate::tenant::TenantId;
use crate::voucher::Voucher;

/// A change to one customer's account and the entries that made it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub customer: Customer,
    /// The entry of the request's own kind (the visit, the purchase, ...).
    pub entry: LedgerEntry,
    /// Entries the same change wrote after it (a completed stamp card's milestone).
    pub following: Vec<LedgerEntry>,
    /// The milestone reward's voucher, when the change completed a stamp card.
    pub voucher: Option<Voucher>,
}

impl Posted {
    pub fn milestone(&self) -> Option<&LedgerEntry> {
        self.following
            .iter()
            .find(|e| e.kind == EntryKind::Milestone)
    }

    pub fn reached_milestone(&self) -> bool {
        self.milestone().is_some()
    }
}

/// Decides a change's postings from the locked customer and the program, reading what else it
/// needs.
type Planner<'a> =
    dyn FnMut(&mut dyn UnitOfWork, &Customer, &Program) -> Result<Vec<Posting>, LoyaltyError> + 'a;

impl Loyalty {
    /// A change at the counter to one customer's account, once per idempotency key.
    fn counter_change(
        &self,
        caller: &Caller<'_>,
        tenant: &TenantId,
        customer_id: &CustomerId,
        idempotent: Option<Idempotent<'_, Posted>>,
        plan: &mut Planner<'_>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        self.idempotently(caller.principal, tenant, idempotent, |uow| {
            self.post_planned(uow, caller, tenant, customer_id, plan)
        })
    }

    /// Locks the customer, plans postings from the account, posts them, and issues the program's
    /// milestone voucher when they complete a stamp card. Reports the account with its standing.
    fn post_planned(
        &self,
        uow: &mut dyn UnitOfWork,
        caller: &Caller<'_>,
        tenant: &TenantId,
        customer_id: &CustomerId,
        plan: &mut Planner<'_>,
    ) -> Result<Posted, LoyaltyError> {
        let program = program_of(uow, tenant)?;
        let mut customer = lock_live_customer(uow, tenant, customer_id)?;
        let now = self.now();
        // Plans read the balance (an adjustment may not overdraw it): points past their expiry
        // leave it first. Only when the account says some may be due: otherwise the posting's
        // own look at the lots is the only one.
        if may_have_expired_points(&customer, now) {
            expire_due_points(uow, self.outbox(), &program, &mut customer, now)?;
        }
        let postings = plan(uow, &customer, &program)?;
        let mut entries = post_to_account(
            uow,
            self.outbox(),
            &program,
            &mut customer,
            postings,
            &caller.provenance(now),
        )?
        .into_iter();
        let entry = entries.next().ok_or(LoyaltyError::NothingPosted)?;
        let mut posted = Posted {
            customer: customer.standing_under(&program),
            entry,
            following: entries.collect(),
            voucher: None,
        };
        let visit_number = posted.milestone().map(|milestone| milestone.visit_number);
        if let (Some(visit_number), Some(reward_id)) = (visit_number, &program.milestone_reward_id)
        {
            posted.voucher = self.issue_milestone_voucher(
                uow,
                tenant,
                reward_id,
                &posted.customer.id,
                visit_number,
                now,
            )?;
        }
        Ok(posted)
    }

    pub fn record_visit(
        &self,
        caller: &Caller<'_>,
        customer_id: &CustomerId,
        occurred_at: Option<DateTime<Utc>>,
        note: Option<&str>,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        let mut plan = |_: &mut dyn UnitOfWork, customer: &Customer, program: &Program| {
            plan_visit(
                program,
                &self.rules,
                &customer.account,
                occurred_at,
                note,
                now,
            )
        };
        self.counter_change(caller, tenant, customer_id, idempotent, &mut plan)
    }

    pub fn record_purchase(
        &self,
        caller: &Caller<'_>,
        customer_id: &CustomerId,
        purchase: Purchase<'_>,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        let mut plan = |uow: &mut dyn UnitOfWork, customer: &Customer, program: &Program| {
            let currency = tenant_of(uow, tenant)?.currency;
            plan_purchase(
                program,
                &self.rules,
                &customer.account,
                &currency,
                purchase,
                now,
            )
        };
        self.counter_change(caller, tenant, customer_id, idempotent, &mut plan)
    }

    pub fn adjust(
        &self,
        caller: &Caller<'_>,
        customer_id: &CustomerId,
        points: i64,
        reason: &str,
        allow_negative: bool,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::TenantAdmin)?;
        let mut plan = |_: &mut dyn UnitOfWork, customer: &Customer, _: &Program| {
            plan_adjustment(&customer.account, points, reason, allow_negative)
        };
        self.counter_change(caller, tenant, customer_id, idempotent, &mut plan)
    }

    /// Undoes a purchase's points once. The response's balance may be negative.
    pub fn reverse(
        &self,
        caller: &Caller<'_>,
        entry_id: &LedgerEntryId,
        reason: &str,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        self.idempotently(caller.principal, tenant, idempotent, |uow| {
            let original = uow
                .entry(tenant, entry_id)?
                .ok_or(LoyaltyError::NotFound(Resource::LedgerEntry))?;
            self.post_planned(
                uow,
                caller,
                tenant,
                &original.customer_id,
                &mut |uow, _, _| {
                    // Read after the customer is locked: a concurrent reversal has committed or waits.
                    let existing = uow.reversal_of(tenant, &original.id)?;
                    plan_reversal(&original, existing.as_ref(), reason)
                },
            )
        })
    }

    pub fn ledger(
        &self,
        caller: &Principal,
        customer_id: &CustomerId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        self.page(page, |uow| {
            live(
                uow.customer(tenant, customer_id)?
                    .ok_or(LoyaltyError::NotFound(Resource::Customer))?,
            )?;
            Ok(uow.entries(tenant, customer_id, page)?)
        })
    }
}

//! Exports a tenant admin takes away: the customers, and the ledger over a range of local days,
//! read page by page so an export of any size takes the same memory.

use chrono::{DateTime, NaiveDate, Utc};

use super::posting::customer_as_of;
use super::{Loyalty, tenant_of};
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::customer::Customer;
use crate::ledger::LedgerEntry;
use crate::page::{Page, PageRequest};
use crate::store::reading;
use crate::validation::ValidationErrors;

/// The instants a range of the tenant's local days covers: from the first day's start until
/// before the end of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Loyalty {
    /// One page of the tenant's customers (erased ones left out), newest first, each with the
    /// balance a read shows now (tenant admin).
    pub fn export_customers(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        self.page(page, |uow| {
            uow.customers(tenant, page)?
                .into_iter()
                .map(|customer| customer_as_of(uow, customer, now))
                .collect()
        })
    }

    /// The instants the tenant's local days `from` to `to` (both included) cover (tenant admin).
    pub fn day_range(
        &self,
        caller: &Principal,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<DayRange, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        if to < from {
            return Err(ValidationErrors::single("to", "must not be before from").into());
        }
        let zone = reading(self.store.as_ref(), |uow| {
            Ok(tenant_of(uow, tenant)?.time_zone)
        })?;
        Ok(DayRange {
            from: zone.start_of(from),
            until: zone.end_of(to),
        })
    }

    /// One page of the tenant's ledger entries made within `range`, in the order they were
    /// written (tenant admin).
    pub fn export_ledger(
        &self,
        caller: &Principal,
        range: DayRange,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.page(page, |uow| {
            Ok(uow.tenant_entries(tenant, (range.from, range.until), page)?)
        })
    }
}

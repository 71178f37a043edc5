//! The owner's reports over a range of the tenant's local days (tenant admin).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Loyalty, tenant_of};
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::local_time::TimeZone;
use crate::reports::{
    Activity, DayFigures, Figures, LocalDays, MAX_REPORT_DAYS, MAX_TOP_CUSTOMERS, TopBy,
    TopCustomer,
};
use crate::store::reading;
use crate::validation::ValidationErrors;

/// A range's figures, in the tenant's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub time_zone: TimeZone,
    pub figures: Figures,
}

/// Each day's figures, in the tenant's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    pub time_zone: TimeZone,
    pub days: Vec<DayFigures>,
}

/// Refuses a range that ends before it starts or covers more days than a report does.
fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), LoyaltyError> {
    let days = (to - from).num_days() + 1;
    if days < 1 {
        return Err(ValidationErrors::single("to", "must not be before from").into());
    }
    if days > MAX_REPORT_DAYS as i64 {
        return Err(ValidationErrors::single(
            "to",
            format!("a report covers at most {MAX_REPORT_DAYS} days"),
        )
        .into());
    }
    Ok(())
}

impl Loyalty {
    /// The tenant's figures over its local days `from` to `to`, both included; the points
    /// outstanding are today's.
    pub fn report_summary(
        &self,
        caller: &Principal,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Summary, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        check_range(from, to)?;
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let time_zone = tenant_of(uow, tenant)?.time_zone;
            let made = (time_zone.start_of(from), time_zone.end_of(to));
            let activity = uow
                .activity(tenant, made, None, now)?
                .into_iter()
                .map(|(_, activity)| activity)
                .next()
                .unwrap_or_default();
            Ok(Summary {
                time_zone,
                figures: Figures {
                    customers_total: uow.customers_enrolled_before(tenant, made.1)?,
                    points_outstanding: uow.points_outstanding(tenant)?,
                    activity,
                },
            })
        })
    }

    /// The tenant's figures for each of its local days `from` to `to`, days without activity
    /// included; each day's customers and points outstanding are those at its end.
    pub fn report_daily(
        &self,
        caller: &Principal,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Daily, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        check_range(from, to)?;
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let zone = tenant_of(uow, tenant)?.time_zone;
            let made = (zone.start_of(from), zone.end_of(to));
            let days = LocalDays {
                first: from,
                offsets: zone.offsets_between(made.0, made.1),
            };
            let by_day: BTreeMap<i64, Activity> = uow
                .activity(tenant, made, Some(&days), now)?
                .into_iter()
                .collect();
            // Balances equal the sum of their entries, so the points outstanding before the
            // range are today's less what every entry since its start added.
            let net_in_range: i64 = by_day.values().map(|a| a.net_points).sum();
            let mut points_outstanding = uow.points_outstanding(tenant)?
                - uow.net_points_since(tenant, made.1)?
                - net_in_range;
            let mut customers_total = uow.customers_enrolled_before(tenant, made.0)?;
            let mut rows = Vec::new();
            let mut index = 0;
            while let Some(date) = days.date(index).filter(|date| *date <= to) {
                let activity = by_day.get(&index).copied().unwrap_or_default();
                points_outstanding += activity.net_points;
                customers_total += activity.new_customers;
                rows.push(DayFigures {
                    date,
                    figures: Figures {
                        customers_total,
                        points_outstanding,
                        activity,
                    },
                });
                index += 1;
            }
            Ok(Daily {
                time_zone: zone,
                days: rows,
            })
        })
    }

    /// The tenant's customers who did the most of `by` over its local days `from` to `to`.
    pub fn report_top_customers(
        &self,
        caller: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        by: TopBy,
        limit: u32,
    ) -> Result<Vec<TopCustomer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        check_range(from, to)?;
        if !(1..=MAX_TOP_CUSTOMERS).contains(&limit) {
            return Err(ValidationErrors::single(
                "limit",
                format!("must be between 1 and {MAX_TOP_CUSTOMERS}"),
            )
            .into());
        }
        reading(self.store.as_ref(), |uow| {
            let zone = tenant_of(uow, tenant)?.time_zone;
            let made = (zone.start_of(from), zone.end_of(to));
            Ok(uow.top_customers(tenant, made, by, i64::from(limit))?)
        })
    }
}

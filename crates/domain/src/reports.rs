//! The owner's reports: how the program did over a range of the tenant's local days, counted
//! from the ledger, the vouchers and the enrolments, so every figure adds up to what they say.

use chrono::{Days, NaiveDate};

use crate::ids::CustomerId;
use crate::ledger::EntryKind;
use crate::local_time::OffsetSpan;

/// The longest range a report covers, in days.
pub const MAX_REPORT_DAYS: u64 = 366;
/// The most customers a top list holds.
pub const MAX_TOP_CUSTOMERS: u32 = 100;
pub const DEFAULT_TOP_CUSTOMERS: u32 = 10;

/// Entry kinds whose points count as issued: earned by visits, purchases and completed cards
/// (adjustments count when they add points; an imported opening balance was issued elsewhere).
pub const ISSUING_KINDS: [EntryKind; 3] =
    [EntryKind::Visit, EntryKind::Purchase, EntryKind::Milestone];

/// What happened over a stretch of time. Points issued, redeemed and expired are gross
/// movements: a reversal, a refund or a negative adjustment reduces none of them, and shows in
/// `net_points` (and so in the points outstanding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Customers enrolled.
    pub new_customers: i64,
    /// Customers with at least one visit or purchase.
    pub active_customers: i64,
    pub visits: i64,
    pub purchases: i64,
    /// What the purchases came to, in minor units of the tenant's currency.
    pub purchase_amount_minor: i64,
    /// Points of visits, purchases, completed cards and positive adjustments.
    pub points_issued: i64,
    /// Points spent on vouchers.
    pub points_redeemed: i64,
    /// Points that reached their expiry unspent.
    pub points_expired: i64,
    /// The sum of every entry's points: how much the points outstanding moved.
    pub net_points: i64,
    /// Vouchers issued (redeemed for points, or earned by a completed card).
    pub vouchers_issued: i64,
    pub vouchers_fulfilled: i64,
    /// Vouchers whose expiry came, unused, before now.
    pub vouchers_expired: i64,
}

/// A report's figures for a range or a day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Customers enrolled by the end of the range (or now, when that is sooner), erased ones
    /// included: their accounts stay.
    pub customers_total: i64,
    /// Points on every balance: now for a range, at the end of the day for a day.
    pub points_outstanding: i64,
    pub activity: Activity,
}

impl Figures {
    /// Vouchers fulfilled per voucher issued; 0 when none were issued.
    pub fn redemption_rate(&self) -> f64 {
        if self.activity.vouchers_issued == 0 {
            0.0
        } else {
            self.activity.vouchers_fulfilled as f64 / self.activity.vouchers_issued as f64
        }
    }
}

/// The figures of one local day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayFigures {
    pub date: NaiveDate,
    pub figures: Figures,
}

/// How to tell which local day an instant falls on, within a report's range: the day index is
/// the count of days from `first` to the instant's local date, and the local date follows from
/// the zone's offset at the instant, which `offsets` give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDays {
    pub first: NaiveDate,
    pub offsets: Vec<OffsetSpan>,
}

impl LocalDays {
    /// The date `index` days after the first.
    pub fn date(&self, index: i64) -> Option<NaiveDate> {
        self.first
            .checked_add_days(Days::new(u64::try_from(index).ok()?))
    }
}

/// What a top list ranks customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopBy {
    Visits,
    /// Purchase amounts.
    Spend,
    /// Points issued.
    Points,
}

/// A customer on a top list, with what they did in the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopCustomer {
    pub customer_id: CustomerId,
    /// None once erased.
    pub name: Option<String>,
    pub visits: i64,
    pub purchases: i64,
    pub purchase_amount_minor: i64,
    pub points_issued: i64,
}

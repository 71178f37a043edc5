//! The reports' wire shapes.

use chrono::NaiveDate;
use loyalty_domain::reports::{DayFigures, Figures, TopCustomer};
use loyalty_domain::service::{Daily, Summary};
use serde::Serialize;

/// A range's or a day's figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FiguresView {
    /// Customers enrolled by the end of the range (or day), erased ones included.
    customers_total: i64,
    new_customers: i64,
    /// Customers with a visit or a purchase.
    active_customers: i64,
    visits: i64,
    purchases: i64,
    purchase_amount_minor: i64,
    /// Points of visits, purchases, completed cards and positive adjustments (gross).
    points_issued: i64,
    /// Points spent on vouchers (gross: refunds are not taken off).
    points_redeemed: i64,
    points_expired: i64,
    /// The points on every balance: now in a summary, at the end of the day in a daily row.
    points_outstanding: i64,
    vouchers_issued: i64,
    vouchers_fulfilled: i64,
    /// Vouchers whose expiry came, unused, before now.
    vouchers_expired: i64,
    /// `vouchers_fulfilled / vouchers_issued`, 0 when none were issued.
    redemption_rate: f64,
}

impl From<Figures> for FiguresView {
    fn from(figures: Figures) -> Self {
        let a = figures.activity;
        Self {
            customers_total: figures.customers_total,
            new_customers: a.new_customers,
            active_customers: a.active_customers,
            visits: a.visits,
            purchases: a.purchases,
            purchase_amount_minor: a.purchase_amount_minor,
            points_issued: a.points_issued,
            points_redeemed: a.points_redeemed,
            points_expired: a.points_expired,
            points_outstanding: figures.points_outstanding,
            vouchers_issued: a.vouchers_issued,
            vouchers_fulfilled: a.vouchers_fulfilled,
            vouchers_expired: a.vouchers_expired,
            redemption_rate: figures.redemption_rate(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SummaryView {
    from: NaiveDate,
    to: NaiveDate,
    /// The tenant's time zone, whose days the range covers.
    time_zone: &'static str,
    #[serde(flatten)]
    figures: FiguresView,
}

impl SummaryView {
    pub(crate) fn new(from: NaiveDate, to: NaiveDate, summary: Summary) -> Self {
        Self {
            from,
            to,
            time_zone: summary.time_zone.name(),
            figures: summary.figures.into(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DayView {
    date: NaiveDate,
    #[serde(flatten)]
    figures: FiguresView,
}

impl From<DayFigures> for DayView {
    fn from(day: DayFigures) -> Self {
        Self {
            date: day.date,
            figures: day.figures.into(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DailyView {
    time_zone: &'static str,
    /// One per day of the range, in order, days without activity included.
    items: Vec<DayView>,
}

impl From<Daily> for DailyView {
    fn from(daily: Daily) -> Self {
        Self {
            time_zone: daily.time_zone.name(),
            items: daily.days.into_iter().map(DayView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TopCustomerView {
    customer_id: String,
    /// Null once the customer was erased.
    name: Option<String>,
    visits: i64,
    purchases: i64,
    purchase_amount_minor: i64,
    points_issued: i64,
}

impl From<TopCustomer> for TopCustomerView {
    fn from(top: TopCustomer) -> Self {
        Self {
            customer_id: top.customer_id.into_string(),
            name: top.name,
            visits: top.visits,
            purchases: top.purchases,
            purchase_amount_minor: top.purchase_amount_minor,
            points_issued: top.points_issued,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TopCustomersView {
    /// Highest first, then by customer id; only customers with some of what they are ranked by.
    items: Vec<TopCustomerView>,
}

impl TopCustomersView {
    pub(crate) fn new(top: Vec<TopCustomer>) -> Self {
        Self {
            items: top.into_iter().map(TopCustomerView::from).collect(),
        }
    }
}

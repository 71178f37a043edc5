//! The owner's reports over a range of the tenant's local days (tenant admin).

use actix_web::{HttpResponse, web};
use loyalty_domain::reports::{DEFAULT_TOP_CUSTOMERS, TopBy};
use serde::Deserialize;

use super::exports::local_day;
use crate::auth::Authenticated;
use crate::views::{DailyView, SummaryView, TopCustomersView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// The first local day (the tenant's time zone), `YYYY-MM-DD`.
    from: String,
    /// The last local day, included; at most 366 days after `from`'s start.
    to: String,
}

/// What a top list ranks by.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TopByParam {
    Visits,
    Spend,
    Points,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopCustomersQuery {
    /// The first local day, `YYYY-MM-DD`.
    from: String,
    /// The last local day, included.
    to: String,
    /// `visits`, `spend` (purchase amounts) or `points` (points issued); `visits` by default.
    by: Option<TopByParam>,
    /// How many customers, 1 to 100; 10 by default.
    limit: Option<u32>,
}

/// Sums up the program over a range of local days.
///
/// Tenant admin. Counts from the ledger, the vouchers and the enrolments of the tenant's days
/// `from` to `to`; `points_outstanding` is now.
#[utoipa::path(
    get, path = "/api/v1/reports/summary", tag = "reports", operation_id = "report_summary",
    params(ReportQuery),
    responses(
        (status = 200, description = "The range's figures.", body = SummaryView),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not a date."),
        (status = 422, description = "`validation_failed`: `to` before `from`, or a range over 366 days."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn summary(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = local_day("from", &query.from)?;
    let to = local_day("to", &query.to)?;
    let summary = state
        .store(move |loyalty| loyalty.report_summary(&caller.0, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(SummaryView::new(from, to, summary)))
}

/// The program's figures day by day.
///
/// Tenant admin. One row per local day from `from` to `to`, days without activity included;
/// each row's `customers_total` and `points_outstanding` are those at the end of its day.
#[utoipa::path(
    get, path = "/api/v1/reports/daily", tag = "reports", operation_id = "report_daily",
    params(ReportQuery),
    responses(
        (status = 200, description = "A row per day.", body = DailyView),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not a date."),
        (status = 422, description = "`validation_failed`: `to` before `from`, or a range over 366 days."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn daily(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = local_day("from", &query.from)?;
    let to = local_day("to", &query.to)?;
    let daily = state
        .store(move |loyalty| loyalty.report_daily(&caller.0, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(DailyView::from(daily)))
}

/// The customers who did the most over a range of local days.
///
/// Tenant admin. Ranked by visits, purchase amounts or points issued, highest first.
#[utoipa::path(
    get, path = "/api/v1/reports/top-customers", tag = "reports", operation_id = "report_top_customers",
    params(TopCustomersQuery),
    responses(
        (status = 200, description = "The customers, highest first.", body = TopCustomersView),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not a date, or an unknown `by`."),
        (status = 422, description = "`validation_failed`: `to` before `from`, a range over 366 days, or a `limit` outside 1 to 100."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn top_customers(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<TopCustomersQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = local_day("from", &query.from)?;
    let to = local_day("to", &query.to)?;
    let by = match query.by.unwrap_or(TopByParam::Visits) {
        TopByParam::Visits => TopBy::Visits,
        TopByParam::Spend => TopBy::Spend,
        TopByParam::Points => TopBy::Points,
    };
    let limit = query.limit.unwrap_or(DEFAULT_TOP_CUSTOMERS);
    let top = state
        .store(move |loyalty| loyalty.report_top_customers(&caller.0, from, to, by, limit))
        .await?;
    Ok(HttpResponse::Ok().json(TopCustomersView::new(top)))
}

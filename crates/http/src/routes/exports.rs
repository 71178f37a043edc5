//! CSV exports for the tenant admin, streamed a page at a time: the memory an export takes does
//! not grow with its size.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use futures_util::stream;
use loyalty_domain::auth::Principal;
use loyalty_domain::customer::Customer;
use loyalty_domain::ledger::LedgerEntry;
use loyalty_domain::page::{MAX_LIMIT, Page, PageRequest};
use loyalty_domain::service::DayRange;
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::views::timestamp;
use crate::{ApiError, HttpState};

/// The columns of the customers export: those the customer import is specified to read
/// (`opening_points` and `opening_visits` carry the balance and the visits over).
const CUSTOMER_COLUMNS: [&str; 6] = [
    "name",
    "phone",
    "email",
    "external_id",
    "opening_points",
    "opening_visits",
];

const LEDGER_COLUMNS: [&str; 14] = [
    "id",
    "customer_id",
    "kind",
    "points",
    "balance_after",
    "visit_number",
    "amount_minor",
    "currency",
    "reference",
    "reason",
    "reverses_entry_id",
    "redemption_id",
    "actor_key_id",
    "created_at",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LedgerExportQuery {
    /// The first local day (the tenant's time zone), `YYYY-MM-DD`.
    from: String,
    /// The last local day, included.
    to: String,
}

/// A day as a client writes it: `YYYY-MM-DD`, in years 1 to 9998, so even the end of the last
/// day (in the tenant's zone) is a time both databases store and compare as such.
pub(super) fn local_day(name: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| (1..=9998).contains(&day.year()))
        .ok_or_else(|| ApiError::InvalidQuery(format!("{name} must be a date as YYYY-MM-DD")))
}

/// What one export reads: a page of records, and how each becomes a CSV row.
trait Export: Send + Sync + 'static {
    type Record: Send + 'static;
    fn page(
        &self,
        loyalty: &loyalty_domain::Loyalty,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Self::Record>, loyalty_domain::LoyaltyError>;
    fn row(record: &Self::Record) -> Vec<String>;
}

struct Customers;

impl Export for Customers {
    type Record = Customer;

    fn page(
        &self,
        loyalty: &loyalty_domain::Loyalty,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Customer>, loyalty_domain::LoyaltyError> {
        loyalty.export_customers(caller, page)
    }

    fn row(customer: &Customer) -> Vec<String> {
        vec![
            customer.name.clone().unwrap_or_default(),
            customer.phone.clone().unwrap_or_default(),
            customer.email.clone().unwrap_or_default(),
            customer.external_id.clone().unwrap_or_default(),
            customer.account.balance.to_string(),
            customer.account.visits.to_string(),
        ]
    }
}

struct Ledger(DayRange);

impl Export for Ledger {
    type Record = LedgerEntry;

    fn page(
        &self,
        loyalty: &loyalty_domain::Loyalty,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, loyalty_domain::LoyaltyError> {
        loyalty.export_ledger(caller, self.0, page)
    }

    fn row(entry: &LedgerEntry) -> Vec<String> {
        let text = |value: Option<String>| value.unwrap_or_default();
        let number = |value: Option<i64>| value.map(|n| n.to_string()).unwrap_or_default();
        vec![
            entry.id.to_string(),
            entry.customer_id.to_string(),
            entry.kind.as_str().to_owned(),
            entry.points.to_string(),
            entry.balance_after.to_string(),
            number(entry.visit_number),
            number(entry.amount_minor),
            text(entry.currency.clone()),
            text(entry.reference.clone()),
            text(entry.reason.clone()),
            text(entry.reverses_entry_id.as_ref().map(ToString::to_string)),
            text(entry.voucher_id.as_ref().map(ToString::to_string)),
            entry.actor_key_id.clone(),
            timestamp(entry.created_at),
        ]
    }
}

/// CSV text of `rows`, the header first when there is one.
fn csv_bytes(header: Option<&[&str]>, rows: Vec<Vec<String>>) -> Result<Bytes, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |error: csv::Error| ApiError::Internal(Box::new(error));
    if let Some(header) = header {
        writer.write_record(header).map_err(internal)?;
    }
    for row in rows {
        writer.write_record(&row).map_err(internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| ApiError::Internal(Box::new(error.into_error())))?;
    Ok(Bytes::from(bytes))
}

/// Where a streamed export stands between pages.
enum Next {
    After(String),
    Done,
}

/// Answers `export` as a CSV file named `filename`: the first page is read before answering, so
/// a refusal (a role, the database) is a proper error status; later pages are read as the client
/// takes the body (a failure then cuts the body short).
async fn stream_csv<E: Export>(
    state: web::Data<HttpState>,
    caller: Principal,
    export: E,
    header: &'static [&'static str],
    filename: &str,
) -> Result<HttpResponse, ApiError> {
    let export = std::sync::Arc::new(export);
    let first = read_page(&state, &caller, &export, None).await?;
    let (rows, next) = rows_of::<E>(first);
    let head = csv_bytes(Some(header), rows)?;
    let pages = stream::unfold(
        (state, caller, export, next),
        |(state, caller, export, next)| async move {
            let Next::After(after) = next else {
                return None;
            };
            let page = match read_page(&state, &caller, &export, Some(after)).await {
                Ok(page) => page,
                Err(error) => {
                    // The status went out with the first page: this failure cuts the body
                    // short, and only the log tells why.
                    tracing::error!(error = ?error, "an export stopped part-way");
                    return Some((Err(error), (state, caller, export, Next::Done)));
                }
            };
            let (rows, next) = rows_of::<E>(page);
            Some((csv_bytes(None, rows), (state, caller, export, next)))
        },
    );
    let body = stream::once(async move { Ok::<_, ApiError>(head) });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(futures_util::StreamExt::chain(body, pages)))
}

async fn read_page<E: Export>(
    state: &HttpState,
    caller: &Principal,
    export: &std::sync::Arc<E>,
    after: Option<String>,
) -> Result<Page<E::Record>, ApiError> {
    let page = PageRequest::new(Some(MAX_LIMIT), after.as_deref())?;
    let (caller, export) = (caller.clone(), export.clone());
    state
        .store(move |loyalty| export.page(loyalty, &caller, &page))
        .await
}

fn rows_of<E: Export>(page: Page<E::Record>) -> (Vec<Vec<String>>, Next) {
    let rows = page.items.iter().map(E::row).collect();
    let next = page.next_cursor.map_or(Next::Done, Next::After);
    (rows, next)
}

/// Exports the tenant's customers as CSV.
///
/// Tenant admin. One row per customer (erased ones left out), newest first, in the columns the
/// customer import reads: `name, phone, email, external_id, opening_points` (the balance now),
/// `opening_visits` (the visits so far).
#[utoipa::path(
    get, path = "/api/v1/exports/customers", tag = "exports", operation_id = "export_customers",
    responses((status = 200, description = "The customers, as CSV with a header row.", content_type = "text/csv", body = String)),
    security(("bearer" = []))
)]
pub(crate) async fn customers(
    state: web::Data<HttpState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    stream_csv(
        state,
        caller.0,
        Customers,
        &CUSTOMER_COLUMNS,
        "customers.csv",
    )
    .await
}

/// Exports the tenant's ledger over a range of local days as CSV.
///
/// Tenant admin. One row per entry made from the start of `from` to the end of `to` (the
/// tenant's days), in the order they were written.
#[utoipa::path(
    get, path = "/api/v1/exports/ledger", tag = "exports", operation_id = "export_ledger",
    params(LedgerExportQuery),
    responses(
        (status = 200, description = "The entries, as CSV with a header row.", content_type = "text/csv", body = String),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not a date."),
        (status = 422, description = "`validation_failed`: `to` before `from`."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn ledger(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<LedgerExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let from = local_day("from", &query.from)?;
    let to = local_day("to", &query.to)?;
    let principal = caller.0.clone();
    let range = state
        .store(move |loyalty| loyalty.day_range(&principal, from, to))
        .await?;
    stream_csv(
        state,
        caller.0,
        Ledger(range),
        &LEDGER_COLUMNS,
        "ledger.csv",
    )
    .await
}

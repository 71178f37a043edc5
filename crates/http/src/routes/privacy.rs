//! A customer's rights over their data: erasure, and a copy of everything held about them.

use actix_web::{HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::ids::CustomerId;
use loyalty_domain::lots::Lot;
use loyalty_domain::service::CustomerRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::path_id;
use crate::auth::Authenticated;
use crate::views::{CustomerView, LedgerEntryView, VoucherView, timestamp};
use crate::{ApiError, HttpState};

/// Points earned together that are still held.
#[derive(Serialize, ToSchema)]
pub(crate) struct LotView {
    /// The ledger entry that earned them.
    source_entry_id: String,
    earned_at: String,
    /// Null: they never expire.
    expires_at: Option<String>,
    remaining: i64,
}

impl From<Lot> for LotView {
    fn from(lot: Lot) -> Self {
        Self {
            source_entry_id: lot.source_entry_id.into_string(),
            earned_at: timestamp(lot.earned_at),
            expires_at: lot.expires_at.map(timestamp),
            remaining: lot.remaining,
        }
    }
}

/// Everything the service holds about one customer.
#[derive(Serialize, ToSchema)]
pub(crate) struct CustomerExportView {
    /// The profile and account, card token included.
    customer: CustomerView,
    /// Every ledger entry, newest first.
    ledger: Vec<LedgerEntryView>,
    /// Every voucher, newest first.
    vouchers: Vec<VoucherView>,
    /// The points still held, by the day they were earned.
    point_lots: Vec<LotView>,
}

impl From<CustomerRecord> for CustomerExportView {
    fn from(record: CustomerRecord) -> Self {
        Self {
            customer: record.customer.into(),
            ledger: record.entries.into_iter().map(Into::into).collect(),
            vouchers: record.vouchers.into_iter().map(Into::into).collect(),
            point_lots: record.lots.into_iter().map(Into::into).collect(),
        }
    }
}

/// Erases a customer.
///
/// Tenant admin. Their name, phone, email, external id and card token are gone (the card's URL
/// stops working), also from stored answers to earlier requests and from the feed's events. The
/// account, ledger and vouchers stay, with their amounts, so the tenant's totals and reports still
/// add up. A `customer.erased` event tells integrations. Erasing again succeeds and changes
/// nothing; every later read or change of the customer answers 404 `customer_erased`.
#[utoipa::path(
    delete, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "erase_customer",
    params(("id" = String, Path, description = "The customer's id.")),
    responses(
        (status = 204, description = "The customer is erased (or already was)."),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn erase(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    state
        .store(move |loyalty| loyalty.erase_customer(&caller.0, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Exports everything held about a customer.
///
/// Tenant admin. One document for a subject access request: the profile, every ledger entry,
/// every voucher and the points still held.
#[utoipa::path(
    get, path = "/api/v1/customers/{id}/export", tag = "customers", operation_id = "export_customer",
    params(("id" = String, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "Everything held about the customer.", body = CustomerExportView),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn export(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let record = state
        .store(move |loyalty| loyalty.customer_record(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CustomerExportView::from(record)))
}

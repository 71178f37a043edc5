//! What happens at the counter: visits, purchases, adjustments, reversals, and the ledger that
//! records them. Every change requires an `Idempotency-Key`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use loyalty_domain::Resource;
use loyalty_domain::activity::Purchase;
use loyalty_domain::idempotency::Rendered;
use loyalty_domain::ids::{CustomerId, LedgerEntryId};
use loyalty_domain::service::Posted;
use serde::{Deserialize, Serialize};

use super::change::Change;
use super::{PageQuery, path_id};
use crate::auth::Authenticated;
use crate::idempotency::render_json;
use crate::json::JsonBody;
use crate::views::{CustomerView, LedgerEntryView, PageView, VoucherView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub(crate) struct VisitBody {
    occurred_at: Option<DateTime<Utc>>,
    note: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct VisitResponse {
    #[schema(value_type = String)]
    ledger_entry_id: LedgerEntryId,
    visit_count: i64,
    points_earned: i64,
    milestone_reached: bool,
    /// The milestone reward's voucher, when this visit completed a card and the program has one.
    voucher: Option<VoucherView>,
    account: CustomerView,
}

fn visit_response(posted: &Posted) -> Rendered {
    render_json(
        201,
        &VisitResponse {
            ledger_entry_id: posted.entry.id.clone(),
            visit_count: posted.customer.account.visits,
            points_earned: posted.entry.points,
            milestone_reached: posted.reached_milestone(),
            voucher: posted.voucher.clone().map(VoucherView::from),
            account: CustomerView::account(posted.customer.clone()),
        },
    )
}

/// Records a visit.
///
/// A stamp and the program's points; the milestone voucher when it completes a card.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/visits", tag = "activity", operation_id = "record_visit",
    params(("id" = String, Path, description = "The customer's id."), crate::openapi::RequiredIdempotencyKey),
    request_body = VisitBody,
    responses(
        (status = 201, description = "The visit is on the ledger: a stamp, the program's points, and the milestone voucher when it completed a card.", body = VisitResponse),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`: the `Idempotency-Key` header is missing or unusable."),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
        (status = 409, description = "`conflict`: concurrent changes won repeatedly; retrying with the same key is safe."),
        (status = 422, description = "`visit_too_soon` (with `next_allowed_at`): the program's minimum time between visits has not passed. `validation_failed`: a field is out of range. `idempotency_key_reused`: the key was used with another body. `points_overflow`: the balance would pass its limit."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn visit(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
    body: JsonBody<VisitBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::keyed(&request, &body.canonical)?;
    let customer_id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let VisitBody { occurred_at, note } = body.value;
    change
        .run(
            state,
            caller,
            visit_response,
            move |loyalty, who, idempotent| {
                loyalty.record_visit(who, &customer_id, occurred_at, note.as_deref(), idempotent)
            },
        )
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_minor": 10500, "currency": "EUR", "reference": "receipt-0042"}))]
pub(crate) struct PurchaseBody {
    amount_minor: i64,
    currency: String,
    reference: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PurchaseResponse {
    #[schema(value_type = String)]
    ledger_entry_id: LedgerEntryId,
    points_earned: i64,
    account: CustomerView,
}

fn purchase_response(posted: &Posted) -> Rendered {
    render_json(
        201,
        &PurchaseResponse {
            ledger_entry_id: posted.entry.id.clone(),
            points_earned: posted.entry.points,
            account: CustomerView::account(posted.customer.clone()),
        },
    )
}

/// Records a purchase.
///
/// The points its spend earns under the program.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/purchases", tag = "activity", operation_id = "record_purchase",
    params(("id" = String, Path, description = "The customer's id."), crate::openapi::RequiredIdempotencyKey),
    request_body = PurchaseBody,
    responses(
        (status = 201, description = "The purchase is on the ledger with the points its spend earned.", body = PurchaseResponse),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`: the `Idempotency-Key` header is missing or unusable."),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
        (status = 409, description = "`conflict`: concurrent changes won repeatedly; retrying with the same key is safe."),
        (status = 422, description = "`currency_mismatch` (with `expected_currency`): the tenant trades in another currency. `validation_failed`: the amount is not positive or is below the program's minimum. `idempotency_key_reused`, `points_overflow`."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn purchase(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
    body: JsonBody<PurchaseBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::keyed(&request, &body.canonical)?;
    let customer_id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let PurchaseBody {
        amount_minor,
        currency,
        reference,
    } = body.value;
    change
        .run(
            state,
            caller,
            purchase_response,
            move |loyalty, who, idempotent| {
                let purchase = Purchase {
                    amount_minor,
                    currency: &currency,
                    reference: reference.as_deref(),
                };
                loyalty.record_purchase(who, &customer_id, purchase, idempotent)
            },
        )
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": -20, "reason": "duplicate stamp removed"}))]
pub(crate) struct AdjustmentBody {
    points: i64,
    reason: String,
    #[serde(default)]
    allow_negative: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AdjustmentResponse {
    #[schema(value_type = String)]
    ledger_entry_id: LedgerEntryId,
    points: i64,
    account: CustomerView,
}

fn adjustment_response(posted: &Posted) -> Rendered {
    render_json(
        201,
        &AdjustmentResponse {
            ledger_entry_id: posted.entry.id.clone(),
            points: posted.entry.points,
            account: CustomerView::account(posted.customer.clone()),
        },
    )
}

/// Adjusts a balance by hand.
///
/// Signed points with a reason. Tenant admin.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/adjustments", tag = "activity", operation_id = "adjust_points",
    params(("id" = String, Path, description = "The customer's id."), crate::openapi::RequiredIdempotencyKey),
    request_body = AdjustmentBody,
    responses(
        (status = 201, description = "The adjustment is on the ledger.", body = AdjustmentResponse),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`: the `Idempotency-Key` header is missing or unusable."),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
        (status = 409, description = "`conflict`: concurrent changes won repeatedly; retrying with the same key is safe."),
        (status = 422, description = "`insufficient_points` (with `balance` and `requested`): a deduction would take the balance below zero without `allow_negative`. `validation_failed`: zero points or no reason. `idempotency_key_reused`, `points_overflow`."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn adjust(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
    body: JsonBody<AdjustmentBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::keyed(&request, &body.canonical)?;
    let customer_id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let AdjustmentBody {
        points,
        reason,
        allow_negative,
    } = body.value;
    change
        .run(
            state,
            caller,
            adjustment_response,
            move |loyalty, who, idempotent| {
                loyalty.adjust(
                    who,
                    &customer_id,
                    points,
                    &reason,
                    allow_negative,
                    idempotent,
                )
            },
        )
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "purchase refunded at the till"}))]
pub(crate) struct ReversalBody {
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ReversalResponse {
    #[schema(value_type = String)]
    ledger_entry_id: LedgerEntryId,
    #[schema(value_type = Option<String>)]
    reversed_entry_id: Option<LedgerEntryId>,
    points: i64,
    /// The points had been spent: the refund left the balance below zero.
    balance_negative: bool,
    account: CustomerView,
}

fn reversal_response(posted: &Posted) -> Rendered {
    render_json(
        201,
        &ReversalResponse {
            ledger_entry_id: posted.entry.id.clone(),
            reversed_entry_id: posted.entry.reverses_entry_id.clone(),
            points: posted.entry.points,
            balance_negative: posted.customer.account.balance < 0,
            account: CustomerView::account(posted.customer.clone()),
        },
    )
}

/// Reverses a purchase's earning.
///
/// Takes back exactly what it gave, once; the balance may go below zero if the points were
/// spent.
#[utoipa::path(
    post, path = "/api/v1/ledger/{entry_id}/reversal", tag = "activity", operation_id = "reverse_entry",
    params(("entry_id" = String, Path, description = "The ledger entry to reverse."), crate::openapi::RequiredIdempotencyKey),
    request_body = ReversalBody,
    responses(
        (status = 201, description = "The reversal is on the ledger; it takes back exactly what the entry gave.", body = ReversalResponse),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`: the `Idempotency-Key` header is missing or unusable."),
        (status = 404, description = "`ledger_entry_not_found`: no entry has this id in the tenant."),
        (status = 409, description = "`already_reversed` (with `reversal_id`): the entry was reversed before. `conflict`: concurrent changes won repeatedly; retrying with the same key is safe."),
        (status = 422, description = "`not_reversible`: only a purchase's earning can be reversed. `validation_failed`: no reason. `idempotency_key_reused`, `points_overflow`."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn reverse(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
    body: JsonBody<ReversalBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::keyed(&request, &body.canonical)?;
    let entry_id = path_id(&path, LedgerEntryId::parse, Resource::LedgerEntry)?;
    let reason = body.value.reason;
    change
        .run(
            state,
            caller,
            reversal_response,
            move |loyalty, who, idempotent| loyalty.reverse(who, &entry_id, &reason, idempotent),
        )
        .await
}

/// Reads a customer's ledger.
///
/// Newest first.
#[utoipa::path(
    get, path = "/api/v1/customers/{id}/ledger", tag = "activity", operation_id = "customer_ledger",
    params(("id" = String, Path, description = "The customer's id."), PageQuery),
    responses(
        (status = 200, description = "The customer's ledger, newest first.", body = PageView<LedgerEntryView>),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn ledger(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let customer_id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let entries = state
        .store(move |loyalty| loyalty.ledger(&caller.0, &customer_id, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(entries, LedgerEntryView::from)))
}

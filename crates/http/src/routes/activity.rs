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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VisitBody {
    occurred_at: Option<DateTime<Utc>>,
    note: Option<String>,
}

#[derive(Serialize)]
struct VisitResponse {
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
            account: posted.customer.clone().into(),
        },
    )
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PurchaseBody {
    amount_minor: i64,
    currency: String,
    reference: Option<String>,
}

#[derive(Serialize)]
struct PurchaseResponse {
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
            account: posted.customer.clone().into(),
        },
    )
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdjustmentBody {
    points: i64,
    reason: String,
    #[serde(default)]
    allow_negative: bool,
}

#[derive(Serialize)]
struct AdjustmentResponse {
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
            account: posted.customer.clone().into(),
        },
    )
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReversalBody {
    reason: String,
}

#[derive(Serialize)]
struct ReversalResponse {
    ledger_entry_id: LedgerEntryId,
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
            account: posted.customer.clone().into(),
        },
    )
}

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

//! What happens at the counter: visits, purchases, adjustments, reversals, and the ledger that
//! records them. Every change requires an `Idempotency-Key`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use loyalty_domain::activity::Purchase;
use loyalty_domain::idempotency::{IdempotencyKey, Outcome};
use loyalty_domain::service::{Caller, Posted};
use serde::{Deserialize, Serialize};

use super::PageQuery;
use crate::auth::Authenticated;
use crate::blocking::blocking;
use crate::idempotency::{fingerprint, idempotent, render_json, required_key};
use crate::json::JsonBody;
use crate::request_context::current_request_id;
use crate::views::{CustomerView, LedgerEntryView, PageView, RedemptionView};
use crate::{ApiError, HttpState};

/// The response to an idempotent use case: the first response as stored with its key (marked
/// `Idempotent-Replayed: true` on retries), or `render`'s for a request that sent no key.
pub(crate) fn respond<T>(
    outcome: Outcome<T>,
    render: impl Fn(&T) -> (u16, String),
) -> HttpResponse {
    let reply = |status: u16, body: String, replayed: bool| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let mut response = HttpResponse::build(status);
        response.content_type("application/json");
        if replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.body(body)
    };
    match outcome {
        Outcome::Fresh(_, Some(first)) => reply(first.status, first.body, false),
        Outcome::Fresh(value, None) => {
            let (status, body) = render(&value);
            reply(status, body, false)
        }
        Outcome::Replayed(first) => reply(first.status, first.body, true),
    }
}

/// Everything an idempotent change needs from the request, gathered before the blocking work.
pub(crate) struct Change {
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub request_id: Option<String>,
}

impl Change {
    pub(crate) fn of(request: &HttpRequest, canonical_body: &str) -> Result<Self, ApiError> {
        Ok(Self {
            key: required_key(request)?,
            fingerprint: fingerprint(request, canonical_body),
            request_id: current_request_id(),
        })
    }
}

fn points_of(posted: &Posted) -> i64 {
    posted.primary().map_or(0, |entry| entry.points)
}

fn entry_id_of(posted: &Posted) -> String {
    posted
        .primary()
        .map(|entry| entry.id.clone())
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VisitBody {
    occurred_at: Option<DateTime<Utc>>,
    note: Option<String>,
}

#[derive(Serialize)]
struct VisitResponse {
    ledger_entry_id: String,
    visit_count: i64,
    points_earned: i64,
    milestone_reached: bool,
    /// The milestone reward's voucher, when this visit completed a card and the program has one.
    voucher: Option<RedemptionView>,
    account: CustomerView,
}

fn visit_response(posted: &Posted) -> (u16, String) {
    render_json(
        201,
        &VisitResponse {
            ledger_entry_id: entry_id_of(posted),
            visit_count: posted.customer.account.visits,
            points_earned: points_of(posted),
            milestone_reached: posted.reached_milestone(),
            voucher: posted.voucher.clone().map(RedemptionView::from),
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
    let change = Change::of(&request, &body.canonical)?;
    let customer_id = path.into_inner();
    let VisitBody { occurred_at, note } = body.value;
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id: change.request_id,
        };
        let idempotent = idempotent(change.key, change.fingerprint, &visit_response);
        state.loyalty.record_visit(
            &who,
            &customer_id,
            occurred_at,
            note.as_deref(),
            Some(idempotent),
        )
    })
    .await??;
    Ok(respond(outcome, visit_response))
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
    ledger_entry_id: String,
    points_earned: i64,
    account: CustomerView,
}

fn purchase_response(posted: &Posted) -> (u16, String) {
    render_json(
        201,
        &PurchaseResponse {
            ledger_entry_id: entry_id_of(posted),
            points_earned: points_of(posted),
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
    let change = Change::of(&request, &body.canonical)?;
    let customer_id = path.into_inner();
    let PurchaseBody {
        amount_minor,
        currency,
        reference,
    } = body.value;
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id: change.request_id,
        };
        let idempotent = idempotent(change.key, change.fingerprint, &purchase_response);
        let purchase = Purchase {
            amount_minor,
            currency: &currency,
            reference: reference.as_deref(),
        };
        state
            .loyalty
            .record_purchase(&who, &customer_id, purchase, Some(idempotent))
    })
    .await??;
    Ok(respond(outcome, purchase_response))
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
    ledger_entry_id: String,
    points: i64,
    account: CustomerView,
}

fn adjustment_response(posted: &Posted) -> (u16, String) {
    render_json(
        201,
        &AdjustmentResponse {
            ledger_entry_id: entry_id_of(posted),
            points: points_of(posted),
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
    let change = Change::of(&request, &body.canonical)?;
    let customer_id = path.into_inner();
    let AdjustmentBody {
        points,
        reason,
        allow_negative,
    } = body.value;
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id: change.request_id,
        };
        let idempotent = idempotent(change.key, change.fingerprint, &adjustment_response);
        state.loyalty.adjust(
            &who,
            &customer_id,
            points,
            &reason,
            allow_negative,
            Some(idempotent),
        )
    })
    .await??;
    Ok(respond(outcome, adjustment_response))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReversalBody {
    reason: String,
}

#[derive(Serialize)]
struct ReversalResponse {
    ledger_entry_id: String,
    reversed_entry_id: Option<String>,
    points: i64,
    /// The points had been spent: the refund left the balance below zero.
    balance_negative: bool,
    account: CustomerView,
}

fn reversal_response(posted: &Posted) -> (u16, String) {
    render_json(
        201,
        &ReversalResponse {
            ledger_entry_id: entry_id_of(posted),
            reversed_entry_id: posted.primary().and_then(|e| e.reverses_entry_id.clone()),
            points: points_of(posted),
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
    let change = Change::of(&request, &body.canonical)?;
    let entry_id = path.into_inner();
    let reason = body.value.reason;
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id: change.request_id,
        };
        let idempotent = idempotent(change.key, change.fingerprint, &reversal_response);
        state
            .loyalty
            .reverse(&who, &entry_id, &reason, Some(idempotent))
    })
    .await??;
    Ok(respond(outcome, reversal_response))
}

pub(crate) async fn ledger(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let customer_id = path.into_inner();
    let entries = blocking(move || state.loyalty.ledger(&caller.0, &customer_id, &page)).await??;
    Ok(HttpResponse::Ok().json(PageView::of(entries, LedgerEntryView::from)))
}

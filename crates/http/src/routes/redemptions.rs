//! Vouchers: bought with points, fulfilled at the counter by code or QR payload, cancelled.

use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::redemption::Redemption;
use loyalty_domain::redemption::RedemptionStatus;
use loyalty_domain::service::{Caller, Cancelled, Redeemed};
use loyalty_domain::store::{RedemptionFilter, VoucherLookup};
use loyalty_domain::validation::ValidationErrors;
use loyalty_domain::{LoyaltyError, Resource};
use serde::{Deserialize, Serialize};

use super::activity::{Change, respond};
use crate::auth::Authenticated;
use crate::blocking::blocking;
use crate::idempotency::{fingerprint, idempotent, optional_key, render_json};
use crate::json::JsonBody;
use crate::request_context::current_request_id;
use crate::views::{CustomerView, PageView, RedemptionView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedeemBody {
    reward_id: String,
}

#[derive(Serialize)]
struct RedeemedResponse {
    #[serde(flatten)]
    redemption: RedemptionView,
    account: CustomerView,
}

fn redeemed_response(redeemed: &Redeemed) -> (u16, String) {
    render_json(
        201,
        &RedeemedResponse {
            redemption: redeemed.redemption.clone().into(),
            account: redeemed.customer.clone().into(),
        },
    )
}

pub(crate) async fn redeem(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
    body: JsonBody<RedeemBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::of(&request, &body.canonical)?;
    let customer_id = path.into_inner();
    let reward_id = body.value.reward_id;
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id: change.request_id,
        };
        let idempotent = idempotent(change.key, change.fingerprint, &redeemed_response);
        state
            .loyalty
            .redeem(&who, &customer_id, &reward_id, Some(idempotent))
    })
    .await??;
    Ok(respond(outcome, redeemed_response))
}

/// `{"code": …}` or `{"qr_payload": …}`, exactly one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FulfilBody {
    code: Option<String>,
    qr_payload: Option<String>,
}

fn fulfilled_response(voucher: &Redemption) -> (u16, String) {
    render_json(200, &RedemptionView::from(voucher.clone()))
}

/// Fulfils a voucher; an `Idempotency-Key` is accepted, so a till that retries gets its 200 again
/// instead of `already_fulfilled`.
pub(crate) async fn fulfil(
    state: web::Data<HttpState>,
    caller: Authenticated,
    request: HttpRequest,
    body: JsonBody<FulfilBody>,
) -> Result<HttpResponse, ApiError> {
    let key = optional_key(&request)?;
    let fingerprint = fingerprint(&request, &body.canonical);
    let lookup = match body.value {
        FulfilBody {
            code: Some(code),
            qr_payload: None,
        } => VoucherLookup::Code(code),
        FulfilBody {
            code: None,
            qr_payload: Some(qr),
        } => VoucherLookup::QrPayload(qr),
        _ => {
            let missing =
                ValidationErrors::single("code", "send exactly one of code and qr_payload");
            return Err(LoyaltyError::from(missing).into());
        }
    };
    let key_id = caller.0.key_id.clone();
    state
        .fulfil_throttle
        .check(&key_id)
        .map_err(|retry_after| ApiError::TooManyWrongCodes { retry_after })?;
    let service = state.clone();
    let fulfilled = blocking(move || {
        let idempotent = key.map(|key| idempotent(key, fingerprint, &fulfilled_response));
        service.loyalty.fulfil(&caller.0, lookup, idempotent)
    })
    .await?;
    match fulfilled {
        Ok(outcome) => Ok(respond(outcome, fulfilled_response)),
        Err(LoyaltyError::NotFound(Resource::Redemption)) => {
            state
                .fulfil_throttle
                .record_failure(&key_id)
                .map_err(|retry_after| ApiError::TooManyWrongCodes { retry_after })?;
            Err(LoyaltyError::NotFound(Resource::Redemption).into())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedemptionQuery {
    limit: Option<u32>,
    after: Option<String>,
    status: Option<String>,
    customer_id: Option<String>,
}

pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<RedemptionQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = loyalty_domain::page::PageRequest::new(query.limit, query.after.as_deref())?;
    let status = query
        .status
        .map(|s| {
            RedemptionStatus::parse(&s).ok_or_else(|| {
                ApiError::InvalidQuery(format!(
                    "status {s:?} is not issued, fulfilled, cancelled or expired"
                ))
            })
        })
        .transpose()?;
    let filter = RedemptionFilter {
        status,
        customer_id: query.customer_id,
    };
    let vouchers = blocking(move || state.loyalty.redemptions(&caller.0, &filter, &page)).await??;
    Ok(HttpResponse::Ok().json(PageView::of(vouchers, RedemptionView::from)))
}

pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let voucher = blocking(move || state.loyalty.redemption(&caller.0, &id)).await??;
    Ok(HttpResponse::Ok().json(RedemptionView::from(voucher)))
}

#[derive(Serialize)]
struct CancelledResponse {
    #[serde(flatten)]
    redemption: RedemptionView,
    account: CustomerView,
}

fn cancelled_response(cancelled: &Cancelled) -> (u16, String) {
    render_json(
        200,
        &CancelledResponse {
            redemption: cancelled.redemption.clone().into(),
            account: cancelled.customer.clone().into(),
        },
    )
}

/// Cancels a voucher; an `Idempotency-Key` is accepted, so a retry gets the first response.
pub(crate) async fn cancel(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let key = optional_key(&request)?;
    let fingerprint = fingerprint(&request, "");
    let id = path.into_inner();
    let request_id = current_request_id();
    let outcome = blocking(move || {
        let who = Caller {
            principal: &caller.0,
            request_id,
        };
        let idempotent = key.map(|key| idempotent(key, fingerprint, &cancelled_response));
        state.loyalty.cancel_redemption(&who, &id, idempotent)
    })
    .await??;
    Ok(respond(outcome, cancelled_response))
}

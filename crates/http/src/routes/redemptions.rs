//! Vouchers: bought with points, fulfilled at the counter by code or QR payload, cancelled.

use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::idempotency::Rendered;
use loyalty_domain::ids::{CustomerId, RewardId, VoucherId};
use loyalty_domain::page::{Page, PageRequest};
use loyalty_domain::service::{Cancelled, Redeemed};
use loyalty_domain::store::{VoucherFilter, VoucherLookup};
use loyalty_domain::validation::ValidationErrors;
use loyalty_domain::voucher::{Voucher, VoucherStatus};
use loyalty_domain::{LoyaltyError, Resource};
use serde::{Deserialize, Serialize};

use super::change::Change;
use super::path_id;
use crate::auth::Authenticated;
use crate::idempotency::render_json;
use crate::json::JsonBody;
use crate::throttle::Trier;
use crate::views::{CustomerView, PageView, VoucherView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedeemBody {
    reward_id: String,
}

#[derive(Serialize)]
struct RedeemedResponse {
    #[serde(flatten)]
    voucher: VoucherView,
    account: CustomerView,
}

fn redeemed_response(redeemed: &Redeemed) -> Rendered {
    render_json(
        201,
        &RedeemedResponse {
            voucher: redeemed.voucher.clone().into(),
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
    let change = Change::keyed(&request, &body.canonical)?;
    let customer_id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let reward_id = path_id(&body.value.reward_id, RewardId::parse, Resource::Reward)?;
    change
        .run(
            state,
            caller,
            redeemed_response,
            move |loyalty, who, idempotent| {
                loyalty.redeem(who, &customer_id, &reward_id, idempotent)
            },
        )
        .await
}

/// `{"code": …}` or `{"qr_payload": …}`, exactly one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FulfilBody {
    code: Option<String>,
    qr_payload: Option<String>,
}

fn fulfilled_response(voucher: &Voucher) -> Rendered {
    render_json(200, &VoucherView::from(voucher.clone()))
}

/// Fulfils a voucher; an `Idempotency-Key` is accepted, so a till that retries gets its 200 again
/// instead of `already_fulfilled`.
pub(crate) async fn fulfil(
    state: web::Data<HttpState>,
    caller: Authenticated,
    request: HttpRequest,
    body: JsonBody<FulfilBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::optionally_keyed(&request, &body.canonical)?;
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
    let tenant = caller
        .0
        .tenant_id
        .as_ref()
        .map(|tenant| tenant.as_str().to_owned())
        .unwrap_or_default();
    let trier = Trier {
        key: &key_id,
        tenant: &tenant,
    };
    state
        .fulfil_throttle
        .check(trier)
        .map_err(|retry_after| ApiError::TooManyWrongCodes { retry_after })?;
    let fulfilled = change
        .run(
            state.clone(),
            caller,
            fulfilled_response,
            move |loyalty, who, idempotent| loyalty.fulfil(who.principal, lookup, idempotent),
        )
        .await;
    if let Err(ApiError::Domain(LoyaltyError::NotFound(Resource::Voucher))) = &fulfilled {
        state
            .fulfil_throttle
            .record_failure(trier)
            .map_err(|retry_after| ApiError::TooManyWrongCodes { retry_after })?;
    }
    fulfilled
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
    let page = PageRequest::new(query.limit, query.after.as_deref())?;
    let status = query
        .status
        .map(|s| {
            VoucherStatus::parse(&s).ok_or_else(|| {
                ApiError::InvalidQuery(format!(
                    "status {s:?} is not issued, fulfilled, cancelled or expired"
                ))
            })
        })
        .transpose()?;
    let customer_id = match query.customer_id.as_deref().map(CustomerId::parse) {
        None => None,
        Some(Some(id)) => Some(id),
        // Text that is no customer id is no customer's: nothing matches.
        Some(None) => {
            let nothing: Page<Voucher> = Page {
                items: Vec::new(),
                next_cursor: None,
            };
            return Ok(HttpResponse::Ok().json(PageView::of(nothing, VoucherView::from)));
        }
    };
    let filter = VoucherFilter {
        status,
        customer_id,
    };
    let vouchers = state
        .store(move |loyalty| loyalty.vouchers(&caller.0, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(vouchers, VoucherView::from)))
}

pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, VoucherId::parse, Resource::Voucher)?;
    let voucher = state
        .store(move |loyalty| loyalty.voucher(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(VoucherView::from(voucher)))
}

#[derive(Serialize)]
struct CancelledResponse {
    #[serde(flatten)]
    voucher: VoucherView,
    account: CustomerView,
}

fn cancelled_response(cancelled: &Cancelled) -> Rendered {
    render_json(
        200,
        &CancelledResponse {
            voucher: cancelled.voucher.clone().into(),
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
    let change = Change::optionally_keyed(&request, "")?;
    let id = path_id(&path, VoucherId::parse, Resource::Voucher)?;
    change
        .run(
            state,
            caller,
            cancelled_response,
            move |loyalty, who, idempotent| loyalty.cancel_voucher(who, &id, idempotent),
        )
        .await
}

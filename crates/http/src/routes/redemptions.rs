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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reward_id": "0192f0c4-5b1e-7c2a-9d1e-3f4a5b6c7d8e"}))]
pub(crate) struct RedeemBody {
    reward_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
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
            account: CustomerView::account(redeemed.customer.clone()),
        },
    )
}

/// Redeems points for a reward.
///
/// Deducts the points, takes an item from stock and issues a voucher, in one transaction.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/redemptions", tag = "redemptions", operation_id = "redeem_reward",
    params(("id" = String, Path, description = "The customer's id."), crate::openapi::RequiredIdempotencyKey),
    request_body = RedeemBody,
    responses(
        (status = 201, description = "The voucher, with the customer's account after the spend.", body = RedeemedResponse),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`: the `Idempotency-Key` header is missing or unusable."),
        (status = 404, description = "`customer_not_found`, `reward_not_found`: the tenant has no such customer or reward. `customer_erased`: the customer was erased."),
        (status = 409, description = "`out_of_stock`: the reward's stock is used up. `conflict`: concurrent changes won repeatedly; retrying with the same key is safe."),
        (status = 422, description = "`insufficient_points` (with `balance` and `requested`): the balance does not cover the reward. `reward_inactive`: the reward takes no new redemptions. `idempotency_key_reused`: the key was used with another body."),
    ),
    security(("bearer" = []))
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "K7MQ-2XRD"}))]
pub(crate) struct FulfilBody {
    code: Option<String>,
    qr_payload: Option<String>,
}

fn fulfilled_response(voucher: &Voucher) -> Rendered {
    render_json(200, &VoucherView::from(voucher.clone()))
}

/// Fulfils a voucher at the counter.
///
/// By its `code` or `qr_payload`, exactly once. An `Idempotency-Key` is accepted, so a till
/// that retries gets its 200 again instead of `already_fulfilled`.
#[utoipa::path(
    post, path = "/api/v1/redemptions/fulfill", tag = "redemptions", operation_id = "fulfil_voucher",
    params(crate::openapi::OptionalIdempotencyKey),
    request_body = FulfilBody,
    responses(
        (status = 200, description = "The voucher, now fulfilled.", body = VoucherView),
        (status = 400, description = "`invalid_idempotency_key`: the `Idempotency-Key` header is unusable."),
        (status = 404, description = "`redemption_not_found`: no live voucher of the tenant has this code or QR payload. Each counts against the key's and the tenant's wrong-code allowance."),
        (status = 409, description = "`already_fulfilled`, `redemption_expired`, `redemption_cancelled`: the voucher cannot be fulfilled any more. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`validation_failed`: not exactly one of `code` and `qr_payload`. `idempotency_key_reused`: the key was used with another body."),
    ),
    security(("bearer" = []))
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedemptionQuery {
    limit: Option<u32>,
    after: Option<String>,
    status: Option<String>,
    customer_id: Option<String>,
}

/// Lists vouchers.
///
/// Newest first, optionally of one `status` or one `customer_id`.
#[utoipa::path(
    get, path = "/api/v1/redemptions", tag = "redemptions", operation_id = "list_vouchers",
    params(RedemptionQuery),
    responses((status = 200, description = "A page of vouchers.", body = PageView<VoucherView>)),
    security(("bearer" = []))
)]
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

/// Reads a voucher.
///
/// One past its expiry shows as expired.
#[utoipa::path(
    get, path = "/api/v1/redemptions/{id}", tag = "redemptions", operation_id = "get_voucher",
    params(("id" = String, Path, description = "The voucher's id.")),
    responses(
        (status = 200, description = "The voucher; one past its expiry shows as expired.", body = VoucherView),
        (status = 404, description = "`redemption_not_found`: the tenant has no voucher with this id."),
    ),
    security(("bearer" = []))
)]
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

#[derive(Serialize, utoipa::ToSchema)]
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
            account: CustomerView::account(cancelled.customer.clone()),
        },
    )
}

/// Cancels a voucher.
///
/// Its points come back once, as a refund entry, and its stock item returns. An
/// `Idempotency-Key` is accepted, so a retry gets the first response.
#[utoipa::path(
    post, path = "/api/v1/redemptions/{id}/cancel", tag = "redemptions", operation_id = "cancel_voucher",
    params(("id" = String, Path, description = "The voucher's id."), crate::openapi::OptionalIdempotencyKey),
    responses(
        (status = 200, description = "The voucher, cancelled, with the customer's account after the refund.", body = CancelledResponse),
        (status = 400, description = "`invalid_idempotency_key`: the `Idempotency-Key` header is unusable."),
        (status = 404, description = "`redemption_not_found`: the tenant has no voucher with this id."),
        (status = 409, description = "`already_fulfilled`, `redemption_expired`, `redemption_cancelled`: the voucher cannot be cancelled any more. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`idempotency_key_reused`: the key was used with another request."),
    ),
    security(("bearer" = []))
)]
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

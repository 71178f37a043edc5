//! Customers, for staff at the counter.

use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::LoyaltyError;
use loyalty_domain::Resource;
use loyalty_domain::customer::{Customer, CustomerDetails, CustomerLookup};
use loyalty_domain::idempotency::Rendered;
use loyalty_domain::ids::CustomerId;
use loyalty_domain::page::{Page, PageError, PageRequest};
use loyalty_domain::search::{CustomerQuery as CustomerSearch, SearchCursor};
use loyalty_domain::service::CustomerChanges;
use serde::Deserialize;

use super::change::Change;
use super::path_id;
use crate::auth::Authenticated;
use crate::idempotency::render_json;
use crate::json::{JsonBody, present};
use crate::views::{CustomerView, PageView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Zoë Müller", "phone": "+4915123456789"}))]
pub(crate) struct NewCustomerBody {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "zoe@example.com", "external_id": null}))]
pub(crate) struct CustomerChangesBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    external_id: Option<Option<String>>,
}

/// A list's `?limit=&after=`, a search, or one exact lookup.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerQuery {
    limit: Option<u32>,
    after: Option<String>,
    /// Search text, at least 2 characters: a name word's beginning (case and accents
    /// ignored), an email's beginning, a phone's last 4 or more digits, or an external id.
    q: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
}

fn enrolment_response(customer: &Customer) -> Rendered {
    render_json(201, &CustomerView::from(customer.clone()))
}

/// Enrols a customer.
///
/// At least one of phone, email and external id. An `Idempotency-Key` is accepted, so a
/// retried enrolment gets the first response rather than a conflict with itself.
#[utoipa::path(
    post, path = "/api/v1/customers", tag = "customers", operation_id = "enrol_customer",
    params(crate::openapi::OptionalIdempotencyKey),
    request_body = NewCustomerBody,
    responses(
        (status = 201, description = "The customer, with an empty account and a card token.", body = CustomerView),
        (status = 400, description = "`invalid_idempotency_key`: the `Idempotency-Key` header is unusable."),
        (status = 409, description = "`customer_exists` (with `field` and `existing_id`): another customer of the tenant has this phone, email or external id. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`validation_failed` (with `errors`): no identifier, or one that is not a phone number or email. `idempotency_key_reused`: the key was used with another body."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn enrol(
    state: web::Data<HttpState>,
    caller: Authenticated,
    request: HttpRequest,
    body: JsonBody<NewCustomerBody>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::optionally_keyed(&request, &body.canonical)?;
    let b = body.value;
    let details = CustomerDetails {
        name: b.name,
        phone: b.phone,
        email: b.email,
        external_id: b.external_id,
    };
    change
        .run(
            state,
            caller,
            enrolment_response,
            move |loyalty, who, idempotent| loyalty.enrol(who.principal, details, idempotent),
        )
        .await
}

/// Lists, searches or finds customers.
///
/// Newest first; or, with `q`, the customers matching a search, best matches first (external
/// id, then phone ending, exact email, whole name words, email beginning, name word
/// beginnings); or the one with an exact `phone`, `email` or `external_id`.
#[utoipa::path(
    get, path = "/api/v1/customers", tag = "customers", operation_id = "list_customers",
    params(CustomerQuery),
    responses(
        (status = 200, description = "A page of customers; a look-up answers the match or none, without a cursor.", body = PageView<CustomerView>),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::new(query.limit, query.after.as_deref())?;
    let lookups: Vec<CustomerLookup> = [
        query.phone.map(CustomerLookup::Phone),
        query.email.map(CustomerLookup::Email),
        query.external_id.map(CustomerLookup::ExternalId),
    ]
    .into_iter()
    .flatten()
    .collect();
    if lookups.len() + usize::from(query.q.is_some()) > 1 {
        return Err(ApiError::AmbiguousLookup);
    }
    let customers = match query.q {
        Some(text) => {
            let search = CustomerSearch::parse(&text).map_err(LoyaltyError::from)?;
            let after = page
                .after
                .as_deref()
                .map(|key| SearchCursor::from_key(key).ok_or(PageError::Cursor))
                .transpose()?;
            state
                .store(move |loyalty| {
                    loyalty.search_customers(&caller.0, &search, &page, after.as_ref())
                })
                .await?
        }
        None => {
            state
                .store(move |loyalty| match lookups.into_iter().next() {
                    Some(lookup) => loyalty.find_customer(&caller.0, lookup).map(|found| Page {
                        items: found.into_iter().collect(),
                        next_cursor: None,
                    }),
                    None => loyalty.customers(&caller.0, &page),
                })
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(PageView::of(customers, CustomerView::from)))
}

/// Reads a customer.
///
/// With their account's totals and tier.
#[utoipa::path(
    get, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "get_customer",
    params(("id" = String, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The customer with their account's totals and tier.", body = CustomerView),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let customer = state
        .store(move |loyalty| loyalty.customer(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

/// Changes a customer's details.
///
/// Any subset; `null` clears one, but one identifier remains.
#[utoipa::path(
    patch, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "update_customer",
    params(("id" = String, Path, description = "The customer's id.")),
    request_body = CustomerChangesBody,
    responses(
        (status = 200, description = "The customer as changed.", body = CustomerView),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
        (status = 409, description = "`customer_exists` (with `field` and `existing_id`): another customer has this identifier. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`validation_failed` (with `errors`): a value is not valid, or no identifier would remain."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: JsonBody<CustomerChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let b = body.value;
    let changes = CustomerChanges {
        name: b.name,
        phone: b.phone,
        email: b.email,
        external_id: b.external_id,
    };
    let customer = state
        .store(move |loyalty| loyalty.update_customer(&caller.0, &id, changes))
        .await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

/// Gives the customer a new card token.
///
/// The old token stops opening the card at once: for a lost phone or a link shared too widely.
/// The answer carries the new `card_token`.
#[utoipa::path(
    post, path = "/api/v1/customers/{id}/card-token", tag = "customers", operation_id = "rotate_card_token",
    params(("id" = String, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The customer with their new card token.", body = CustomerView),
        (status = 404, description = "`customer_not_found`: no customer has this id in the tenant. `customer_erased`: the customer was erased."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn rotate_card_token(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, CustomerId::parse, Resource::Customer)?;
    let customer = state
        .store(move |loyalty| loyalty.rotate_card_token(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(customer)))
}

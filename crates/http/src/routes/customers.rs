//! Customers, for staff at the counter.

use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::customer::{Customer, CustomerDetails, CustomerLookup};
use loyalty_domain::idempotency::Rendered;
use loyalty_domain::ids::CustomerId;
use loyalty_domain::page::{Page, PageRequest};
use loyalty_domain::service::CustomerChanges;
use serde::Deserialize;

use super::change::Change;
use super::path_id;
use crate::auth::Authenticated;
use crate::idempotency::render_json;
use crate::json::{JsonBody, present};
use crate::views::{CustomerView, PageView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCustomerBody {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// A list's `?limit=&after=`, or one exact lookup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerQuery {
    limit: Option<u32>,
    after: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
}

fn enrolment_response(customer: &Customer) -> Rendered {
    render_json(201, &CustomerView::from(customer.clone()))
}

/// Enrols a customer; an `Idempotency-Key` is accepted, so a retried enrolment gets the first
/// response rather than a conflict with itself.
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
    if lookups.len() > 1 {
        return Err(ApiError::AmbiguousLookup);
    }
    let customers = state
        .store(move |loyalty| match lookups.into_iter().next() {
            Some(lookup) => loyalty.find_customer(&caller.0, lookup).map(|found| Page {
                items: found.into_iter().collect(),
                next_cursor: None,
            }),
            None => loyalty.customers(&caller.0, &page),
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(customers, CustomerView::from)))
}

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

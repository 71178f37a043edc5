//! Route table. Each path answers a method it does not support with 405 and `Allow`.

mod activity;
mod audit;
mod cards;
mod change;
mod customers;
mod docs;
mod exports;
mod feed;
mod health;
mod imports;

/// The customer import's path: its body is a file, held to a limit of its own.
pub(crate) const IMPORT_CUSTOMERS_PATH: &str = "/api/v1/imports/customers";
mod keys;
mod metrics;
mod privacy;
mod program;
mod public_tenant;
mod redemptions;
mod reports;
mod rewards;
mod tenants;
mod webhooks;

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, web};
use serde::Deserialize;

use loyalty_domain::{LoyaltyError, Resource};

pub use docs::openapi_document;

use crate::ApiError;

/// One path and the handler of each method it serves.
struct Endpoint {
    path: &'static str,
    methods: Vec<(Method, Route)>,
}

fn endpoint(path: &'static str, methods: Vec<(Method, Route)>) -> Endpoint {
    Endpoint { path, methods }
}

fn get(handler: Route) -> (Method, Route) {
    (Method::GET, handler)
}

fn post(handler: Route) -> (Method, Route) {
    (Method::POST, handler)
}

/// Every endpoint the service serves, in matching order. The OpenAPI document describes exactly
/// these (a test holds the two together).
fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint("/health/live", vec![get(web::get().to(health::live))]),
        endpoint("/health/ready", vec![get(web::get().to(health::ready))]),
        endpoint("/metrics", vec![get(web::get().to(metrics::scrape))]),
        endpoint(
            "/api/openapi.json",
            vec![get(web::get().to(docs::openapi_json))],
        ),
        endpoint(
            "/api/public/tenant-meta",
            vec![get(web::get().to(public_tenant::meta))],
        ),
        endpoint(
            "/api/public/tenant-theme",
            vec![get(web::get().to(public_tenant::theme))],
        ),
        endpoint(
            "/api/public/tenant-manifest",
            vec![get(web::get().to(public_tenant::manifest))],
        ),
        endpoint(
            "/api/public/cards/{card_token}",
            vec![get(web::get().to(cards::show))],
        ),
        endpoint(
            "/api/v1/tenants",
            vec![
                get(web::get().to(tenants::list)),
                post(web::post().to(tenants::create)),
            ],
        ),
        endpoint(
            "/api/v1/tenants/{id}",
            vec![
                get(web::get().to(tenants::show)),
                (Method::PATCH, web::patch().to(tenants::update)),
            ],
        ),
        endpoint(
            "/api/v1/tenants/{id}/api-keys",
            vec![
                get(web::get().to(tenants::list_keys)),
                post(web::post().to(tenants::issue_key)),
            ],
        ),
        endpoint(
            "/api/v1/tenants/{id}/api-keys/{key_id}",
            vec![(Method::DELETE, web::delete().to(tenants::revoke_key))],
        ),
        endpoint(
            "/api/v1/api-keys",
            vec![
                get(web::get().to(keys::list)),
                post(web::post().to(keys::issue)),
            ],
        ),
        endpoint(
            "/api/v1/api-keys/{id}",
            vec![(Method::DELETE, web::delete().to(keys::revoke))],
        ),
        endpoint("/api/v1/events", vec![get(web::get().to(feed::list))]),
        endpoint("/api/v1/audit", vec![get(web::get().to(audit::list))]),
        endpoint(
            "/api/v1/exports/customers",
            vec![get(web::get().to(exports::customers))],
        ),
        endpoint(
            "/api/v1/exports/ledger",
            vec![get(web::get().to(exports::ledger))],
        ),
        endpoint(
            IMPORT_CUSTOMERS_PATH,
            vec![post(web::post().to(imports::customers))],
        ),
        endpoint(
            "/api/v1/reports/summary",
            vec![get(web::get().to(reports::summary))],
        ),
        endpoint(
            "/api/v1/reports/daily",
            vec![get(web::get().to(reports::daily))],
        ),
        endpoint(
            "/api/v1/reports/top-customers",
            vec![get(web::get().to(reports::top_customers))],
        ),
        endpoint(
            "/api/v1/webhooks",
            vec![
                get(web::get().to(webhooks::list)),
                post(web::post().to(webhooks::create)),
            ],
        ),
        endpoint(
            "/api/v1/webhooks/{id}",
            vec![
                get(web::get().to(webhooks::show)),
                (Method::PATCH, web::patch().to(webhooks::update)),
                (Method::DELETE, web::delete().to(webhooks::delete)),
            ],
        ),
        endpoint(
            "/api/v1/webhooks/{id}/rotate-secret",
            vec![post(web::post().to(webhooks::rotate_secret))],
        ),
        endpoint(
            "/api/v1/webhooks/{id}/deliveries",
            vec![get(web::get().to(webhooks::deliveries))],
        ),
        endpoint(
            "/api/v1/program",
            vec![
                get(web::get().to(program::show)),
                (Method::PUT, web::put().to(program::replace)),
            ],
        ),
        endpoint(
            "/api/v1/customers",
            vec![
                get(web::get().to(customers::list)),
                post(web::post().to(customers::enrol)),
            ],
        ),
        endpoint(
            "/api/v1/customers/{id}",
            vec![
                get(web::get().to(customers::show)),
                (Method::PATCH, web::patch().to(customers::update)),
                (Method::DELETE, web::delete().to(privacy::erase)),
            ],
        ),
        endpoint(
            "/api/v1/customers/{id}/export",
            vec![get(web::get().to(privacy::export))],
        ),
        endpoint(
            "/api/v1/customers/{id}/card-token",
            vec![post(web::post().to(customers::rotate_card_token))],
        ),
        endpoint(
            "/api/v1/customers/{id}/visits",
            vec![post(web::post().to(activity::visit))],
        ),
        endpoint(
            "/api/v1/customers/{id}/purchases",
            vec![post(web::post().to(activity::purchase))],
        ),
        endpoint(
            "/api/v1/customers/{id}/adjustments",
            vec![post(web::post().to(activity::adjust))],
        ),
        endpoint(
            "/api/v1/customers/{id}/ledger",
            vec![get(web::get().to(activity::ledger))],
        ),
        endpoint(
            "/api/v1/ledger/{entry_id}/reversal",
            vec![post(web::post().to(activity::reverse))],
        ),
        endpoint(
            "/api/v1/rewards",
            vec![
                get(web::get().to(rewards::list)),
                post(web::post().to(rewards::create)),
            ],
        ),
        endpoint(
            "/api/v1/rewards/{id}",
            vec![
                get(web::get().to(rewards::show)),
                (Method::PATCH, web::patch().to(rewards::update)),
            ],
        ),
        endpoint(
            "/api/v1/customers/{id}/redemptions",
            vec![post(web::post().to(redemptions::redeem))],
        ),
        // Before /redemptions/{id}, which would otherwise take "fulfill" for an id.
        endpoint(
            "/api/v1/redemptions/fulfill",
            vec![post(web::post().to(redemptions::fulfil))],
        ),
        endpoint(
            "/api/v1/redemptions",
            vec![get(web::get().to(redemptions::list))],
        ),
        endpoint(
            "/api/v1/redemptions/{id}",
            vec![get(web::get().to(redemptions::show))],
        ),
        endpoint(
            "/api/v1/redemptions/{id}/cancel",
            vec![post(web::post().to(redemptions::cancel))],
        ),
    ]
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for Endpoint { path, methods } in endpoints() {
        let allow = methods
            .iter()
            .map(|(method, _)| method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let resource = methods.into_iter().fold(
            web::resource(path).default_service(web::to(move || {
                let allow = allow.clone();
                async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
            })),
            |resource, (_, route)| resource.route(route),
        );
        cfg.service(resource);
    }
    docs::configure_swagger_ui(cfg);
}

/// Each path the service serves with the methods it accepts there, as `("GET", "/api/v1/...")`.
pub fn served_operations() -> Vec<(String, &'static str)> {
    endpoints()
        .into_iter()
        .flat_map(|Endpoint { path, methods }| {
            methods
                .into_iter()
                .map(move |(method, _)| (method.as_str().to_owned(), path))
        })
        .collect()
}

pub(crate) async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// `?limit=&after=` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<u32>,
    after: Option<String>,
}

impl PageQuery {
    pub(crate) fn request(&self) -> Result<loyalty_domain::page::PageRequest, ApiError> {
        Ok(loyalty_domain::page::PageRequest::new(
            self.limit,
            self.after.as_deref(),
        )?)
    }
}

/// A record's id from the path, parsed once here: text that is no id names no record, so it is
/// answered like an id that is not there.
fn path_id<I>(raw: &str, parse: fn(&str) -> Option<I>, resource: Resource) -> Result<I, ApiError> {
    parse(raw).ok_or(ApiError::Domain(LoyaltyError::NotFound(resource)))
}

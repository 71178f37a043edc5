//! Route table. Each resource answers a method it does not support with 405 and `Allow`.

mod activity;
mod cards;
mod change;
mod customers;
mod health;
mod keys;
mod program;
mod public_tenant;
mod redemptions;
mod rewards;
mod tenants;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use loyalty_domain::{LoyaltyError, Resource};

use crate::ApiError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health/live", "GET").route(web::get().to(health::live)))
        .service(resource("/health/ready", "GET").route(web::get().to(health::ready)))
        .service(
            resource("/api/public/tenant-meta", "GET").route(web::get().to(public_tenant::meta)),
        )
        .service(
            resource("/api/public/tenant-theme", "GET").route(web::get().to(public_tenant::theme)),
        )
        .service(
            resource("/api/public/tenant-manifest", "GET")
                .route(web::get().to(public_tenant::manifest)),
        )
        .service(
            resource("/api/public/cards/{card_token}", "GET").route(web::get().to(cards::show)),
        )
        .service(
            web::scope("/api/v1")
                .service(
                    resource("/tenants", "GET, POST")
                        .route(web::get().to(tenants::list))
                        .route(web::post().to(tenants::create)),
                )
                .service(
                    resource("/tenants/{id}", "GET, PATCH")
                        .route(web::get().to(tenants::show))
                        .route(web::patch().to(tenants::update)),
                )
                .service(
                    resource("/tenants/{id}/api-keys", "POST")
                        .route(web::post().to(tenants::issue_key)),
                )
                .service(
                    resource("/api-keys", "GET, POST")
                        .route(web::get().to(keys::list))
                        .route(web::post().to(keys::issue)),
                )
                .service(resource("/api-keys/{id}", "DELETE").route(web::delete().to(keys::revoke)))
                .service(
                    resource("/program", "GET, PUT")
                        .route(web::get().to(program::show))
                        .route(web::put().to(program::replace)),
                )
                .service(
                    resource("/customers", "GET, POST")
                        .route(web::get().to(customers::list))
                        .route(web::post().to(customers::enrol)),
                )
                .service(
                    resource("/customers/{id}", "GET, PATCH")
                        .route(web::get().to(customers::show))
                        .route(web::patch().to(customers::update)),
                )
                .service(
                    resource("/customers/{id}/visits", "POST")
                        .route(web::post().to(activity::visit)),
                )
                .service(
                    resource("/customers/{id}/purchases", "POST")
                        .route(web::post().to(activity::purchase)),
                )
                .service(
                    resource("/customers/{id}/adjustments", "POST")
                        .route(web::post().to(activity::adjust)),
                )
                .service(
                    resource("/customers/{id}/ledger", "GET")
                        .route(web::get().to(activity::ledger)),
                )
                .service(
                    resource("/ledger/{entry_id}/reversal", "POST")
                        .route(web::post().to(activity::reverse)),
                )
                .service(
                    resource("/rewards", "GET, POST")
                        .route(web::get().to(rewards::list))
                        .route(web::post().to(rewards::create)),
                )
                .service(
                    resource("/rewards/{id}", "GET, PATCH")
                        .route(web::get().to(rewards::show))
                        .route(web::patch().to(rewards::update)),
                )
                .service(
                    resource("/customers/{id}/redemptions", "POST")
                        .route(web::post().to(redemptions::redeem)),
                )
                // Before /redemptions/{id}, which would otherwise take "fulfill" for an id.
                .service(
                    resource("/redemptions/fulfill", "POST")
                        .route(web::post().to(redemptions::fulfil)),
                )
                .service(resource("/redemptions", "GET").route(web::get().to(redemptions::list)))
                .service(
                    resource("/redemptions/{id}", "GET").route(web::get().to(redemptions::show)),
                )
                .service(
                    resource("/redemptions/{id}/cancel", "POST")
                        .route(web::post().to(redemptions::cancel)),
                ),
        );
}

/// A resource whose other methods get 405 with `Allow: allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}

pub(crate) async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// `?limit=&after=` of every list.
#[derive(Debug, Deserialize)]
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

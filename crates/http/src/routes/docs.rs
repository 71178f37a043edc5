//! The API's own description: the OpenAPI document, and Swagger UI from assets built into the
//! binary, so both work with no internet.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::Config;

use super::{activity, audit, cards, customers, health, keys, metrics, program, public_tenant};
use super::{exports, feed, imports, privacy, redemptions, reports, rewards, tenants, webhooks};
use crate::ApiError;
use crate::openapi::SharedResponses;

const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SMB Loyalty API",
        description = "Stamps, points and rewards for small businesses. Staff enrol customers and record \
            visits and purchases; the tenant's program turns them into stamps and points that \
            customers redeem for vouchers.\n\nEvery error is `application/problem+json` with a \
            stable `code`. Changes to loyalty state take an `Idempotency-Key`. Lists page with \
            `?limit=` and the `next_cursor` they return as `?after=`."
    ),
    paths(
        health::live,
        health::ready,
        metrics::scrape,
        openapi_json,
        public_tenant::meta,
        public_tenant::theme,
        public_tenant::manifest,
        cards::show,
        tenants::list,
        tenants::create,
        tenants::show,
        tenants::update,
        tenants::issue_key,
        tenants::list_keys,
        tenants::revoke_key,
        keys::list,
        keys::issue,
        keys::revoke,
        feed::list,
        audit::list,
        exports::customers,
        exports::ledger,
        imports::customers,
        reports::summary,
        reports::daily,
        reports::top_customers,
        webhooks::list,
        webhooks::create,
        webhooks::show,
        webhooks::update,
        webhooks::delete,
        webhooks::rotate_secret,
        webhooks::deliveries,
        program::show,
        program::replace,
        customers::list,
        customers::enrol,
        customers::show,
        customers::update,
        customers::rotate_card_token,
        privacy::erase,
        privacy::export,
        activity::visit,
        activity::purchase,
        activity::adjust,
        activity::ledger,
        activity::reverse,
        rewards::list,
        rewards::create,
        rewards::show,
        rewards::update,
        redemptions::redeem,
        redemptions::fulfil,
        redemptions::list,
        redemptions::show,
        redemptions::cancel,
    ),
    components(schemas(crate::openapi::Problem)),
    modifiers(&SharedResponses),
    tags(
        (name = "operations", description = "Probes, metrics and this document."),
        (name = "public", description = "Unauthenticated documents for front ends and the customer's card."),
        (name = "tenants", description = "Tenants and their first keys, for the platform admin."),
        (name = "api-keys", description = "A tenant admin's keys."),
        (name = "events", description = "The tenant's event feed: what happened to its customers, in commit order."),
        (name = "audit", description = "Who changed what, with which key and when: every change that is not a ledger posting."),
        (name = "exports", description = "The tenant's customers and ledger as CSV, for the owner's own tools."),
        (name = "imports", description = "Customers moved in from CSV, all or nothing."),
        (name = "reports", description = "How the program is doing over the tenant's local days: totals, day by day, top customers."),
        (name = "webhooks", description = "Endpoints the tenant's events are delivered to, signed, at least once and in order."),
        (name = "program", description = "The tenant's loyalty rules."),
        (name = "customers", description = "Customers, for staff at the counter."),
        (name = "activity", description = "Visits, purchases, adjustments, reversals and the ledger."),
        (name = "rewards", description = "The rewards catalog."),
        (name = "redemptions", description = "Vouchers: redeemed with points, fulfilled at the counter, cancelled."),
    )
)]
struct ApiDoc;

/// The document, serialised once.
static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
});

/// The OpenAPI document as served, for tests and the committed snapshot.
pub fn openapi_document() -> &'static str {
    &OPENAPI_JSON
}

/// This document.
///
/// Every route, request, response and error of this API, OpenAPI 3.1.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "operations", operation_id = "openapi_document",
    responses((status = 200, description = "This document, OpenAPI 3.1.", content_type = "application/json"))
)]
pub(crate) async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI_JSON.as_str())
}

/// The UI's scripts and styles are its own files; it needs inline styles and data: images, and
/// talks to this service only.
const SWAGGER_UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

static SWAGGER_CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    // "none": no request to the public validator for the badge.
    Arc::new(Config::from(OPENAPI_PATH).validator_url("none"))
});

/// `/docs` redirects to `/docs/`, whose relative links find the UI's files.
pub(crate) fn configure_swagger_ui(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/docs/"))
            .finish()
    })))
    .service(web::resource("/docs/{file:.*}").route(web::get().to(swagger_ui_file)));
}

async fn swagger_ui_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let served = utoipa_swagger_ui::serve(&file, SWAGGER_CONFIG.clone())
        .map_err(|error| ApiError::Internal(error.to_string().into()))?;
    let Some(file) = served else {
        return Err(ApiError::RouteNotFound);
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(file.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, SWAGGER_UI_CSP))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if file.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(file.bytes.into_owned()))
}

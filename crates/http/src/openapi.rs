//! What the OpenAPI document says beyond each handler's own annotation: the problem+json error
//! shape, the bearer scheme, the errors every operation of a kind can answer, and the wire form
//! of the domain's enums (the domain crate knows nothing of OpenAPI).

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, Modify, ToSchema};

use crate::problem::PROBLEM_JSON;

/// Every error answer, as `application/problem+json` (RFC 9457). Clients branch on `code`.
#[derive(ToSchema)]
#[schema(example = json!({
    "type": "urn:smb-loyalty:problem:insufficient_points",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the customer has 40 points; the reward costs 100",
    "code": "insufficient_points",
    "request_id": "0192f0c4-5b1e-7c2a-9d1e-3f4a5b6c7d8e",
    "balance": 40,
    "requested": 100
}))]
#[expect(
    dead_code,
    reason = "describes the body problem.rs writes; never built itself"
)]
pub(crate) struct Problem {
    /// `urn:smb-loyalty:problem:<code>`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable and machine-readable; each operation lists the codes it can answer.
    code: String,
    /// The `X-Request-ID` of the request, to quote when reporting a problem.
    request_id: Option<String>,
    /// `validation_failed`: every field that was refused, and why.
    errors: Option<Vec<FieldError>>,
    /// `domain_taken`, `customer_exists`: the field that clashed.
    field: Option<String>,
    /// `customer_exists`: the customer who already has the phone, email or external id.
    existing_id: Option<String>,
    /// `visit_too_soon`: when the next visit may be recorded.
    next_allowed_at: Option<String>,
    /// `currency_mismatch`: the tenant's currency.
    expected_currency: Option<String>,
    /// `insufficient_points`: the balance and what was asked for.
    balance: Option<i64>,
    requested: Option<i64>,
    /// `already_reversed`: the entry that already reversed this one.
    reversal_id: Option<String>,
}

#[derive(ToSchema)]
#[expect(dead_code, reason = "describes part of the problem body")]
pub(crate) struct FieldError {
    field: String,
    message: String,
}

/// The `Idempotency-Key` a change must carry.
#[derive(IntoParams)]
#[into_params(parameter_in = Header, names("Idempotency-Key"))]
#[expect(dead_code, reason = "describes a header the handlers read themselves")]
pub(crate) struct RequiredIdempotencyKey(
    /// 1 to 255 printable ASCII characters, unique per change among this API key's. A retry
    /// with the same key and body gets the first response again (`Idempotent-Replayed: true`);
    /// the same key with another body is refused with `idempotency_key_reused`. Keys of other
    /// API keys never clash; a key is kept for `IDEMPOTENCY_TTL_HOURS` (48 h by default), then
    /// it is a new request.
    #[param(example = "visit-2026-11-27-0001")]
    String,
);

/// The `Idempotency-Key` a change may carry.
#[derive(IntoParams)]
#[into_params(parameter_in = Header, names("Idempotency-Key"))]
#[expect(dead_code, reason = "describes a header the handlers read themselves")]
pub(crate) struct OptionalIdempotencyKey(
    /// As for the other changes: a retry with the same key gets the first response again.
    Option<String>,
);

/// The kind of business, which picks the default theme.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "the wire form of loyalty_domain::tenant::Vertical"
)]
pub(crate) enum Vertical {
    CarWash,
    Cafe,
    Restaurant,
    Salon,
    Fitness,
    Padel,
    Retail,
    Other,
}

/// How the program rewards customers: stamps per visit, points per spend, or both.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "the wire form of loyalty_domain::tenant::LoyaltyType"
)]
pub(crate) enum LoyaltyType {
    Stamps,
    Points,
    Hybrid,
}

/// What an API key may do: staff work the counter, a tenant admin runs the tenant, a platform
/// admin runs tenants.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "the wire form of loyalty_domain::auth::Role")]
pub(crate) enum Role {
    Staff,
    TenantAdmin,
    PlatformAdmin,
}

/// What a ledger entry records.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "the wire form of loyalty_domain::ledger::EntryKind"
)]
pub(crate) enum EntryKind {
    Visit,
    Purchase,
    Adjustment,
    Reversal,
    Milestone,
    Redemption,
    Refund,
    Expiry,
}

/// Where a voucher is in its life.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "the wire form of loyalty_domain::voucher::VoucherStatus"
)]
pub(crate) enum VoucherStatus {
    Issued,
    Fulfilled,
    Cancelled,
    Expired,
}

/// A tenant's look; every field is optional and the theme fills the gaps.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "the wire form of loyalty_domain::tenant::Branding"
)]
pub(crate) struct Branding {
    /// `#rrggbb`.
    #[schema(example = "#0b6e4f")]
    primary_color: Option<String>,
    secondary_color: Option<String>,
    background_color: Option<String>,
    text_color: Option<String>,
    /// An `https://` URL.
    logo_url: Option<String>,
}

/// Adds what every operation of a kind shares, so each handler documents only its own outcomes:
/// the errors of authentication, bodies, queries, rate limits and the database, and the
/// problem+json body of every error response.
pub(crate) struct SharedResponses;

const BEARER: &str = "bearer";
const METRICS_TOKEN: &str = "metrics_token";

/// Paths that never touch the database, so never answer `database_unavailable`.
const WITHOUT_DATABASE: [&str; 3] = ["/health/live", "/metrics", "/api/openapi.json"];

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("API key")
                    .description(Some(
                        "An API key, sent as `Authorization: Bearer <key>`. Its role decides \
                         what it may do.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The service's `METRICS_TOKEN`, when it has one, as \
                         `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                let mut shared = Vec::new();
                if path.starts_with("/api/") {
                    shared.push(("429", "`rate_limited`: too many requests from this client (or, on fulfil, too many wrong codes); wait `Retry-After` seconds."));
                }
                // Every route under /api/v1 takes an API key (each says so with `security`).
                if path.starts_with("/api/v1/") {
                    shared.push((
                        "401",
                        "`unauthorized`: no API key, or one that is unknown or revoked.",
                    ));
                    shared.push(("403", "`forbidden`: the key's role may not do this."));
                }
                if operation.request_body.is_some() {
                    shared.push(("400", "`malformed_json`: the body is not JSON."));
                    shared.push(("413", "`payload_too_large`: the body is over 64 KiB."));
                    shared.push((
                        "415",
                        "`unsupported_media_type`: the body was not sent as `application/json`.",
                    ));
                    shared.push((
                        "422",
                        "`invalid_body`: a field is missing, unknown or of the wrong type.",
                    ));
                }
                let has_query = operation.parameters.as_ref().is_some_and(|parameters| {
                    parameters.iter().any(|parameter| {
                        matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Query)
                    })
                });
                if has_query {
                    shared.push(("400", "`invalid_query`: the query string is not understood (an unknown parameter, a bad limit or cursor)."));
                }
                if !WITHOUT_DATABASE.contains(&path.as_str()) && path != "/health/ready" {
                    shared.push(("503", "`database_unavailable`: the database could not serve the request in time; nothing was written. Retry after `Retry-After` seconds."));
                }
                for (status, description) in shared {
                    add_description(responses, status, description);
                }
                for (status, response) in responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if status == "429" || (status == "503" && path != "/health/ready") {
                        response.headers.insert(
                            "Retry-After".to_owned(),
                            HeaderBuilder::new()
                                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                                .description(Some("Seconds to wait before trying again."))
                                .build()
                                .into(),
                        );
                    }
                    if is_error && response.content.is_empty() {
                        response.content.insert(
                            PROBLEM_JSON.to_owned(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build()
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

/// Adds `description` to the response for `status`, creating the response if there is none.
fn add_description(
    responses: &mut BTreeMap<String, RefOr<Response>>,
    status: &str,
    description: &str,
) {
    match responses.get_mut(status) {
        Some(RefOr::T(response)) => {
            response.description = format!("{}\n\n{description}", response.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(
                status.to_owned(),
                ResponseBuilder::new()
                    .description(description)
                    .build()
                    .into(),
            );
        }
    }
}

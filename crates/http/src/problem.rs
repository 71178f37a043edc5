//! The one place errors become HTTP responses: `application/problem+json` (RFC 9457) with a
//! stable `code` and the request id. A 5xx never shows its cause; the cause is logged instead.

use std::error::Error;
use std::fmt::Write as _;

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use loyalty_domain::auth::AuthError;
use loyalty_domain::page::PageError;
use loyalty_domain::{LoyaltyError, Resource, StoreError};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::BODY_LIMIT_BYTES;
use crate::request_context::current_request_id;

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no tenant matches this request")]
    TenantNotFound,
    #[error("no route matches this path")]
    RouteNotFound,
    #[error("this route does not accept the method; it allows {allow}")]
    MethodNotAllowed { allow: String },
    #[error("the request body is larger than {BODY_LIMIT_BYTES} bytes")]
    PayloadTooLarge,
    #[error("the request body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the file is larger than {limit} bytes (IMPORT_MAX_BYTES)")]
    ImportTooLarge { limit: u64 },
    #[error("the body must be CSV, sent with Content-Type: text/csv")]
    NotCsv,
    #[error("the request body could not be read to its end")]
    UnreadableBody,
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(#[source] serde_json::Error),
    #[error("the request body does not have the expected fields: {0}")]
    InvalidBody(#[source] serde_path_to_error::Error<serde_json::Error>),
    #[error("the query string is invalid: {0}")]
    InvalidQuery(String),
    #[error("a list accepts at most one of phone, email and external_id")]
    AmbiguousLookup,
    #[error("this request changes loyalty state: send an Idempotency-Key header")]
    IdempotencyKeyRequired,
    #[error("the Idempotency-Key header is invalid: {0}")]
    InvalidIdempotencyKey(#[source] loyalty_domain::idempotency::InvalidIdempotencyKey),
    #[error("too many wrong voucher codes from this key: try again in {} s", .retry_after.as_secs().max(1))]
    TooManyWrongCodes { retry_after: std::time::Duration },
    #[error("too many requests: try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: std::time::Duration },
    #[error("every database connection is busy: try again shortly")]
    DatabaseBusy,
    #[error(transparent)]
    Domain(#[from] LoyaltyError),
    /// A status produced outside this crate's handlers (the framework's own 4xx).
    #[error("{}", .0.canonical_reason().unwrap_or("request failed"))]
    Unclassified(StatusCode),
    #[error("internal error")]
    Internal(#[source] Box<dyn Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Domain(error.into())
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Domain(error.into())
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        ApiError::InvalidQuery(error.to_string())
    }
}

fn not_found_code(resource: Resource) -> &'static str {
    match resource {
        Resource::Tenant => "tenant_not_found",
        Resource::ApiKey => "api_key_not_found",
        Resource::Customer => "customer_not_found",
        Resource::LedgerEntry => "ledger_entry_not_found",
        Resource::Card => "card_not_found",
        Resource::Reward => "reward_not_found",
        Resource::Voucher => "redemption_not_found",
        Resource::Webhook => "webhook_not_found",
    }
}

fn domain_code(error: &LoyaltyError) -> &'static str {
    match error {
        LoyaltyError::Auth(AuthError::Unauthenticated) => "unauthorized",
        LoyaltyError::Auth(AuthError::Forbidden) => "forbidden",
        LoyaltyError::Invalid(_) => "validation_failed",
        LoyaltyError::NotFound(resource) => not_found_code(*resource),
        LoyaltyError::CustomerErased => "customer_erased",
        LoyaltyError::TenantExists => "tenant_exists",
        LoyaltyError::DomainTaken { .. } => "domain_taken",
        LoyaltyError::CustomerExists { .. } => "customer_exists",
        LoyaltyError::VisitTooSoon { .. } => "visit_too_soon",
        LoyaltyError::CurrencyMismatch { .. } => "currency_mismatch",
        LoyaltyError::InsufficientPoints { .. } => "insufficient_points",
        LoyaltyError::AlreadyReversed { .. } => "already_reversed",
        LoyaltyError::NotReversible => "not_reversible",
        LoyaltyError::RewardInactive => "reward_inactive",
        LoyaltyError::OutOfStock => "out_of_stock",
        LoyaltyError::AlreadyFulfilled => "already_fulfilled",
        LoyaltyError::VoucherExpired => "redemption_expired",
        LoyaltyError::VoucherCancelled => "redemption_cancelled",
        LoyaltyError::IdempotencyKeyReused => "idempotency_key_reused",
        LoyaltyError::PointsOverflow => "points_overflow",
        LoyaltyError::PreconditionFailed => "precondition_failed",
        LoyaltyError::ImportRefused(_) => "import_invalid",
        LoyaltyError::Store(error) if error.is_conflict() => "conflict",
        LoyaltyError::Store(error) if error.is_unavailable() => "database_unavailable",
        LoyaltyError::Randomness(_)
        | LoyaltyError::Render(_)
        | LoyaltyError::NothingPosted
        | LoyaltyError::LotsOutOfStep { .. }
        | LoyaltyError::TransactionProducedNothing
        | LoyaltyError::ImportSource(_)
        | LoyaltyError::Store(_) => "internal_error",
    }
}

fn domain_status(error: &LoyaltyError) -> StatusCode {
    match error {
        LoyaltyError::Auth(AuthError::Unauthenticated) => StatusCode::UNAUTHORIZED,
        LoyaltyError::Auth(AuthError::Forbidden) => StatusCode::FORBIDDEN,
        LoyaltyError::NotFound(_) | LoyaltyError::CustomerErased => StatusCode::NOT_FOUND,
        LoyaltyError::TenantExists
        | LoyaltyError::DomainTaken { .. }
        | LoyaltyError::CustomerExists { .. }
        | LoyaltyError::AlreadyReversed { .. }
        | LoyaltyError::OutOfStock
        | LoyaltyError::AlreadyFulfilled
        | LoyaltyError::VoucherExpired
        | LoyaltyError::VoucherCancelled => StatusCode::CONFLICT,
        LoyaltyError::Invalid(_)
        | LoyaltyError::VisitTooSoon { .. }
        | LoyaltyError::CurrencyMismatch { .. }
        | LoyaltyError::InsufficientPoints { .. }
        | LoyaltyError::NotReversible
        | LoyaltyError::RewardInactive
        | LoyaltyError::IdempotencyKeyReused
        | LoyaltyError::ImportRefused(_)
        | LoyaltyError::PointsOverflow => StatusCode::UNPROCESSABLE_ENTITY,
        LoyaltyError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        LoyaltyError::Store(error) if error.is_conflict() => StatusCode::CONFLICT,
        LoyaltyError::Store(error) if error.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        LoyaltyError::Randomness(_)
        | LoyaltyError::Render(_)
        | LoyaltyError::NothingPosted
        | LoyaltyError::LotsOutOfStep { .. }
        | LoyaltyError::TransactionProducedNothing
        | LoyaltyError::ImportSource(_)
        | LoyaltyError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Machine-readable facts a client can act on, beside `code`.
fn domain_extensions(error: &LoyaltyError) -> Map<String, Value> {
    let value = match error {
        LoyaltyError::Invalid(errors) => json!({
            "errors": errors.fields().iter()
                .map(|e| json!({"field": e.field, "message": e.message}))
                .collect::<Vec<_>>()
        }),
        LoyaltyError::DomainTaken { field } => json!({ "field": field }),
        LoyaltyError::CustomerExists { field, existing_id } => {
            json!({ "field": field, "existing_id": existing_id })
        }
        LoyaltyError::VisitTooSoon { next_allowed_at } => {
            json!({ "next_allowed_at": crate::views::timestamp(*next_allowed_at) })
        }
        LoyaltyError::CurrencyMismatch { expected } => {
            json!({ "expected_currency": expected.as_str() })
        }
        LoyaltyError::InsufficientPoints { balance, requested } => {
            json!({ "balance": balance, "requested": requested })
        }
        LoyaltyError::AlreadyReversed { reversal_id } => json!({ "reversal_id": reversal_id }),
        LoyaltyError::ImportRefused(problems) => json!({ "problems": problems }),
        _ => json!({}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// How long a client should wait before retrying when the database could not serve it.
const DATABASE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl ApiError {
    /// Whether the database could not serve the request in time (a 503 `database_unavailable`).
    fn is_database_unavailable(&self) -> bool {
        match self {
            ApiError::DatabaseBusy => true,
            ApiError::Domain(LoyaltyError::Store(error)) => error.is_unavailable(),
            _ => false,
        }
    }

    /// When the client may try again, for refusals that are only "not now".
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ApiError::TooManyWrongCodes { retry_after } | ApiError::RateLimited { retry_after } => {
                Some(*retry_after)
            }
            _ if self.is_database_unavailable() => Some(DATABASE_RETRY_AFTER),
            _ => None,
        }
    }

    /// Stable, machine-readable; clients branch on this, never on the title or detail.
    pub fn code(&self) -> String {
        match self {
            ApiError::TenantNotFound => "tenant_not_found".into(),
            ApiError::RouteNotFound => "not_found".into(),
            ApiError::MethodNotAllowed { .. } => "method_not_allowed".into(),
            ApiError::PayloadTooLarge | ApiError::ImportTooLarge { .. } => {
                "payload_too_large".into()
            }
            ApiError::UnsupportedMediaType | ApiError::NotCsv => "unsupported_media_type".into(),
            ApiError::UnreadableBody => "invalid_body".into(),
            ApiError::MalformedJson(_) => "malformed_json".into(),
            ApiError::InvalidBody(_) => "invalid_body".into(),
            ApiError::InvalidQuery(_) => "invalid_query".into(),
            ApiError::AmbiguousLookup => "invalid_query".into(),
            ApiError::IdempotencyKeyRequired => "idempotency_key_required".into(),
            ApiError::InvalidIdempotencyKey(_) => "invalid_idempotency_key".into(),
            ApiError::TooManyWrongCodes { .. } | ApiError::RateLimited { .. } => {
                "rate_limited".into()
            }
            ApiError::DatabaseBusy => "database_unavailable".into(),
            ApiError::Domain(error) => domain_code(error).into(),
            ApiError::Unclassified(status) if status.is_server_error() => "internal_error".into(),
            ApiError::Unclassified(status) => {
                snake_case(status.canonical_reason().unwrap_or("error"))
            }
            ApiError::Internal(_) => "internal_error".into(),
        }
    }

    fn detail(&self) -> String {
        if self.is_database_unavailable() {
            return "The database could not serve the request in time; nothing was written. Try again after Retry-After seconds.".into();
        }
        if self.status_code().is_server_error() {
            return "The server could not complete the request. Quote the request id when reporting it.".into();
        }
        self.to_string()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::TenantNotFound | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge | ApiError::ImportTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType | ApiError::NotCsv => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UnreadableBody => StatusCode::BAD_REQUEST,
            ApiError::MalformedJson(_)
            | ApiError::InvalidQuery(_)
            | ApiError::AmbiguousLookup
            | ApiError::IdempotencyKeyRequired
            | ApiError::InvalidIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyWrongCodes { .. } | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::DatabaseBusy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Domain(error) => domain_status(error),
            ApiError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unclassified(status) => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if self.is_database_unavailable() {
            tracing::warn!(error = %cause_chain(self), "request refused: database unavailable");
        } else if status.is_server_error() {
            tracing::error!(error = %cause_chain(self), "request failed");
        }
        let code = self.code();
        let problem = Problem {
            kind: format!("urn:smb-loyalty:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            code,
            request_id: current_request_id(),
            extensions: match self {
                ApiError::Domain(error) => domain_extensions(error),
                _ => Map::new(),
            },
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let ApiError::MethodNotAllowed { allow } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if let Some(retry_after) = self.retry_after() {
            // Whole seconds, rounded up, as Retry-After wants.
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response.insert_header((header::RETRY_AFTER, seconds.max(1).to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(problem)
    }
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: String,
    request_id: Option<String>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
}

/// Safety net for error responses built outside [`ApiError`] (the framework's own, empty or
/// text): gives them a problem+json body, so a client never sees HTML or an empty error.
pub(crate) fn replace_bare_error<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // A JSON error body was written on purpose (a problem, or readiness' 503 report): keep it.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/") && value.contains("json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let (request, _) = response.into_parts();
    let replacement = ApiError::Unclassified(status).error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_body(|_, body| EitherBody::right(body)),
    ))
}

/// "Payload Too Large" -> "payload_too_large".
fn snake_case(reason: &str) -> String {
    reason
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// "outer: inner: root" for one log field.
fn cause_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_reason_phrases() {
        assert_eq!(snake_case("Payload Too Large"), "payload_too_large");
        assert_eq!(snake_case("I'm a teapot"), "i_m_a_teapot");
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let error = ApiError::Internal("password=hunter2 at db:5432".into());
        assert_eq!(error.code(), "internal_error");
        assert!(!error.detail().contains("hunter2"));
        assert!(
            cause_chain(&error).contains("hunter2"),
            "the log keeps the cause"
        );
    }
}

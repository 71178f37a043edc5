//! The Prometheus scrape endpoint.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::auth::AuthError;

use crate::{ApiError, HttpState};

/// The process's metrics, Prometheus text format.
///
/// Requests by route, latency, the database pool, ledger entries and vouchers, the expiry
/// sweep. When the service has a `METRICS_TOKEN`, send it as `Authorization: Bearer <token>`.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses(
        (status = 200, description = "The metrics, Prometheus text format 0.0.4.", content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "`unauthorized`: the service has a metrics token and the request did not carry it."),
    ),
    security((), ("metrics_token" = []))
)]
pub(crate) async fn scrape(
    state: web::Data<HttpState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.metrics_token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !token.matches(presented) {
            return Err(AuthError::Unauthenticated.into());
        }
    }
    let text = state
        .metrics
        .render(&state.database_gate)
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text))
}

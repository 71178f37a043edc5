//! Per-request context: the correlation id, the tracing span every log line of the request is
//! written in, the access log line, and the body-size guard.

use std::time::Instant;

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;
use uuid::Uuid;

use crate::{ApiError, HttpState};

/// The largest request body any route accepts.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, for error bodies.
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The caller's `X-Request-ID` when it is a sane token (so it can go into logs and headers
/// unescaped), else a fresh UUIDv7.
fn request_id_for(request: &ServiceRequest) -> String {
    let sane = |id: &&str| {
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(sane)
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

/// Card URLs carry the card's token, the only credential a card has: logs show the route instead.
const CARD_PATH: &str = "/api/public/cards/";

/// The path as it may appear in logs.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(CARD_PATH) {
        Some(token) if !token.is_empty() => format!("{CARD_PATH}{{card_token}}").into(),
        _ => path.into(),
    }
}

pub(crate) async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = request_id_for(&request);
    // `tenant_id` is filled in once the caller is authenticated, `route` once the request was
    // routed: every later line of the request carries them.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %loggable_path(request.path()),
        route = tracing::field::Empty,
        tenant_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let metrics = request
        .app_data::<web::Data<HttpState>>()
        .map(|state| state.metrics.clone());
    let method = request.method().clone();
    let served = async move {
        let result = next.call(request).await;
        let status = match &result {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        let route = result
            .as_ref()
            .ok()
            .and_then(|r| r.request().match_pattern());
        if let Some(route) = &route {
            tracing::Span::current().record("route", route.as_str());
        }
        let elapsed = started.elapsed();
        if let Some(metrics) = metrics {
            metrics.observe_request(route.as_deref(), &method, status, elapsed);
        }
        let latency_ms = elapsed.as_millis() as u64;
        tracing::info!(status = status.as_u16(), latency_ms, "request finished");
        match result {
            Ok(response) => {
                let mut response = response.map_into_boxed_body();
                tag_with_request_id(response.headers_mut());
                Ok(response)
            }
            // Rendered here, inside the scope, so the problem body carries the request id; the
            // request itself was consumed by the failing service.
            Err(error) => {
                let mut rendered = error.error_response();
                tag_with_request_id(rendered.headers_mut());
                Err(InternalError::from_response(error, rendered).into())
            }
        }
    };
    REQUEST_ID.scope(request_id, served.instrument(span)).await
}

fn tag_with_request_id(headers: &mut HeaderMap) {
    if let Some(value) = current_request_id().and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
}

/// Refuses a body whose declared length is over the limit before any handler reads it.
/// Bodies without a declared length are capped by the JSON extractor's own limit. The customer
/// import takes files, and holds them to its own limit (`IMPORT_MAX_BYTES`) as they arrive.
pub(crate) async fn reject_oversized_bodies(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64)
        && request.path() != crate::routes::IMPORT_CUSTOMERS_PATH
    {
        let (http_request, _) = request.into_parts();
        return Ok(ServiceResponse::new(
            http_request,
            ApiError::PayloadTooLarge.error_response(),
        ));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn card_tokens_never_reach_the_logs() {
        assert_eq!(
            loggable_path("/api/public/cards/AIv1Ewia-fy_nDVN"),
            "/api/public/cards/{card_token}"
        );
        assert_eq!(
            loggable_path("/api/v1/customers/42"),
            "/api/v1/customers/42"
        );
    }
}

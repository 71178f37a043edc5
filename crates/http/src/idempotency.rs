//! `Idempotency-Key` on mutating requests, and the fingerprint that ties a key to one route and
//! one body.

use actix_web::HttpRequest;
use loyalty_domain::idempotency::{IdempotencyKey, Rendered};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ApiError;

const HEADER: &str = "idempotency-key";

/// The request's key, which these routes require.
pub(crate) fn required_key(request: &HttpRequest) -> Result<IdempotencyKey, ApiError> {
    let value = request
        .headers()
        .get(HEADER)
        .ok_or(ApiError::IdempotencyKeyRequired)?;
    let text = value.to_str().map_err(|_| {
        ApiError::InvalidIdempotencyKey(loyalty_domain::idempotency::InvalidIdempotencyKey)
    })?;
    IdempotencyKey::parse(text).map_err(ApiError::InvalidIdempotencyKey)
}

/// Method, path and canonical body: a retry must match all three.
pub(crate) fn fingerprint(request: &HttpRequest, canonical_body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.method().as_str());
    hasher.update(b" ");
    hasher.update(request.path());
    hasher.update(b"\n");
    hasher.update(canonical_body);
    format!("{:x}", hasher.finalize())
}

/// Serializes a response body for storing; the status is the one the route answers with.
pub(crate) fn render_json<T: Serialize>(status: u16, body: &T) -> Rendered {
    Ok((status, serde_json::to_string(body)?))
}

/// The request's key, where a route accepts one without requiring it.
pub(crate) fn optional_key(request: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    if request.headers().contains_key(HEADER) {
        required_key(request).map(Some)
    } else {
        Ok(None)
    }
}

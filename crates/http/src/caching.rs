//! Cacheable JSON for public, rarely changing documents: a strong ETag from the body, and 304
//! when the client already holds it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ApiError;

/// Serializes `body` and answers 200 with it, or 304 without it when `If-None-Match` matches.
/// `Vary` names what tenant resolution reads, so shared caches keep one copy per tenant.
pub(crate) fn cacheable_json(
    request: &HttpRequest,
    content_type: &'static str,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|error| ApiError::Internal(Box::new(error)))?;
    let etag = format!("\"{:x}\"", Sha256::digest(&bytes));
    let if_none_match = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok());
    let not_modified = if_none_match
        .into_iter()
        .any(|value| matches_etag(value, &etag));
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .insert_header((header::VARY, HeaderValue::from_static("Host, X-Tenant-ID")));
    if not_modified {
        return Ok(response.finish());
    }
    Ok(response.content_type(content_type).body(bytes))
}

/// `If-None-Match` uses weak comparison (RFC 9110 13.1.2): `W/"x"` matches `"x"`; `*` matches
/// any current representation; the header may list several tags.
fn matches_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests {
    use super::matches_etag;

    #[test]
    fn if_none_match_forms() {
        let tag = "\"abc\"";
        assert!(matches_etag("\"abc\"", tag));
        assert!(matches_etag("W/\"abc\"", tag));
        assert!(matches_etag("\"x\", W/\"abc\"", tag));
        assert!(matches_etag("*", tag));
        assert!(!matches_etag("\"abd\"", tag));
        assert!(!matches_etag("abc", tag));
        assert!(!matches_etag("", tag));
    }
}

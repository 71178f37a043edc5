//! Cross-origin requests: browsers on the origins in `ALLOWED_ORIGINS` may call the API and the
//! public routes; any other origin's requests are still served, without CORS headers, so its
//! browser keeps the answer from the page.

use actix_cors::Cors;

/// Which origins a browser may call from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// None: no CORS headers at all (the default).
    None,
    /// These exact origins (`https://till.example.com`, scheme, host and port).
    List(Vec<String>),
    /// Any origin (`*`); refused in production.
    Any,
}

/// The request headers clients of this API send.
const REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "x-tenant-id",
    "x-request-id",
];

/// The response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: [&str; 4] = ["etag", "location", "retry-after", "x-request-id"];

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

pub(crate) fn cors(origins: &AllowedOrigins) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers(REQUEST_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        // Another origin's request is still answered, only without CORS headers: a browser then
        // withholds the answer from the page, and clients that are not browsers are unaffected.
        .block_on_origin_mismatch(false);
    match origins {
        AllowedOrigins::None => cors,
        AllowedOrigins::List(list) => list
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin)),
        AllowedOrigins::Any => cors.allow_any_origin().send_wildcard(),
    }
}

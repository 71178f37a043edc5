//! The HTTP adapter: actix-web routes over the domain's use cases, request ids and logging,
//! and one mapping from every error to `application/problem+json`.

mod auth;
mod blocking;
mod caching;
mod cors;
mod events;
mod gate;
mod idempotency;
mod json;
mod lifecycle;
mod metrics;
mod openapi;
mod problem;
mod rate_limit;
mod request_context;
mod routes;
mod state;
mod throttle;
mod views;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

pub use cors::AllowedOrigins;
pub use events::ApiEventRenderer;
pub use gate::DatabaseGate;
pub use lifecycle::Lifecycle;
pub use metrics::{Metrics, MetricsError, MetricsToken};
pub use problem::ApiError;
pub use rate_limit::{RateLimitSettings, RateLimits};
pub use request_context::BODY_LIMIT_BYTES;
pub use routes::{openapi_document, served_operations};
pub use state::HttpState;
pub use throttle::FulfilThrottle;

/// Browsers may use no powerful feature on a page of this service: it serves JSON and the
/// public card, neither of which needs any.
const PERMISSIONS_POLICY: &str =
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(), payment=(), usb=()";

/// In production the service is reached over HTTPS only (TLS ends in front of it): browsers are
/// told to keep to HTTPS for a year.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// The application with all routes and middleware. Outermost first: request context (id, span,
/// access log), security headers, CORS, rate limits, body-size guard, then the problem+json
/// safety net.
pub fn build_app(
    state: HttpState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let security_headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY))
        .add((
            "Content-Security-Policy",
            state.content_security_policy.clone(),
        ));
    let security_headers = if state.strict_transport_security {
        security_headers.add(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    } else {
        security_headers
    };
    let cors = cors::cors(&state.allowed_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(json::payload_config())
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError::InvalidQuery(error.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|error, _| ApiError::InvalidQuery(error.to_string()).into()),
        )
        .configure(routes::configure)
        .default_service(web::to(routes::route_not_found))
        .wrap(ErrorHandlers::new().default_handler(problem::replace_bare_error))
        .wrap(from_fn(request_context::reject_oversized_bodies))
        .wrap(from_fn(rate_limit::limit_rate))
        .wrap(cors)
        .wrap(security_headers)
        .wrap(from_fn(request_context::request_context))
}

/// Starts serving on `listener`; the returned server runs until it is stopped through its
/// handle. Stopping gracefully lets requests in flight finish for up to `shutdown_timeout`. The
/// server watches no signals itself: the process decides what a signal means (see the app).
pub fn start_server(
    listener: TcpListener,
    state: HttpState,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || build_app(state.clone()))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs())
        .run())
}

//! Route table. Each resource answers an unsupported method with 405 and an `Allow` header.

mod health;
mod public_tenant;

use actix_web::{HttpResponse, web};

use crate::ApiError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_only("/health/live", web::get().to(health::live)))
        .service(get_only("/health/ready", web::get().to(health::ready)))
        .service(get_only(
            "/api/public/tenant-meta",
            web::get().to(public_tenant::meta),
        ))
        .service(get_only(
            "/api/public/tenant-theme",
            web::get().to(public_tenant::theme),
        ))
        .service(get_only(
            "/api/public/tenant-manifest",
            web::get().to(public_tenant::manifest),
        ));
}

fn get_only(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow: "GET" })
        }))
}

pub(crate) async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

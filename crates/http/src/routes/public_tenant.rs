//! Public, unauthenticated tenant documents for front ends: metadata, theme, web app manifest.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::tenant::{
    Branding, LoyaltyType, ResolveError, Tenant, TenantSelector, Theme, Vertical, cached_tenant,
    resolve_and_cache,
};
use serde::Serialize;

use crate::caching::cacheable_json;
use crate::{ApiError, HttpState};

const TENANT_ID_HEADER: &str = "x-tenant-id";
const MANIFEST_SHORT_NAME_CHARS: usize = 12;

/// Resolves the request's tenant from `X-Tenant-ID`, else the host, else the default tenant.
async fn resolve(state: &HttpState, request: &HttpRequest) -> Result<Tenant, ApiError> {
    let header_text = |name| {
        request
            .headers()
            .get(name)
            .map(|value| value.to_str().map(str::to_owned))
    };
    // A header that is not even text names no tenant we could have.
    let explicit_id = header_text(TENANT_ID_HEADER)
        .transpose()
        .map_err(|_| ApiError::TenantNotFound)?;
    let host = header_text(header::HOST.as_str())
        .and_then(Result::ok)
        .or_else(|| request.uri().host().map(str::to_owned));
    let selector = TenantSelector {
        explicit_id: explicit_id.as_deref(),
        host: host.as_deref(),
    };
    if let Some(known) = cached_tenant(state.loyalty.caches(), selector) {
        return known.map_err(unresolved);
    }
    let (loyalty, directory) = (state.loyalty.clone(), state.tenants.clone());
    let default_tenant = state.default_tenant.clone();
    state
        .on_database(move || {
            let selector = TenantSelector {
                explicit_id: explicit_id.as_deref(),
                host: host.as_deref(),
            };
            resolve_and_cache(
                loyalty.caches(),
                directory.as_ref(),
                &default_tenant,
                selector,
            )
            .map_err(unresolved)
        })
        .await
}

fn unresolved(error: ResolveError) -> ApiError {
    match error {
        ResolveError::NotFound => ApiError::TenantNotFound,
        ResolveError::Store(error) => error.into(),
    }
}

/// What a front end needs to present the tenant.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "tenant_id": "acme", "name": "Acme Car Wash", "vertical": "car_wash", "loyalty_type": "hybrid",
    "features": {"referrals": false}, "branding": {"primary_color": "#0b6e4f"}
}))]
struct TenantMeta<'a> {
    tenant_id: &'a str,
    name: &'a str,
    #[schema(value_type = crate::openapi::Vertical)]
    vertical: Vertical,
    #[schema(value_type = crate::openapi::LoyaltyType)]
    loyalty_type: LoyaltyType,
    features: &'a BTreeMap<String, bool>,
    #[schema(value_type = crate::openapi::Branding)]
    branding: &'a Branding,
}

/// Which tenant a public document is for: `X-Tenant-ID`, else the host (the tenant's domain or
/// subdomain), else the default tenant. `If-None-Match` with the last `ETag` gets 304.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "describes headers `resolve` and `cacheable_json` read"
)]
struct TenantDocumentHeaders {
    /// The tenant's id.
    #[param(rename = "X-Tenant-ID")]
    x_tenant_id: Option<String>,
    /// The `ETag` of the copy the client holds.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

/// The tenant's metadata.
///
/// Its name, kind, loyalty type, features and branding.
#[utoipa::path(
    get, path = "/api/public/tenant-meta", tag = "public", operation_id = "tenant_meta",
    params(TenantDocumentHeaders),
    responses(
        (status = 200, description = "The tenant's metadata; cacheable for 60 s, with an `ETag`.", body = TenantMeta),
        (status = 304, description = "The client's copy (`If-None-Match`) is current."),
        (status = 404, description = "`tenant_not_found`: no tenant has this id or host, and there is no default tenant."),
    )
)]
pub(crate) async fn meta(
    state: web::Data<HttpState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = resolve(&state, &request).await?;
    let body = TenantMeta {
        tenant_id: tenant.id.as_str(),
        name: &tenant.name,
        vertical: tenant.vertical,
        loyalty_type: tenant.loyalty_type,
        features: &tenant.features,
        branding: &tenant.branding,
    };
    cacheable_json(&request, "application/json", &body)
}

/// The tenant's colours with the theme's defaults filled in.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "tenant_id": "default", "name": "Default", "primary_color": "#2563eb",
    "secondary_color": "#0f172a", "background_color": "#ffffff", "text_color": "#111827",
    "logo_url": null
}))]
struct ThemeBody<'a> {
    tenant_id: &'a str,
    name: String,
    primary_color: String,
    secondary_color: String,
    background_color: String,
    text_color: String,
    logo_url: Option<String>,
}

/// The tenant's theme.
///
/// Every colour set, from its branding or its vertical's defaults.
#[utoipa::path(
    get, path = "/api/public/tenant-theme", tag = "public", operation_id = "tenant_theme",
    params(TenantDocumentHeaders),
    responses(
        (status = 200, description = "The theme; cacheable for 60 s, with an `ETag`.", body = ThemeBody),
        (status = 304, description = "The client's copy (`If-None-Match`) is current."),
        (status = 404, description = "`tenant_not_found`: no tenant has this id or host, and there is no default tenant."),
    )
)]
pub(crate) async fn theme(
    state: web::Data<HttpState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = resolve(&state, &request).await?;
    let theme = Theme::of(&tenant);
    let body = ThemeBody {
        tenant_id: tenant.id.as_str(),
        name: theme.name,
        primary_color: theme.primary_color,
        secondary_color: theme.secondary_color,
        background_color: theme.background_color,
        text_color: theme.text_color,
        logo_url: theme.logo_url,
    };
    cacheable_json(&request, "application/json", &body)
}

/// A Web App Manifest (W3C), so a tenant's customer web app installs with its name and colours.
#[derive(Serialize, utoipa::ToSchema)]
struct Manifest {
    name: String,
    short_name: String,
    start_url: &'static str,
    scope: &'static str,
    display: &'static str,
    theme_color: String,
    background_color: String,
    icons: Vec<ManifestIcon>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ManifestIcon {
    src: String,
    sizes: &'static str,
    purpose: &'static str,
}

/// The tenant's Web App Manifest.
///
/// So the customer's web app installs with the tenant's name and colours.
#[utoipa::path(
    get, path = "/api/public/tenant-manifest", tag = "public", operation_id = "tenant_manifest",
    params(TenantDocumentHeaders),
    responses(
        (status = 200, description = "The manifest; cacheable for 60 s, with an `ETag`.", body = Manifest,
            content_type = "application/manifest+json"),
        (status = 304, description = "The client's copy (`If-None-Match`) is current."),
        (status = 404, description = "`tenant_not_found`: no tenant has this id or host, and there is no default tenant."),
    )
)]
pub(crate) async fn manifest(
    state: web::Data<HttpState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = resolve(&state, &request).await?;
    let theme = Theme::of(&tenant);
    let body = Manifest {
        short_name: theme.name.chars().take(MANIFEST_SHORT_NAME_CHARS).collect(),
        name: theme.name,
        start_url: "/",
        scope: "/",
        display: "standalone",
        theme_color: theme.primary_color,
        background_color: theme.background_color,
        icons: theme
            .logo_url
            .into_iter()
            .map(|src| ManifestIcon {
                src,
                sizes: "any",
                purpose: "any",
            })
            .collect(),
    };
    cacheable_json(&request, "application/manifest+json", &body)
}

//! Tenants, for the platform admin.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use loyalty_domain::auth::Role;
use loyalty_domain::tenant::{Branding, LoyaltyType, NewTenant, TenantChanges, TenantId, Vertical};
use loyalty_domain::{LoyaltyError, Resource};
use serde::Deserialize;

use super::PageQuery;
use crate::auth::Authenticated;
use crate::json::{JsonBody, present};
use crate::views::{IssuedKeyView, PageView, TenantView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "acme", "name": "Acme Car Wash", "vertical": "car_wash", "country": "DE", "currency": "EUR", "subdomain": "acme", "branding": {"primary_color": "#0b6e4f"}}))]
pub(crate) struct NewTenantBody {
    id: String,
    name: String,
    #[schema(value_type = crate::openapi::Vertical)]
    vertical: Vertical,
    #[serde(default = "default_loyalty_type")]
    #[schema(value_type = crate::openapi::LoyaltyType)]
    loyalty_type: LoyaltyType,
    country: String,
    currency: String,
    primary_domain: Option<String>,
    subdomain: Option<String>,
    #[serde(default)]
    #[schema(value_type = crate::openapi::Branding)]
    branding: Branding,
    #[serde(default)]
    features: BTreeMap<String, bool>,
}

fn default_loyalty_type() -> LoyaltyType {
    LoyaltyType::Hybrid
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Car Wash & Café", "primary_domain": null}))]
pub(crate) struct TenantChangesBody {
    name: Option<String>,
    #[schema(value_type = Option<crate::openapi::Vertical>)]
    vertical: Option<Vertical>,
    #[schema(value_type = Option<crate::openapi::LoyaltyType>)]
    loyalty_type: Option<LoyaltyType>,
    country: Option<String>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "present")]
    primary_domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    subdomain: Option<Option<String>>,
    #[schema(value_type = Option<crate::openapi::Branding>)]
    branding: Option<Branding>,
    features: Option<BTreeMap<String, bool>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "staff", "label": "front counter till"}))]
pub(crate) struct KeyBody {
    #[schema(value_type = crate::openapi::Role)]
    pub role: Role,
    pub label: Option<String>,
}

/// The tenant a platform admin's path names. Other roles are refused before the id is looked
/// at; an id that cannot be one names no tenant.
fn tenant_in_path(caller: &Authenticated, raw: &str) -> Result<TenantId, ApiError> {
    caller.0.require_platform_admin()?;
    TenantId::parse(raw).map_err(|_| LoyaltyError::NotFound(Resource::Tenant).into())
}

/// Creates a tenant.
///
/// Platform admin.
#[utoipa::path(
    post, path = "/api/v1/tenants", tag = "tenants", operation_id = "create_tenant",
    request_body = NewTenantBody,
    responses(
        (status = 201, description = "The tenant.", body = TenantView),
        (status = 409, description = "`tenant_exists`: a tenant has this id. `domain_taken` (with `field`): another tenant uses this primary domain or subdomain. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`validation_failed` (with `errors`): an id, country, currency, domain or colour that is not valid."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<NewTenantBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let new = NewTenant {
        id: b.id,
        name: b.name,
        vertical: b.vertical,
        loyalty_type: b.loyalty_type,
        country: b.country,
        currency: b.currency,
        primary_domain: b.primary_domain,
        subdomain: b.subdomain,
        branding: b.branding,
        features: b.features,
    };
    let tenant = state
        .store(move |loyalty| loyalty.create_tenant(&caller.0, new))
        .await?;
    Ok(HttpResponse::Created().json(TenantView::from(tenant)))
}

/// Lists the tenants.
///
/// By id. Platform admin.
#[utoipa::path(
    get, path = "/api/v1/tenants", tag = "tenants", operation_id = "list_tenants",
    params(PageQuery),
    responses((status = 200, description = "A page of tenants.", body = PageView<TenantView>)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let tenants = state
        .store(move |loyalty| loyalty.tenants(&caller.0, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(tenants, TenantView::from)))
}

/// Reads a tenant.
///
/// Platform admin.
#[utoipa::path(
    get, path = "/api/v1/tenants/{id}", tag = "tenants", operation_id = "get_tenant",
    params(("id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The tenant.", body = TenantView),
        (status = 404, description = "`tenant_not_found`: no tenant has this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_in_path(&caller, &path)?;
    let tenant = state
        .store(move |loyalty| loyalty.tenant(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// Changes a tenant.
///
/// Any subset of its fields; `null` clears the primary domain or subdomain. Platform admin.
#[utoipa::path(
    patch, path = "/api/v1/tenants/{id}", tag = "tenants", operation_id = "update_tenant",
    params(("id" = String, Path, description = "The tenant's id.")),
    request_body = TenantChangesBody,
    responses(
        (status = 200, description = "The tenant as changed.", body = TenantView),
        (status = 404, description = "`tenant_not_found`: no tenant has this id."),
        (status = 409, description = "`domain_taken` (with `field`): another tenant uses this primary domain or subdomain. `conflict`: concurrent changes won repeatedly; retrying is safe."),
        (status = 422, description = "`validation_failed` (with `errors`): a value that is not valid."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: JsonBody<TenantChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_in_path(&caller, &path)?;
    let b = body.value;
    let changes = TenantChanges {
        name: b.name,
        vertical: b.vertical,
        loyalty_type: b.loyalty_type,
        country: b.country,
        currency: b.currency,
        primary_domain: b.primary_domain,
        subdomain: b.subdomain,
        branding: b.branding,
        features: b.features,
    };
    let tenant = state
        .store(move |loyalty| loyalty.update_tenant(&caller.0, &id, changes))
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// Issues a key for a tenant.
///
/// How a tenant gets its first admin key. Platform admin.
#[utoipa::path(
    post, path = "/api/v1/tenants/{id}/api-keys", tag = "tenants", operation_id = "issue_tenant_key",
    params(("id" = String, Path, description = "The tenant's id.")),
    request_body = KeyBody,
    responses(
        (status = 201, description = "The key, with its secret `key` shown this once.", body = IssuedKeyView),
        (status = 404, description = "`tenant_not_found`: no tenant has this id."),
        (status = 422, description = "`validation_failed` (with `errors`): a role a tenant key cannot have, or a label that is too long."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn issue_key(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: JsonBody<KeyBody>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_in_path(&caller, &path)?;
    let KeyBody { role, label } = body.value;
    let issued = state
        .store(move |loyalty| loyalty.issue_tenant_key(&caller.0, &id, role, label.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(IssuedKeyView::from(issued)))
}

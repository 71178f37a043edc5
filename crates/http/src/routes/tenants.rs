//! Tenants, for the platform admin.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use loyalty_domain::auth::{KeyRequest, Role};
use loyalty_domain::ids::ApiKeyId;
use loyalty_domain::tenant::{
    Branding, LoyaltyType, NewTenant, Tenant, TenantChanges, TenantId, Vertical,
};
use loyalty_domain::{LoyaltyError, Resource};
use serde::Deserialize;

use super::{PageQuery, path_id};
use crate::auth::Authenticated;
use crate::json::{JsonBody, present};
use crate::views::{IssuedKeyView, KeyView, PageView, TenantView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "acme", "name": "Acme Car Wash", "vertical": "car_wash", "country": "DE", "currency": "EUR", "time_zone": "Europe/Berlin", "subdomain": "acme", "branding": {"primary_color": "#0b6e4f"}}))]
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
    /// An IANA time zone name (default `UTC`): the tenant's days (when points expire) end at
    /// its midnight.
    time_zone: Option<String>,
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
    /// An IANA time zone name; points earned from now on expire by its days.
    time_zone: Option<String>,
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
    role: Role,
    label: Option<String>,
    /// When the key stops working (RFC 3339, in the future); absent: until revoked.
    expires_at: Option<DateTime<Utc>>,
}

impl From<KeyBody> for KeyRequest {
    fn from(body: KeyBody) -> Self {
        Self {
            role: body.role,
            label: body.label,
            expires_at: body.expires_at,
        }
    }
}

/// A 200 naming the tenant's version in a strong `ETag`, for `If-Match` on a later `PATCH`.
fn with_version(tenant: &Tenant) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::ETAG, format!("\"{}\"", tenant.version())));
    response
}

/// The versions `If-Match` names (strong tags only: RFC 9110 compares them strongly), or None
/// when it is absent or `*` (the tenant exists, or the answer is 404 anyway). A header that
/// names no usable tag matches no version.
fn if_match(request: &HttpRequest) -> Option<Vec<String>> {
    let values: Vec<&str> = request
        .headers()
        .get_all(header::IF_MATCH)
        .map(|value| value.to_str().unwrap_or_default())
        .collect();
    if values.is_empty() || values.iter().any(|value| value.trim() == "*") {
        return None;
    }
    Some(
        values
            .iter()
            .flat_map(|value| value.split(','))
            .filter_map(|tag| {
                let tag = tag.trim();
                tag.strip_prefix('"')?.strip_suffix('"').map(str::to_owned)
            })
            .collect(),
    )
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
        time_zone: b.time_zone,
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
        (status = 200, description = "The tenant, its version in `ETag`.", body = TenantView,
            headers(("ETag" = String, description = "The tenant's version, for `If-Match`."))),
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
    Ok(with_version(&tenant).json(TenantView::from(tenant)))
}

/// Changes a tenant.
///
/// Any subset of its fields; `null` clears the primary domain or subdomain. Concurrent changes
/// of different fields are all kept; with `If-Match` a change made against an older version is
/// refused. Platform admin.
#[utoipa::path(
    patch, path = "/api/v1/tenants/{id}", tag = "tenants", operation_id = "update_tenant",
    params(
        ("id" = String, Path, description = "The tenant's id."),
        ("If-Match" = Option<String>, Header, description = "The `ETag` of the version this change was made against: if the tenant changed since, nothing is written and the answer is 412."),
    ),
    request_body = TenantChangesBody,
    responses(
        (status = 200, description = "The tenant as changed, its new version in `ETag`.", body = TenantView,
            headers(("ETag" = String, description = "The tenant's new version."))),
        (status = 412, description = "`precondition_failed`: the tenant changed since the version in `If-Match`; read it again and redo the change."),
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
    request: HttpRequest,
    body: JsonBody<TenantChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_in_path(&caller, &path)?;
    let if_match = if_match(&request);
    let b = body.value;
    let changes = TenantChanges {
        name: b.name,
        vertical: b.vertical,
        loyalty_type: b.loyalty_type,
        country: b.country,
        currency: b.currency,
        time_zone: b.time_zone,
        primary_domain: b.primary_domain,
        subdomain: b.subdomain,
        branding: b.branding,
        features: b.features,
    };
    let tenant = state
        .store(move |loyalty| loyalty.update_tenant(&caller.0, &id, changes, if_match.as_deref()))
        .await?;
    Ok(with_version(&tenant).json(TenantView::from(tenant)))
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
    let request = KeyRequest::from(body.value);
    let issued = state
        .store(move |loyalty| loyalty.issue_tenant_key(&caller.0, &id, request))
        .await?;
    Ok(HttpResponse::Created().json(IssuedKeyView::from(issued)))
}

/// Lists a tenant's keys.
///
/// Never their secrets. Platform admin.
#[utoipa::path(
    get, path = "/api/v1/tenants/{id}/api-keys", tag = "tenants", operation_id = "list_tenant_keys",
    params(("id" = String, Path, description = "The tenant's id."), PageQuery),
    responses(
        (status = 200, description = "A page of the tenant's keys.", body = PageView<KeyView>),
        (status = 404, description = "`tenant_not_found`: no tenant has this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_keys(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_in_path(&caller, &path)?;
    let page = query.request()?;
    let keys = state
        .store(move |loyalty| loyalty.tenant_keys(&caller.0, &id, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(keys, KeyView::from)))
}

/// Revokes one of a tenant's keys.
///
/// It stops working at once; revoking a revoked key succeeds again. Platform admin.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{id}/api-keys/{key_id}", tag = "tenants", operation_id = "revoke_tenant_key",
    params(
        ("id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id."),
    ),
    responses(
        (status = 204, description = "The key is revoked (or already was)."),
        (status = 404, description = "`tenant_not_found`, `api_key_not_found`: no such tenant, or the tenant has no key with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke_key(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key) = path.into_inner();
    let id = tenant_in_path(&caller, &tenant)?;
    let key_id = path_id(&key, ApiKeyId::parse, Resource::ApiKey)?;
    state
        .store(move |loyalty| loyalty.revoke_tenant_key(&caller.0, &id, &key_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! A tenant admin's own keys.

use actix_web::{HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::auth::KeyRequest;
use loyalty_domain::ids::ApiKeyId;

use super::tenants::KeyBody;
use super::{PageQuery, path_id};
use crate::auth::Authenticated;
use crate::json::JsonBody;
use crate::views::{IssuedKeyView, KeyView, PageView};
use crate::{ApiError, HttpState};

/// Issues a key for the caller's tenant.
///
/// Tenant admin. The secret is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "issue_key",
    request_body = KeyBody,
    responses(
        (status = 201, description = "The key, with its secret `key` shown this once.", body = IssuedKeyView),
        (status = 403, description = "`forbidden`: a tenant admin key may mint another only where the tenant's feature `keys_admin_can_mint_admin` is on."),
        (status = 422, description = "`validation_failed` (with `errors`): a role a tenant key cannot have, or a label that is too long."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn issue(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<KeyBody>,
) -> Result<HttpResponse, ApiError> {
    let request = KeyRequest::from(body.value);
    let issued = state
        .store(move |loyalty| loyalty.issue_key(&caller.0, request))
        .await?;
    Ok(HttpResponse::Created().json(IssuedKeyView::from(issued)))
}

/// Lists the tenant's keys.
///
/// Never their secrets. Tenant admin.
#[utoipa::path(
    get, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "list_keys",
    params(PageQuery),
    responses((status = 200, description = "A page of keys.", body = PageView<KeyView>)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let keys = state
        .store(move |loyalty| loyalty.keys(&caller.0, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(keys, KeyView::from)))
}

/// Revokes a key.
///
/// It stops working at once. Revoking a revoked key succeeds again. Tenant admin.
#[utoipa::path(
    delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", operation_id = "revoke_key",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 204, description = "The key is revoked (or already was)."),
        (status = 404, description = "`api_key_not_found`: the tenant has no key with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, ApiKeyId::parse, Resource::ApiKey)?;
    state
        .store(move |loyalty| loyalty.revoke_key(&caller.0, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

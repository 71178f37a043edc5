//! A tenant admin's own keys.

use actix_web::{HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::ids::ApiKeyId;

use super::tenants::KeyBody;
use super::{PageQuery, path_id};
use crate::auth::Authenticated;
use crate::json::JsonBody;
use crate::views::{IssuedKeyView, KeyView, PageView};
use crate::{ApiError, HttpState};

pub(crate) async fn issue(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<KeyBody>,
) -> Result<HttpResponse, ApiError> {
    let KeyBody { role, label } = body.value;
    let issued = state
        .store(move |loyalty| loyalty.issue_key(&caller.0, role, label.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(IssuedKeyView::from(issued)))
}

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

/// Revokes the key; it stops working at once. Revoking a revoked key succeeds again.
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

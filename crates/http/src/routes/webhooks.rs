//! Webhook endpoints: the tenant admin registers where its events are delivered.

use actix_web::{HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::ids::WebhookId;
use loyalty_domain::webhooks::{NewWebhook, WebhookChanges};
use serde::Deserialize;

use super::{PageQuery, path_id};
use crate::auth::Authenticated;
use crate::json::{JsonBody, present};
use crate::views::{CreatedWebhookView, DeliveryView, PageView, WebhookView};
use crate::{ApiError, HttpState};

const ID_PARAM_DOC: &str = "The webhook's id.";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://crm.example.com/hooks/loyalty", "events": ["visit.recorded", "voucher.issued"], "description": "CRM sync"}))]
pub(crate) struct NewWebhookBody {
    /// Where deliveries are POSTed. In production: `https`, to a public address.
    url: String,
    /// `["*"]` for every type (also types added later), or types of the event catalogue.
    events: Vec<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub(crate) struct WebhookChangesBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    /// `true` turns a disabled endpoint back on: its waiting deliveries resume, in order.
    /// `false` pauses it: nothing is sent or queued for it meanwhile.
    enabled: Option<bool>,
}

/// Registers a webhook endpoint.
///
/// Tenant admin. The signing `secret` is in this answer only. Events placed in the feed from now
/// on are delivered to it, signed the Standard Webhooks way.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "create_webhook",
    request_body = NewWebhookBody,
    responses(
        (status = 201, description = "The endpoint, with its signing `secret` shown this once.", body = CreatedWebhookView),
        (status = 422, description = "`validation_failed` (with `errors`): a URL that is not `https` or points to a loopback, private or link-local address (production), an unknown event type, no event type."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<NewWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let new = NewWebhook {
        url: b.url,
        events: b.events,
        description: b.description,
    };
    let endpoint = state
        .store(move |loyalty| loyalty.create_webhook(&caller.0, new))
        .await?;
    Ok(HttpResponse::Created().json(CreatedWebhookView::from(endpoint)))
}

/// Lists the tenant's webhook endpoints.
///
/// Tenant admin. Never their secrets.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of endpoints, oldest first.", body = PageView<WebhookView>)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let endpoints = state
        .store(move |loyalty| loyalty.webhooks(&caller.0, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(endpoints, WebhookView::from)))
}

/// Reads a webhook endpoint.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook",
    params(("id" = String, Path, description = ID_PARAM_DOC)),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 404, description = "`webhook_not_found`: the tenant has no endpoint with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, WebhookId::parse, Resource::Webhook)?;
    let endpoint = state
        .store(move |loyalty| loyalty.webhook(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(endpoint)))
}

/// Changes a webhook endpoint.
///
/// Any subset; `null` clears the description. New subscriptions apply to events placed from
/// now on. Tenant admin.
#[utoipa::path(
    patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "update_webhook",
    params(("id" = String, Path, description = ID_PARAM_DOC)),
    request_body = WebhookChangesBody,
    responses(
        (status = 200, description = "The endpoint as changed.", body = WebhookView),
        (status = 404, description = "`webhook_not_found`: the tenant has no endpoint with this id."),
        (status = 422, description = "`validation_failed` (with `errors`): as on creation."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: JsonBody<WebhookChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, WebhookId::parse, Resource::Webhook)?;
    let b = body.value;
    let changes = WebhookChanges {
        url: b.url,
        events: b.events,
        description: b.description,
        enabled: b.enabled,
    };
    let endpoint = state
        .store(move |loyalty| loyalty.update_webhook(&caller.0, &id, changes))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(endpoint)))
}

/// Deletes a webhook endpoint.
///
/// Its waiting deliveries are dropped and its delivery history with it. Tenant admin.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    params(("id" = String, Path, description = ID_PARAM_DOC)),
    responses(
        (status = 204, description = "The endpoint is gone."),
        (status = 404, description = "`webhook_not_found`: the tenant has no endpoint with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, WebhookId::parse, Resource::Webhook)?;
    state
        .store(move |loyalty| loyalty.delete_webhook(&caller.0, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Gives a webhook endpoint a new signing secret.
///
/// Tenant admin. The new secret is in this answer only. For 24 hours every delivery carries a
/// signature with the old secret too, so the receiver can switch over without missing one.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", operation_id = "rotate_webhook_secret",
    params(("id" = String, Path, description = ID_PARAM_DOC)),
    responses(
        (status = 200, description = "The endpoint with its new `secret`.", body = CreatedWebhookView),
        (status = 404, description = "`webhook_not_found`: the tenant has no endpoint with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn rotate_secret(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, WebhookId::parse, Resource::Webhook)?;
    let endpoint = state
        .store(move |loyalty| loyalty.rotate_webhook_secret(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CreatedWebhookView::from(endpoint)))
}

/// Lists a webhook endpoint's deliveries.
///
/// Newest first, each with every attempt (status code, latency, error) and, while pending, when
/// it is tried next. Tenant admin.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    params(("id" = String, Path, description = ID_PARAM_DOC), PageQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = PageView<DeliveryView>),
        (status = 404, description = "`webhook_not_found`: the tenant has no endpoint with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn deliveries(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, WebhookId::parse, Resource::Webhook)?;
    let page = query.request()?;
    let deliveries = state
        .store(move |loyalty| loyalty.webhook_deliveries(&caller.0, &id, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(deliveries, DeliveryView::from)))
}

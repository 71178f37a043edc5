//! The rewards catalog: staff read it, tenant admins write it.

use actix_web::{HttpResponse, web};
use loyalty_domain::Resource;
use loyalty_domain::ids::RewardId;
use loyalty_domain::rewards::{NewReward, RewardChanges};
use serde::Deserialize;

use super::path_id;
use crate::auth::Authenticated;
use crate::json::{JsonBody, present};
use crate::views::{PageView, RewardView};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Free wash", "cost_points": 100, "stock": 50, "valid_days": 30}))]
pub(crate) struct NewRewardBody {
    name: String,
    description: Option<String>,
    cost_points: i64,
    active: Option<bool>,
    stock: Option<i64>,
    valid_days: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub(crate) struct RewardChangesBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    cost_points: Option<i64>,
    active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    stock: Option<Option<i64>>,
    valid_days: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RewardQuery {
    limit: Option<u32>,
    after: Option<String>,
    active: Option<bool>,
}

/// Adds a reward to the catalog.
///
/// Tenant admin.
#[utoipa::path(
    post, path = "/api/v1/rewards", tag = "rewards", operation_id = "create_reward",
    request_body = NewRewardBody,
    responses(
        (status = 201, description = "The reward.", body = RewardView),
        (status = 422, description = "`validation_failed` (with `errors`): no name, a cost that is not positive, a negative stock, validity out of range."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<NewRewardBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let new = NewReward {
        name: b.name,
        description: b.description,
        cost_points: b.cost_points,
        active: b.active,
        stock: b.stock,
        valid_days: b.valid_days,
    };
    let reward = state
        .store(move |loyalty| loyalty.create_reward(&caller.0, new))
        .await?;
    Ok(HttpResponse::Created().json(RewardView::from(reward)))
}

/// Lists the rewards.
///
/// Optionally only the active (`active=true`) or the inactive ones.
#[utoipa::path(
    get, path = "/api/v1/rewards", tag = "rewards", operation_id = "list_rewards",
    params(RewardQuery),
    responses((status = 200, description = "A page of rewards.", body = PageView<RewardView>)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<RewardQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = loyalty_domain::page::PageRequest::new(query.limit, query.after.as_deref())?;
    let active = query.active;
    let rewards = state
        .store(move |loyalty| loyalty.rewards(&caller.0, active, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(rewards, RewardView::from)))
}

/// Reads a reward.
#[utoipa::path(
    get, path = "/api/v1/rewards/{id}", tag = "rewards", operation_id = "get_reward",
    params(("id" = String, Path, description = "The reward's id.")),
    responses(
        (status = 200, description = "The reward.", body = RewardView),
        (status = 404, description = "`reward_not_found`: the tenant has no reward with this id."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, RewardId::parse, Resource::Reward)?;
    let reward = state
        .store(move |loyalty| loyalty.reward(&caller.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(RewardView::from(reward)))
}

/// Changes a reward.
///
/// Any subset; `null` clears the description or makes stock unlimited. Tenant admin.
#[utoipa::path(
    patch, path = "/api/v1/rewards/{id}", tag = "rewards", operation_id = "update_reward",
    params(("id" = String, Path, description = "The reward's id.")),
    request_body = RewardChangesBody,
    responses(
        (status = 200, description = "The reward as changed.", body = RewardView),
        (status = 404, description = "`reward_not_found`: the tenant has no reward with this id."),
        (status = 422, description = "`validation_failed` (with `errors`): a value out of range."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    state: web::Data<HttpState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: JsonBody<RewardChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path, RewardId::parse, Resource::Reward)?;
    let b = body.value;
    let changes = RewardChanges {
        name: b.name,
        description: b.description,
        cost_points: b.cost_points,
        active: b.active,
        stock: b.stock,
        valid_days: b.valid_days,
    };
    let reward = state
        .store(move |loyalty| loyalty.update_reward(&caller.0, &id, changes))
        .await?;
    Ok(HttpResponse::Ok().json(RewardView::from(reward)))
}

//! The tenant's loyalty program.

use actix_web::{HttpResponse, web};
use loyalty_domain::LoyaltyError;
use loyalty_domain::program::Program;

use crate::auth::Authenticated;
use crate::json::JsonBody;
use crate::views::ProgramBody;
use crate::{ApiError, HttpState};

/// Reads the tenant's program.
///
/// A tenant that never saved one runs on the default program.
#[utoipa::path(
    get, path = "/api/v1/program", tag = "program", operation_id = "get_program",
    responses((status = 200, description = "The program.", body = ProgramBody)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let program = state
        .store(move |loyalty| loyalty.program(&caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(ProgramBody::from(program)))
}

/// Replaces the tenant's program.
///
/// It applies to activity from now on. Tenant admin.
#[utoipa::path(
    put, path = "/api/v1/program", tag = "program", operation_id = "replace_program",
    request_body = ProgramBody,
    responses(
        (status = 200, description = "The program as saved.", body = ProgramBody),
        (status = 404, description = "`reward_not_found`: the milestone reward is not one of the tenant's."),
        (status = 422, description = "`validation_failed` (with `errors`): a value out of range, or tiers out of order."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn replace(
    state: web::Data<HttpState>,
    caller: Authenticated,
    body: JsonBody<ProgramBody>,
) -> Result<HttpResponse, ApiError> {
    let program = Program::try_from(body.value).map_err(LoyaltyError::from)?;
    let saved = state
        .store(move |loyalty| loyalty.replace_program(&caller.0, program))
        .await?;
    Ok(HttpResponse::Ok().json(ProgramBody::from(saved)))
}

//! The tenant's loyalty program.

use actix_web::{HttpResponse, web};
use loyalty_domain::LoyaltyError;
use loyalty_domain::program::Program;

use crate::auth::Authenticated;
use crate::json::JsonBody;
use crate::views::ProgramBody;
use crate::{ApiError, HttpState};

pub(crate) async fn show(
    state: web::Data<HttpState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let program = state
        .store(move |loyalty| loyalty.program(&caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(ProgramBody::from(program)))
}

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

//! The customer's own card, public and found by its unguessable token.

use actix_web::{HttpResponse, web};

use crate::views::CardBody;
use crate::{ApiError, HttpState};

pub(crate) async fn show(
    state: web::Data<HttpState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let card = state.store(move |loyalty| loyalty.card(&token)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CardBody::from(card)))
}

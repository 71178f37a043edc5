//! The customer's own card, public and found by its unguessable token.

use actix_web::{HttpResponse, web};

use crate::views::CardBody;
use crate::{ApiError, HttpState};

/// The customer's own card.
///
/// Balance, stamps, live vouchers and the rewards within reach. The token is the card's only
/// credential; it is never logged.
#[utoipa::path(
    get, path = "/api/public/cards/{card_token}", tag = "public", operation_id = "card",
    params(("card_token" = String, Path, description = "The card's token, from the customer record's `card_token`.")),
    responses(
        (status = 200, description = "The card.", body = CardBody),
        (status = 404, description = "`card_not_found`: no card has this token."),
    )
)]
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

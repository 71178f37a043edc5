//! The tenant's event feed.

use actix_web::{HttpResponse, web};
use loyalty_domain::events::{EventFilter, EventPage, EventType, FeedRequest};
use loyalty_domain::ids::CustomerId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::events::EventView;
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    /// 1 to 200, default 50.
    limit: Option<u32>,
    /// The `next_cursor` of the page read before; absent: from the oldest event kept.
    after: Option<String>,
    /// Only events of this type, such as `visit.recorded`.
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// Only events about this customer.
    customer_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FeedView {
    items: Vec<EventView>,
    /// Where to read on from: keep it and send it as `after`, also when `items` is empty.
    next_cursor: Option<String>,
}

/// Reads the tenant's event feed.
///
/// Tenant admin. Oldest first; following `next_cursor` from the start sees every event exactly
/// once, in the order the changes committed, however many tills write meanwhile. Poll with the
/// last `next_cursor` to be told of what happened since.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events", operation_id = "list_events",
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events.", body = FeedView),
        (status = 400, description = "`invalid_query`: a `type` that is not in the catalogue, a bad `limit` or cursor."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let request = FeedRequest::new(query.limit, query.after.as_deref())?;
    let event_type = query
        .event_type
        .map(|text| {
            EventType::parse(&text).ok_or_else(|| {
                ApiError::InvalidQuery(format!("type {text:?} is not an event type"))
            })
        })
        .transpose()?;
    let customer_id = match query.customer_id.as_deref().map(CustomerId::parse) {
        None => None,
        Some(Some(id)) => Some(id),
        // Text that is no customer id is no customer's: nothing matches.
        Some(None) => {
            let nothing = EventPage::new(Vec::new(), &request);
            return Ok(HttpResponse::Ok().json(FeedView {
                items: Vec::new(),
                next_cursor: nothing.next_cursor,
            }));
        }
    };
    let filter = EventFilter {
        event_type,
        customer_id,
    };
    let page = state
        .store(move |loyalty| loyalty.events(&caller.0, &filter, &request))
        .await?;
    let items = page
        .items
        .iter()
        .map(|placed| EventView::of(&placed.event))
        .collect::<Result<_, _>>()
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(HttpResponse::Ok().json(FeedView {
        items,
        next_cursor: page.next_cursor,
    }))
}

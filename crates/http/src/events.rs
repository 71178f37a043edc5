//! Events carry their resource as the API renders it: the same views, so a consumer parses one
//! shape whether it read the resource or was told of it. A webhook delivery's body is the event
//! as the feed shows it.

use loyalty_domain::events::{EventRenderer, EventSubject, NewEvent};
use loyalty_domain::idempotency::RenderError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::{CustomerView, LedgerEntryView, VoucherView, WebhookView, timestamp};

/// An event as the feed shows it and a webhook delivers it.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventView {
    id: String,
    /// Such as `visit.recorded`; see the event catalogue.
    #[serde(rename = "type")]
    event_type: &'static str,
    occurred_at: String,
    tenant_id: String,
    /// Null for events about no customer (`webhook.disabled`).
    customer_id: Option<String>,
    /// The resource the event is about, as the API renders it when the change was made: a
    /// customer (without `card_token`), a ledger entry, a voucher (code and QR payload masked)
    /// or a webhook endpoint (without its secret, its URL cut to scheme, host and port).
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

impl EventView {
    pub(crate) fn of(event: &NewEvent) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: event.id.as_str().to_owned(),
            event_type: event.event_type.as_str(),
            occurred_at: timestamp(event.occurred_at),
            tenant_id: event.tenant_id.to_string(),
            customer_id: event.customer_id.as_ref().map(|id| id.as_str().to_owned()),
            data: serde_json::from_str(&event.data)?,
        })
    }
}

/// Renders event data with the API's views.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApiEventRenderer;

impl EventRenderer for ApiEventRenderer {
    fn render(&self, subject: EventSubject<'_>) -> Result<String, RenderError> {
        let rendered = match subject {
            EventSubject::Customer(customer) => {
                serde_json::to_string(&CustomerView::account(customer.clone()))
            }
            EventSubject::Entry(entry) => {
                serde_json::to_string(&LedgerEntryView::from(entry.clone()))
            }
            EventSubject::Voucher(voucher) => {
                serde_json::to_string(&VoucherView::from(voucher.clone()))
            }
            EventSubject::Webhook(endpoint) => {
                serde_json::to_string(&WebhookView::announced(endpoint.clone()))
            }
        };
        Ok(rendered?)
    }

    fn render_event(&self, event: &NewEvent) -> Result<String, RenderError> {
        Ok(serde_json::to_string(&EventView::of(event)?)?)
    }

    fn without_personal_data(&self, data: &str) -> Result<String, RenderError> {
        let mut customer: serde_json::Map<String, serde_json::Value> = serde_json::from_str(data)?;
        for field in CustomerView::PERSONAL_FIELDS {
            if let Some(value) = customer.get_mut(field) {
                *value = serde_json::Value::Null;
            }
        }
        Ok(serde_json::to_string(&customer)?)
    }
}

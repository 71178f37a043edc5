//! Events carry their resource as the API renders it: the same views, so a consumer parses one
//! shape whether it read the resource or was told of it.

use loyalty_domain::events::{EventRenderer, EventSubject};
use loyalty_domain::idempotency::RenderError;

use crate::views::{CustomerView, LedgerEntryView, VoucherView};

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
        };
        Ok(rendered?)
    }
}

//! Writing a change's events in the change's own transaction: they commit with it or not at all.

use chrono::{DateTime, Utc};

use crate::LoyaltyError;
use crate::customer::Customer;
use crate::events::{EventRenderer, EventSubject, EventType, NewEvent};
use crate::ids::{CustomerId, EventId};
use crate::ledger::LedgerEntry;
use crate::store::UnitOfWork;
use crate::tenant::TenantId;
use crate::voucher::{Voucher, VoucherStatus};
use crate::webhooks::WebhookEndpoint;

/// Appends events to the transaction's outbox, their data rendered as the API renders it.
#[derive(Clone, Copy)]
pub(super) struct Outbox<'a> {
    pub(super) renderer: &'a dyn EventRenderer,
}

impl Outbox<'_> {
    /// An event about the customer's account (`customer.created`, `customer.updated`,
    /// `tier.changed`).
    pub(super) fn customer(
        &self,
        uow: &mut dyn UnitOfWork,
        event_type: EventType,
        customer: &Customer,
        at: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let subject = EventSubject::Customer(customer);
        self.append(
            uow,
            event_type,
            &customer.tenant_id,
            Some(&customer.id),
            subject,
            at,
        )
    }

    /// The event a ledger entry makes, if its kind makes one.
    pub(super) fn entry(
        &self,
        uow: &mut dyn UnitOfWork,
        entry: &LedgerEntry,
    ) -> Result<(), LoyaltyError> {
        let Some(event_type) = EventType::of_entry(entry.kind) else {
            return Ok(());
        };
        let subject = EventSubject::Entry(entry);
        self.append(
            uow,
            event_type,
            &entry.tenant_id,
            Some(&entry.customer_id),
            subject,
            entry.created_at,
        )
    }

    /// The event of a voucher that was just issued or closed, as its status says; its code and
    /// QR payload are masked.
    pub(super) fn voucher(
        &self,
        uow: &mut dyn UnitOfWork,
        voucher: &Voucher,
        at: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let event_type = match voucher.status {
            VoucherStatus::Issued => EventType::VoucherIssued,
            VoucherStatus::Fulfilled => EventType::VoucherFulfilled,
            VoucherStatus::Cancelled => EventType::VoucherCancelled,
            VoucherStatus::Expired => EventType::VoucherExpired,
        };
        let masked = voucher.clone().masked();
        let subject = EventSubject::Voucher(&masked);
        self.append(
            uow,
            event_type,
            &voucher.tenant_id,
            Some(&voucher.customer_id),
            subject,
            at,
        )
    }

    /// `webhook.disabled`: an endpoint failed for too long. It is about no customer.
    pub(super) fn webhook_disabled(
        &self,
        uow: &mut dyn UnitOfWork,
        endpoint: &WebhookEndpoint,
        at: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let subject = EventSubject::Webhook(endpoint);
        self.append(
            uow,
            EventType::WebhookDisabled,
            &endpoint.tenant_id,
            None,
            subject,
            at,
        )
    }

    fn append(
        &self,
        uow: &mut dyn UnitOfWork,
        event_type: EventType,
        tenant: &TenantId,
        customer_id: Option<&CustomerId>,
        subject: EventSubject<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let data = self
            .renderer
            .render(subject)
            .map_err(LoyaltyError::Render)?;
        uow.append_event(&NewEvent {
            id: EventId::generate(),
            tenant_id: tenant.clone(),
            customer_id: customer_id.cloned(),
            event_type,
            occurred_at: at,
            data,
        })?;
        Ok(())
    }
}

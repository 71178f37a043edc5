//! Events: what happened to a tenant's customers, written by each change in its own transaction
//! (a transactional outbox), so an event exists exactly when its change committed.
//!
//! An event's `data` is the resource it is about as the API renders it, at the moment of the
//! change; the domain names the resource and a port renders it ([`EventRenderer`]). Events are
//! given their place in the feed after they commit ([`crate::store::EventRecords`]), so a reader
//! that follows the feed's cursor sees every event once, in order, however many writers commit
//! at once.

use chrono::{DateTime, Utc};

use crate::customer::Customer;
use crate::idempotency::RenderError;
use crate::ids::{CustomerId, EventId};
use crate::ledger::{EntryKind, LedgerEntry};
use crate::page::{PageError, PageRequest, encode_cursor};
use crate::tenant::TenantId;
use crate::voucher::Voucher;
use crate::webhooks::WebhookEndpoint;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    CustomerCreated,
    CustomerUpdated,
    VisitRecorded,
    PurchaseRecorded,
    PointsAdjusted,
    EntryReversed,
    MilestoneReached,
    TierChanged,
    VoucherIssued,
    VoucherFulfilled,
    VoucherCancelled,
    VoucherExpired,
    PointsExpired,
    /// A webhook endpoint that kept failing was disabled.
    WebhookDisabled,
    /// A customer was erased: integrations should forget them too.
    CustomerErased,
}

impl EventType {
    /// Every type, in the catalogue's order.
    pub const ALL: [EventType; 15] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::VisitRecorded,
        Self::PurchaseRecorded,
        Self::PointsAdjusted,
        Self::EntryReversed,
        Self::MilestoneReached,
        Self::TierChanged,
        Self::VoucherIssued,
        Self::VoucherFulfilled,
        Self::VoucherCancelled,
        Self::VoucherExpired,
        Self::PointsExpired,
        Self::WebhookDisabled,
        Self::CustomerErased,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::VisitRecorded => "visit.recorded",
            Self::PurchaseRecorded => "purchase.recorded",
            Self::PointsAdjusted => "points.adjusted",
            Self::EntryReversed => "entry.reversed",
            Self::MilestoneReached => "milestone.reached",
            Self::TierChanged => "tier.changed",
            Self::VoucherIssued => "voucher.issued",
            Self::VoucherFulfilled => "voucher.fulfilled",
            Self::VoucherCancelled => "voucher.cancelled",
            Self::VoucherExpired => "voucher.expired",
            Self::PointsExpired => "points.expired",
            Self::WebhookDisabled => "webhook.disabled",
            Self::CustomerErased => "customer.erased",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The event a ledger entry of `kind` makes; spending and refunds have none of their own
    /// (the voucher's events tell of them), nor has an imported opening balance (an import
    /// emits no events).
    pub fn of_entry(kind: EntryKind) -> Option<Self> {
        match kind {
            EntryKind::Visit => Some(Self::VisitRecorded),
            EntryKind::Purchase => Some(Self::PurchaseRecorded),
            EntryKind::Adjustment => Some(Self::PointsAdjusted),
            EntryKind::Reversal => Some(Self::EntryReversed),
            EntryKind::Milestone => Some(Self::MilestoneReached),
            EntryKind::Expiry => Some(Self::PointsExpired),
            EntryKind::Redemption | EntryKind::Refund | EntryKind::OpeningBalance => None,
        }
    }
}

/// The resource an event is about, as the domain has it.
#[derive(Debug, Clone, Copy)]
pub enum EventSubject<'a> {
    /// The customer's account (never with the card token: it is a credential).
    Customer(&'a Customer),
    Entry(&'a LedgerEntry),
    /// A voucher, its code and QR payload masked.
    Voucher(&'a Voucher),
    /// A webhook endpoint (never with its secret).
    Webhook(&'a WebhookEndpoint),
}

/// Port: renders events as the API renders them, as JSON text.
pub trait EventRenderer: Send + Sync + std::fmt::Debug {
    /// An event's subject, as the API renders that resource: the event's `data`.
    fn render(&self, subject: EventSubject<'_>) -> Result<String, RenderError>;
    /// A whole event, as the feed shows it: a webhook delivery's body.
    fn render_event(&self, event: &NewEvent) -> Result<String, RenderError>;
    /// A customer's data as [`render`](Self::render) made it, without the personal data (the
    /// customer was erased); everything else as it was at the change.
    fn without_personal_data(&self, data: &str) -> Result<String, RenderError>;
}

/// An event as a change writes it; the store gives it its place in the feed once it committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub customer_id: Option<CustomerId>,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    /// The subject as the API renders it: JSON text.
    pub data: String,
}

/// An event in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: NewEvent,
    /// Its place in the feed: later events have higher positions.
    pub position: i64,
}

/// Which of a tenant's events a reader wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub customer_id: Option<CustomerId>,
}

/// Which page of the feed to read: at most `limit` events after the place `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRequest {
    pub limit: u32,
    pub after: Option<i64>,
}

impl FeedRequest {
    /// From a client's `limit` and opaque cursor, under the same rules as every list.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, PageError> {
        let page = PageRequest::new(limit, cursor)?;
        let after = page
            .after
            .map(|place| place.parse::<i64>().map_err(|_| PageError::Cursor))
            .transpose()?;
        Ok(Self {
            limit: page.limit,
            after,
        })
    }
}

/// One page of the feed, and the cursor to read on from: the last event's place, or the
/// request's own cursor when nothing followed it, so a reader polling the feed always has one
/// (null only while the tenant has no events at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

impl EventPage {
    pub fn new(items: Vec<Event>, request: &FeedRequest) -> Self {
        let next_cursor = items
            .last()
            .map(|event| event.position)
            .or(request.after)
            .map(|place| encode_cursor(&place.to_string()));
        Self { items, next_cursor }
    }
}

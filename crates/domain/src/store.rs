//! The store port: one transaction at a time, with repositories for each kind of record.
//!
//! A use case runs inside [`LoyaltyStore::transaction`] and sees a [`UnitOfWork`]: everything it
//! reads and writes there commits together or not at all, so nothing is ever half-written. Every
//! tenant-owned record is addressed with its tenant, so one tenant's ids never reach another's
//! data. The adapter may run the work again after a conflict with a concurrent transaction, so
//! work must have no effect outside the unit of work.

use std::error::Error;

use chrono::{DateTime, Utc};

use crate::LoyaltyError;
use crate::audit::AuditEntry;
use crate::auth::ApiKey;
use crate::customer::{Customer, CustomerLookup};
use crate::events::{Event, EventFilter, EventType, NewEvent};
use crate::idempotency::{IdempotencyKey, IdempotencyScope, StoredResponse};
use crate::ids::{
    ApiKeyId, CustomerId, EventId, LedgerEntryId, LotId, RewardId, VoucherId, WebhookId,
};
use crate::ledger::LedgerEntry;
use crate::lots::{Draw, Lot};
use crate::page::PageRequest;
use crate::program::Program;
use crate::reports::{Activity, LocalDays, TopBy, TopCustomer};
use crate::rewards::Reward;
use crate::search::{CustomerQuery, SearchCursor, SearchHit};
use crate::tenant::{Tenant, TenantId};
use crate::voucher::{Voucher, VoucherStatus};
use crate::webhooks::{
    ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryQueue, DeliveryStatus, WebhookEndpoint,
};

/// A store could not complete an operation for reasons outside the domain's rules: the database
/// is unreachable or busy, a query failed, a concurrent transaction got in the way. The adapter's
/// error is kept as the source so the cause can be logged; the domain never inspects it.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.kind.describe())]
pub struct StoreError {
    kind: StoreErrorKind,
    #[source]
    source: Box<dyn Error + Send + Sync + 'static>,
}

/// What kind of failure a [`StoreError`] is, which decides what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Anything else: a bug, corrupt data, a query the database refused.
    Failure,
    /// A clash with a concurrent transaction (a unique key taken meanwhile, a serialization
    /// failure): running the work again may succeed.
    Conflict,
    /// The database could not serve the work in time: no connection became free, a statement or
    /// lock wait timed out, the server went away. Nothing was written; a client may retry later.
    Unavailable,
}

impl StoreErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Failure => "the store failed",
            Self::Conflict => "the store met a concurrent change",
            Self::Unavailable => "the store could not serve the work in time",
        }
    }
}

impl StoreError {
    pub fn of_kind(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    pub fn is_conflict(&self) -> bool {
        self.kind == StoreErrorKind::Conflict
    }

    pub fn is_unavailable(&self) -> bool {
        self.kind == StoreErrorKind::Unavailable
    }
}

pub trait TenantRecords {
    fn tenant(&mut self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Reads the tenant and holds it against concurrent writers until the transaction ends.
    fn tenant_for_update(&mut self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant whose primary domain is `domain`.
    fn tenant_with_domain(&mut self, domain: &str) -> Result<Option<TenantId>, StoreError>;
    fn tenant_with_subdomain(&mut self, subdomain: &str) -> Result<Option<TenantId>, StoreError>;
    fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError>;
    fn update_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Up to `page.fetch_limit()` tenants after the cursor, by id.
    fn tenants(&mut self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError>;
}

pub trait KeyRecords {
    fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    /// Keys are found by prefix before any tenant is known.
    fn key_by_prefix(&mut self, prefix: &str) -> Result<Option<ApiKey>, StoreError>;
    fn key(&mut self, tenant: &TenantId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Up to `page.fetch_limit()` of the tenant's keys after the cursor, oldest first.
    fn keys(&mut self, tenant: &TenantId, page: &PageRequest) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes the key at `at` unless it is revoked already; false when it was (a concurrent
    /// revocation may have come first).
    fn revoke_key(
        &mut self,
        tenant: Option<&TenantId>,
        key_id: &ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Sets the key's `last_used_at` to `at`, unless it already records a use after
    /// `unless_after`.
    fn record_key_use(
        &mut self,
        key_id: &ApiKeyId,
        at: DateTime<Utc>,
        unless_after: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

pub trait ProgramRecords {
    /// The tenant's program, or None while it still runs on the default program.
    fn program(&mut self, tenant: &TenantId) -> Result<Option<Program>, StoreError>;
    fn save_program(
        &mut self,
        tenant: &TenantId,
        program: &Program,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

pub trait CustomerRecords {
    fn insert_customer(&mut self, customer: &Customer) -> Result<(), StoreError>;
    /// Inserts many customers at once (an import).
    fn insert_customers(&mut self, customers: &[Customer]) -> Result<(), StoreError>;
    /// The tenant's customers with any of the phones, emails or external ids of `lookups`.
    fn customers_matching(
        &mut self,
        tenant: &TenantId,
        lookups: &[CustomerLookup],
    ) -> Result<Vec<Customer>, StoreError>;
    fn customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError>;
    /// Reads the customer and holds it against concurrent writers until the transaction ends.
    fn customer_for_update(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError>;
    fn find_customer(
        &mut self,
        tenant: &TenantId,
        lookup: &CustomerLookup,
    ) -> Result<Option<Customer>, StoreError>;
    /// Up to `page.fetch_limit()` customers after the cursor, newest first.
    fn customers(
        &mut self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Vec<Customer>, StoreError>;
    /// Writes the customer's profile and account fields.
    fn update_customer(&mut self, customer: &Customer) -> Result<(), StoreError>;
    /// Cards are found by token before any tenant is known.
    fn customer_by_card(&mut self, card_token: &str) -> Result<Option<Customer>, StoreError>;
    /// Replaces the customer's search terms with `terms`, and records that they are indexed.
    fn replace_search_terms(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
        terms: &[String],
    ) -> Result<(), StoreError>;
    /// Up to `limit` of the tenant's customers some group of `query` matches, best first (by
    /// quality, then id), after `after`.
    fn search_customers(
        &mut self,
        tenant: &TenantId,
        query: &CustomerQuery,
        after: Option<&SearchCursor>,
        limit: i64,
    ) -> Result<Vec<SearchHit>, StoreError>;
    /// Writes the search terms of customers that have none yet (new ones, or ones never
    /// indexed), and records that they are indexed.
    fn add_search_terms(
        &mut self,
        tenant: &TenantId,
        terms: &[(CustomerId, Vec<String>)],
    ) -> Result<(), StoreError>;
    /// Up to `limit` customers, of any tenant, whose search terms were never written, by tenant
    /// and id after `after`, held against concurrent writers (those another transaction holds
    /// are skipped).
    fn unindexed_customers(
        &mut self,
        after: Option<&(TenantId, CustomerId)>,
        limit: i64,
    ) -> Result<Vec<Customer>, StoreError>;
}

pub trait LedgerRecords {
    fn append_entry(&mut self, entry: &LedgerEntry) -> Result<(), StoreError>;
    /// Appends many entries at once (an import's opening balances).
    fn append_entries(&mut self, entries: &[LedgerEntry]) -> Result<(), StoreError>;
    fn entry(
        &mut self,
        tenant: &TenantId,
        id: &LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    fn reversal_of(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    /// The entry that spent points on a voucher.
    fn redemption_entry(
        &mut self,
        tenant: &TenantId,
        voucher_id: &VoucherId,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    /// Up to `page.fetch_limit()` of the customer's entries after the cursor, newest first.
    fn entries(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        page: &PageRequest,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Up to `page.fetch_limit()` of the tenant's entries made within `made` (from, until
    /// before) after the cursor, oldest id first.
    fn tenant_entries(
        &mut self,
        tenant: &TenantId,
        made: (DateTime<Utc>, DateTime<Utc>),
        page: &PageRequest,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
}

pub trait IdempotencyRecords {
    /// The record of `key` in `scope`. Records made before keys were scoped (no API key) answer
    /// for every key of their tenant until they expire.
    fn idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Takes the key for this transaction before its work runs: a concurrent request with the
    /// same key then waits on it, and once this one commits it finds the stored response.
    fn claim_idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Stores the response under the key this transaction claimed.
    fn record_response(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Deletes the record of `key` (one past its time to live), so that it can be claimed anew.
    fn forget_idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError>;
    /// Replaces the stored answer of every record of the tenant claimed within `claimed` (from,
    /// until before) whose answer holds `needle` (a record's id) with `replacement`, and forgets the
    /// request's fingerprint (a retry of it is then refused as a reused key, never run again);
    /// returns how many.
    fn redact_responses_naming(
        &mut self,
        tenant: &TenantId,
        needle: &str,
        replacement: &str,
        claimed: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<u64, StoreError>;
    /// Deletes up to `limit` records of every tenant claimed before `before`; returns how many.
    fn forget_idempotency_before(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError>;
}

pub trait RewardRecords {
    fn insert_reward(&mut self, reward: &Reward) -> Result<(), StoreError>;
    fn reward(&mut self, tenant: &TenantId, id: &RewardId) -> Result<Option<Reward>, StoreError>;
    /// Reads the reward and holds it (its stock) against concurrent writers.
    fn reward_for_update(
        &mut self,
        tenant: &TenantId,
        id: &RewardId,
    ) -> Result<Option<Reward>, StoreError>;
    /// Up to `page.fetch_limit()` rewards after the cursor, oldest first, optionally only
    /// active or inactive ones.
    fn rewards(
        &mut self,
        tenant: &TenantId,
        active: Option<bool>,
        page: &PageRequest,
    ) -> Result<Vec<Reward>, StoreError>;
    fn update_reward(&mut self, reward: &Reward) -> Result<(), StoreError>;
}

/// Which vouchers a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoucherFilter {
    pub status: Option<VoucherStatus>,
    pub customer_id: Option<CustomerId>,
}

/// How staff name a voucher at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoucherLookup {
    Code(String),
    QrPayload(String),
}

pub trait VoucherRecords {
    fn insert_voucher(&mut self, voucher: &Voucher) -> Result<(), StoreError>;
    fn voucher(&mut self, tenant: &TenantId, id: &VoucherId)
    -> Result<Option<Voucher>, StoreError>;
    /// Reads the voucher and holds it against concurrent writers.
    fn voucher_for_update(
        &mut self,
        tenant: &TenantId,
        id: &VoucherId,
    ) -> Result<Option<Voucher>, StoreError>;
    /// The voucher a code or QR payload names: the newest, which is the live one if any.
    fn find_voucher(
        &mut self,
        tenant: &TenantId,
        lookup: &VoucherLookup,
    ) -> Result<Option<Voucher>, StoreError>;
    /// Up to `page.fetch_limit()` vouchers after the cursor, newest first. A status filter
    /// reads statuses as of `now`: an issued voucher past its expiry counts as expired.
    fn vouchers(
        &mut self,
        tenant: &TenantId,
        filter: &VoucherFilter,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Vec<Voucher>, StoreError>;
    /// Up to `limit` of the customer's issued vouchers not yet expired at `now`, soonest expiry
    /// first.
    fn live_vouchers(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Voucher>, StoreError>;
    /// Up to `limit` issued vouchers, of any tenant, whose expiry is at or before `now`, leaving
    /// out those in `skipping`.
    fn overdue_vouchers(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
        skipping: &[VoucherId],
    ) -> Result<Vec<(TenantId, VoucherId)>, StoreError>;
    fn update_voucher(&mut self, voucher: &Voucher) -> Result<(), StoreError>;
}

pub trait LotRecords {
    /// The customer's lots that still hold points (or debt).
    fn open_lots(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
    ) -> Result<Vec<Lot>, StoreError>;
    fn lots_by_id(&mut self, tenant: &TenantId, ids: &[LotId]) -> Result<Vec<Lot>, StoreError>;
    fn insert_lot(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        lot: &Lot,
    ) -> Result<(), StoreError>;
    /// Inserts many customers' lots at once (an import's opening balances).
    fn insert_lots(
        &mut self,
        tenant: &TenantId,
        lots: &[(CustomerId, Lot)],
    ) -> Result<(), StoreError>;
    fn update_lot(&mut self, tenant: &TenantId, lot: &Lot) -> Result<(), StoreError>;
    /// Records which lots a spending entry drew from, for a later refund.
    fn insert_draws(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
        draws: &[Draw],
    ) -> Result<(), StoreError>;
    fn draws_of(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
    ) -> Result<Vec<Draw>, StoreError>;
    /// Up to `limit` customers, of any tenant, holding points whose expiry is at or before `now`,
    /// leaving out those in `skipping`.
    fn customers_with_expiring_points(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
        skipping: &[CustomerId],
    ) -> Result<Vec<(TenantId, CustomerId)>, StoreError>;
}

pub trait EventRecords {
    /// Adds an event to the transaction's outbox; it has no place in the feed yet.
    fn append_event(&mut self, event: &NewEvent) -> Result<(), StoreError>;
    /// Gives up to `limit` committed events that have no place in the feed yet their places,
    /// after every place given before (places only grow, even once old events are deleted), in
    /// the order they were written, and queues a pending delivery of each, due at `now`, to
    /// every enabled webhook endpoint of its tenant that subscribes to its type; returns how
    /// many events it placed. One placement runs at a time: with `wait`, this one waits for a
    /// running one to end (and then places what is left); without, it returns None at once (the
    /// running one places what this one would have, or the next one does).
    fn place_events(
        &mut self,
        limit: i64,
        now: DateTime<Utc>,
        wait: bool,
    ) -> Result<Option<u64>, StoreError>;
    /// Up to `limit` of the tenant's placed events after `after` (a place), in place order.
    fn events(
        &mut self,
        tenant: &TenantId,
        filter: &EventFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError>;
    /// The customer's events of `types`, placed in the feed or not yet.
    fn customer_events(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
        types: &[EventType],
    ) -> Result<Vec<NewEvent>, StoreError>;
    /// Replaces an event's data.
    fn replace_event_data(&mut self, event: &EventId, data: &str) -> Result<(), StoreError>;
    /// Deletes up to `limit` placed events that occurred before `before`, but none still
    /// waiting to be delivered to a webhook; returns how many.
    fn forget_events_before(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError>;
}

pub trait WebhookRecords {
    fn insert_webhook(&mut self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    fn webhook(
        &mut self,
        tenant: &TenantId,
        id: &WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Reads the endpoint and holds it against concurrent writers until the transaction ends.
    fn webhook_for_update(
        &mut self,
        tenant: &TenantId,
        id: &WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Up to `page.fetch_limit()` of the tenant's endpoints after the cursor, oldest first.
    fn webhooks(
        &mut self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;
    fn update_webhook(&mut self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    /// Deletes the endpoint with its deliveries; false when there was none.
    fn delete_webhook(&mut self, tenant: &TenantId, id: &WebhookId) -> Result<bool, StoreError>;
    /// Claims up to `limit` deliveries due at `now`, each the earliest pending delivery of an
    /// enabled endpoint (so an endpoint gets its events in order, one at a time): each counts
    /// an attempt and is not due again before `lease_until`. Deliveries another transaction is
    /// claiming meanwhile are skipped, not waited for.
    fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records attempt `attempt.number` of the delivery of `event` to `endpoint`, and sets the
    /// delivery's status (with `next_attempt_at` while pending). False, recording nothing, when
    /// the delivery is gone or another attempt was claimed since.
    fn record_attempt(
        &mut self,
        endpoint: &WebhookId,
        event: &EventId,
        attempt: &DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;
    /// Makes the endpoint's pending deliveries due at `now` (it was just enabled again).
    fn resume_deliveries(
        &mut self,
        endpoint: &WebhookId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Up to `page.fetch_limit()` of the endpoint's deliveries after the cursor, newest first,
    /// with their attempts.
    fn deliveries(
        &mut self,
        tenant: &TenantId,
        endpoint: &WebhookId,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The deliveries pending to enabled endpoints, across tenants.
    fn delivery_queue(&mut self) -> Result<DeliveryQueue, StoreError>;
    /// Forgets what receivers answered to deliveries of the customer's events (a receiver may
    /// have echoed the event back).
    fn forget_answers_about(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
    ) -> Result<(), StoreError>;
}

pub trait ReportRecords {
    /// The tenant's activity within `made` (from, until before), as of `now`: with `days`, one
    /// row per local day that had any, keyed by its index from `days.first`; without, one row
    /// for the whole range, keyed 0 (none when nothing happened).
    fn activity(
        &mut self,
        tenant: &TenantId,
        made: (DateTime<Utc>, DateTime<Utc>),
        days: Option<&LocalDays>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Activity)>, StoreError>;
    /// How many customers the tenant enrolled before `before`, erased ones included.
    fn customers_enrolled_before(
        &mut self,
        tenant: &TenantId,
        before: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// The points on all of the tenant's balances.
    fn points_outstanding(&mut self, tenant: &TenantId) -> Result<i64, StoreError>;
    /// The sum of the points of the tenant's entries made at or after `since`.
    fn net_points_since(
        &mut self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Up to `limit` customers ranked by `by` within `made`, highest first (then by id), only
    /// those with some of it.
    fn top_customers(
        &mut self,
        tenant: &TenantId,
        made: (DateTime<Utc>, DateTime<Utc>),
        by: TopBy,
        limit: i64,
    ) -> Result<Vec<TopCustomer>, StoreError>;
}

pub trait AuditRecords {
    fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Every entry of the tenant's trail about the record `subject_id`.
    fn audit_entries_about(
        &mut self,
        tenant: &TenantId,
        subject_id: &str,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Replaces an entry's field changes.
    fn replace_audit_changes(
        &mut self,
        tenant: &TenantId,
        entry: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Up to `page.fetch_limit()` of the tenant's audit entries after the cursor, newest first,
    /// only those `actor` made when given.
    fn audit_entries(
        &mut self,
        tenant: &TenantId,
        actor: Option<&str>,
        page: &PageRequest,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Everything a use case may touch inside one transaction.
pub trait UnitOfWork:
    TenantRecords
    + KeyRecords
    + ProgramRecords
    + CustomerRecords
    + LedgerRecords
    + IdempotencyRecords
    + RewardRecords
    + VoucherRecords
    + LotRecords
    + EventRecords
    + WebhookRecords
    + ReportRecords
    + AuditRecords
{
}

impl<T> UnitOfWork for T where
    T: TenantRecords
        + KeyRecords
        + ProgramRecords
        + CustomerRecords
        + LedgerRecords
        + IdempotencyRecords
        + RewardRecords
        + VoucherRecords
        + LotRecords
        + EventRecords
        + WebhookRecords
        + ReportRecords
        + AuditRecords
{
}

/// Port: runs work atomically. On `Err` nothing the work wrote remains.
pub trait LoyaltyStore: Send + Sync {
    /// A unit of work that writes.
    fn transaction(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError>;

    /// A unit of work that only reads: it sees one snapshot of the data and may run beside
    /// writers.
    fn read(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError>;

    /// A read that makes exactly one call to the unit of work, that is one statement. A statement
    /// sees one snapshot by itself, so the adapter may run it without a transaction around it,
    /// saving the round trips of beginning and ending one. The adapter's own limits on
    /// transactions do not apply to it: use it for look-ups by key.
    fn read_one(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError>,
    ) -> Result<(), LoyaltyError> {
        self.read(work)
    }
}

/// The work a store method runs: it reports through the unit of work and returns nothing.
type Work<'w> = dyn FnMut(&mut dyn UnitOfWork) -> Result<(), LoyaltyError> + 'w;

/// Runs `work` through `run` (one of the store's methods) and returns what it produced.
fn producing<T>(
    run: impl FnOnce(&mut Work<'_>) -> Result<(), LoyaltyError>,
    mut work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
) -> Result<T, LoyaltyError> {
    let mut produced = None;
    run(&mut |uow| {
        produced = Some(work(uow)?);
        Ok(())
    })?;
    produced.ok_or(LoyaltyError::TransactionProducedNothing)
}

/// Runs `work`, one look-up, as [`LoyaltyStore::read_one`] and returns what it produced.
pub fn reading_one<T>(
    store: &dyn LoyaltyStore,
    work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
) -> Result<T, LoyaltyError> {
    producing(|work| store.read_one(work), work)
}

/// Runs read-only `work` in one transaction and returns what it produced.
pub fn reading<T>(
    store: &dyn LoyaltyStore,
    work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
) -> Result<T, LoyaltyError> {
    producing(|work| store.read(work), work)
}

/// Runs `work` in one transaction and returns what it produced.
pub fn within<T>(
    store: &dyn LoyaltyStore,
    work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
) -> Result<T, LoyaltyError> {
    producing(|work| store.transaction(work), work)
}

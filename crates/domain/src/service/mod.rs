//! The use cases, each one transaction on the store port, each one checking the caller's role
//! first. HTTP handlers and CLI commands call these and nothing below them.
//!
//! [`Loyalty`] is one service; each file below adds the use cases of one resource as an `impl`
//! block of it. Every change to a balance goes through [`posting::post_to_account`].

mod access;
mod activity;
mod audit;
mod card;
mod customers;
mod delivery;
mod exports;
mod feed;
mod idempotency;
mod import;
mod outbox;
mod posting;
mod privacy;
mod program;
mod reports;
mod rewards;
mod sweep;
mod tenants;
mod vouchers;
mod webhooks;

pub use activity::Posted;
pub use card::CardView;
pub use customers::CustomerChanges;
pub use exports::DayRange;
pub use import::{ImportStage, Imported, OpenFile, Progress};
pub use privacy::CustomerRecord;
pub use reports::{Daily, Summary};
pub use sweep::{SweepFailure, SweepReport, SweptItem};
pub use vouchers::{Cancelled, Redeemed};
pub use webhooks::WebhookSettings;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::auth::Principal;
use crate::cache::Caches;
use crate::customer::Customer;
use crate::earning::{EarningRule, default_rules};
use crate::error::Resource;
use crate::events::EventRenderer;
use crate::ids::CustomerId;
use crate::ledger::Provenance;
use crate::page::{Keyed, Page, PageRequest};
use crate::program::Program;
use crate::store::{LoyaltyStore, UnitOfWork, reading, reading_one};
use crate::tenant::{Tenant, TenantId};
use crate::{Clock, LoyaltyError};
use outbox::Outbox;

/// How long an idempotency key answers retries unless the service is told otherwise: longer
/// than any client retries for, even a till that was offline overnight.
const DEFAULT_IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(48);
/// How long events stay in the feed unless the service is told otherwise.
const DEFAULT_EVENTS_RETENTION: TimeDelta = TimeDelta::days(30);

/// Who asked, for the ledger: the key, and the request id the logs carry.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    pub request_id: Option<String>,
}

impl Caller<'_> {
    /// The caller as the ledger records it, for a change made at `at`.
    fn provenance(&self, at: DateTime<Utc>) -> Provenance {
        Provenance {
            actor_key_id: self.principal.key_id.clone(),
            request_id: self.request_id.clone(),
            at,
        }
    }
}

/// The loyalty service: the store, the clock, how events are rendered, the earning rules and
/// the process's caches.
#[derive(Clone)]
pub struct Loyalty {
    store: Arc<dyn LoyaltyStore>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventRenderer>,
    rules: Vec<Arc<dyn EarningRule>>,
    caches: Arc<Caches>,
    /// When this process last recorded each key's use.
    key_uses: Arc<access::KeyUses>,
    /// How long an idempotency key's record answers retries; the sweep deletes older ones.
    idempotency_ttl: TimeDelta,
    /// How long events stay in the feed; the sweep deletes older ones.
    events_retention: TimeDelta,
    /// Where webhooks may point and how their deliveries retry.
    webhooks: WebhookSettings,
}

impl std::fmt::Debug for Loyalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loyalty")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Loyalty {
    /// The service without caches: every read goes to the store. `events` renders the data of
    /// the events every change writes.
    pub fn new(
        store: Arc<dyn LoyaltyStore>,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventRenderer>,
    ) -> Self {
        Self {
            store,
            clock,
            events,
            rules: default_rules(),
            caches: Arc::new(Caches::disabled()),
            key_uses: Arc::default(),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            events_retention: DEFAULT_EVENTS_RETENTION,
            webhooks: WebhookSettings::default(),
        }
    }

    /// Checks webhook URLs and retries their deliveries as `settings` say (`https` to public
    /// hosts only, with no resolver, unless set).
    pub fn with_webhooks(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = settings;
        self
    }

    /// Keeps events in the feed for `retention` (30 days unless set).
    pub fn with_events_retention(mut self, retention: std::time::Duration) -> Self {
        self.events_retention = TimeDelta::from_std(retention).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Keeps idempotency records for `ttl` (48 hours unless set).
    pub fn with_idempotency_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.idempotency_ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Reads keys and public tenants through `caches`, and drops from them what this service
    /// changes.
    pub fn with_caches(mut self, caches: Caches) -> Self {
        self.caches = Arc::new(caches);
        self
    }

    /// Adds an earning rule (a promotion) after the default ones.
    pub fn with_rule(mut self, rule: Arc<dyn EarningRule>) -> Self {
        self.rules.push(rule);
        self
    }

    /// The caches this service reads through, for adapters that read through them too.
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Where this service's changes write their events.
    fn outbox(&self) -> Outbox<'_> {
        Outbox {
            renderer: self.events.as_ref(),
        }
    }

    /// One page of a list: `fetch` reads up to one more record than the page holds, so the page
    /// knows whether another follows.
    fn page<T: Keyed>(
        &self,
        page: &PageRequest,
        fetch: impl FnMut(&mut dyn UnitOfWork) -> Result<Vec<T>, LoyaltyError>,
    ) -> Result<Page<T>, LoyaltyError> {
        let fetched = reading(self.store.as_ref(), fetch)?;
        Ok(Page::from_fetched(fetched, page, T::sort_key))
    }

    /// The tenant's program for showing standings, from the cache when it holds it: a change
    /// saved through another replica shows within the caches' TTL. Changes to balances never use
    /// it; they read the program in their own transaction.
    fn program_for_display(&self, tenant: &TenantId) -> Result<Program, LoyaltyError> {
        if let Some(program) = self.caches.programs.get(tenant) {
            return Ok(program);
        }
        let program = reading_one(self.store.as_ref(), |uow| program_of(uow, tenant))?;
        self.caches.programs.insert(tenant.clone(), program.clone());
        Ok(program)
    }
}

/// The tenant's program; a tenant that never saved one runs on the default program.
fn program_of(uow: &mut dyn UnitOfWork, tenant: &TenantId) -> Result<Program, LoyaltyError> {
    Ok(uow.program(tenant)?.unwrap_or_default())
}

fn tenant_of(uow: &mut dyn UnitOfWork, tenant: &TenantId) -> Result<Tenant, LoyaltyError> {
    uow.tenant(tenant)?
        .ok_or(LoyaltyError::NotFound(Resource::Tenant))
}

/// The customer, unless they were erased: a client can no longer read or change an erased
/// customer (the service itself still closes their vouchers and expires their points).
fn live(customer: Customer) -> Result<Customer, LoyaltyError> {
    match customer.erased_at {
        Some(_) => Err(LoyaltyError::CustomerErased),
        None => Ok(customer),
    }
}

/// [`lock_customer`], for a change a client asked for: an erased customer is refused.
fn lock_live_customer(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    id: &CustomerId,
) -> Result<Customer, LoyaltyError> {
    live(lock_customer(uow, tenant, id)?)
}

/// Reads the customer and holds it against concurrent writers until the transaction ends.
fn lock_customer(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    id: &CustomerId,
) -> Result<Customer, LoyaltyError> {
    uow.customer_for_update(tenant, id)?
        .ok_or(LoyaltyError::NotFound(Resource::Customer))
}

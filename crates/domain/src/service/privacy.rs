//! A customer's rights over their data: erasure, and a copy of everything held about them.

use chrono::{DateTime, TimeDelta, Utc};

use super::posting::customer_as_of;
use super::vouchers::as_of;
use super::{Loyalty, live, lock_customer, program_of};
use crate::LoyaltyError;
use crate::audit::{AuditAction, AuditEntry, changes, scrub_personal};
use crate::auth::{Principal, Role};
use crate::customer::Customer;
use crate::error::Resource;
use crate::events::EventType;
use crate::ids::CustomerId;
use crate::ledger::LedgerEntry;
use crate::lots::Lot;
use crate::page::{MAX_LIMIT, Page, PageRequest};
use crate::secrets::url_token;
use crate::store::{VoucherFilter, reading, within};
use crate::tenant::TenantId;
use crate::voucher::Voucher;

/// How much of the stored answers one redaction statement goes through.
const REDACTION_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The events whose data is the customer's account, personal data included.
const EVENTS_WITH_PERSONAL_DATA: [EventType; 3] = [
    EventType::CustomerCreated,
    EventType::CustomerUpdated,
    EventType::TierChanged,
];

/// Everything held about one customer, for a subject access request.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    pub customer: Customer,
    /// Every ledger entry, newest first.
    pub entries: Vec<LedgerEntry>,
    /// Every voucher, newest first, as a tenant admin sees it.
    pub vouchers: Vec<Voucher>,
    /// The lots that still hold points.
    pub lots: Vec<Lot>,
}

impl Loyalty {
    /// Erases the customer (tenant admin): their name, phone, email, external id and card token,
    /// also where stored answers to earlier requests, the feed's events and webhook receivers'
    /// answers hold them. Their account, ledger and vouchers stay, so the tenant's totals still
    /// add up; a `customer.erased` event tells integrations to forget them too. Erasing an erased
    /// customer goes over the copies again and changes nothing else.
    pub fn erase_customer(&self, caller: &Principal, id: &CustomerId) -> Result<(), LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let card_token = url_token::<16>().map_err(LoyaltyError::Randomness)?;
        let now = self.now();
        let enrolled_at = within(self.store.as_ref(), |uow| {
            let mut customer = lock_customer(uow, tenant, id)?;
            if customer.erased_at.is_none() {
                let before = customer.clone();
                customer.erase(card_token.clone(), now);
                uow.update_customer(&customer)?;
                // The trail keeps what changed about the person, not even masked fragments.
                for mut earlier in uow.audit_entries_about(tenant, customer.id.as_str())? {
                    scrub_personal(&mut earlier.changes);
                    uow.replace_audit_changes(tenant, &earlier)?;
                }
                let mut erased = changes(Some(&before), Some(&customer));
                scrub_personal(&mut erased);
                let entry = AuditEntry::new(
                    tenant,
                    caller,
                    AuditAction::CustomerErased,
                    customer.id.as_str(),
                    erased,
                    now,
                );
                uow.append_audit(&entry)?;
                uow.replace_search_terms(tenant, &customer.id, &[])?;
                self.outbox()
                    .customer(uow, EventType::CustomerErased, &customer, now)?;
            }
            // The feed's events keep what the account was at each change, not who it was.
            for event in uow.customer_events(tenant, &customer.id, &EVENTS_WITH_PERSONAL_DATA)? {
                let data = self
                    .events
                    .without_personal_data(&event.data)
                    .map_err(LoyaltyError::Render)?;
                uow.replace_event_data(&event.id, &data)?;
            }
            uow.forget_answers_about(tenant, &customer.id)?;
            Ok(customer.created_at)
        })?;
        self.redact_stored_answers(tenant, id, enrolled_at, now)
    }

    /// Replaces every stored answer that names the customer (an enrolment's holds all their
    /// data; a change's, their account): those since `enrolled_at`, as none can be older. Runs
    /// after the erasure committed, when no change of the customer can store a new one: first
    /// the records older than the idempotency TTL (the sweep normally deleted them already), then
    /// an hour of records per short transaction, so no statement scans every record of a busy
    /// tenant at once.
    fn redact_stored_answers(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        enrolled_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), LoyaltyError> {
        let erased = serde_json::json!({"customer_id": id, "erased": true}).to_string();
        let recent = (now - self.idempotency_ttl).max(enrolled_at);
        let mut windows = vec![(enrolled_at, recent)];
        let mut from = recent;
        while from <= now {
            windows.push((from, from + REDACTION_WINDOW));
            from += REDACTION_WINDOW;
        }
        for window in windows {
            within(self.store.as_ref(), |uow| {
                Ok(uow.redact_responses_naming(tenant, id.as_str(), &erased, window)?)
            })?;
        }
        Ok(())
    }

    /// Everything held about the customer (tenant admin), in one snapshot.
    pub fn customer_record(
        &self,
        caller: &Principal,
        id: &CustomerId,
    ) -> Result<CustomerRecord, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let customer = uow
                .customer(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Customer))
                .and_then(live)?;
            let program = program_of(uow, tenant)?;
            let customer = customer_as_of(uow, customer, now)?.standing_under(&program);
            let entries = all_pages(|page| Ok(uow.entries(tenant, id, page)?), |e| e.id.as_str())?;
            let filter = VoucherFilter {
                status: None,
                customer_id: Some(id.clone()),
            };
            let vouchers = all_pages(
                |page| Ok(uow.vouchers(tenant, &filter, now, page)?),
                |v| v.id.as_str(),
            )?
            .into_iter()
            .map(|voucher| as_of(voucher, now).as_seen_by(Role::TenantAdmin))
            .collect();
            let lots = uow.open_lots(tenant, id)?;
            Ok(CustomerRecord {
                customer,
                entries,
                vouchers,
                lots,
            })
        })
    }
}

/// Every item of a list, read page by page (each page is one bounded query).
fn all_pages<T>(
    mut fetch: impl FnMut(&PageRequest) -> Result<Vec<T>, LoyaltyError>,
    key: impl Fn(&T) -> &str,
) -> Result<Vec<T>, LoyaltyError> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(MAX_LIMIT);
    loop {
        let fetched = Page::from_fetched(fetch(&page)?, &page, &key);
        let more = fetched.next_cursor.is_some();
        page.after = fetched.items.last().map(|item| key(item).to_owned());
        all.extend(fetched.items);
        if !more {
            return Ok(all);
        }
    }
}

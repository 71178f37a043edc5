//! The use cases, each one transaction on the store port, each one checking the caller's role
//! first. HTTP handlers and CLI commands call these and nothing below them.

mod lots;
mod rewards;

pub use rewards::{Cancelled, Redeemed, SweepReport};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::activity::{Purchase, plan_adjustment, plan_purchase, plan_reversal, plan_visit};
use crate::auth::{
    ApiKey, AuthError, IssueKeyError, IssuedKey, Principal, Role, issue_key, key_accepts, split_key,
};
use crate::customer::{
    Account, CleanDetails, Customer, CustomerDetails, CustomerLookup, normalize_email,
    normalize_phone,
};
use crate::earning::{EarningRule, default_rules};
use crate::error::Resource;
use crate::idempotency::{Idempotent, Outcome, StoredResponse};
use crate::ledger::{EntryKind, LedgerEntry, Posting, Provenance, post};
use crate::page::{Page, PageRequest};
use crate::program::Program;
use crate::secrets::url_token;
use crate::store::{LoyaltyStore, UnitOfWork, reading, within};
use crate::tenant::{NewTenant, Tenant, TenantChanges, TenantId};
use crate::validation::{ValidationErrors, clean_text};
use crate::{Clock, LoyaltyError};

const MAX_LABEL_CHARS: usize = 100;

/// Decides a change's postings from the locked customer, reading what else it needs.
type Planner<'a> =
    dyn FnMut(&mut dyn UnitOfWork, &Customer) -> Result<Vec<Posting>, LoyaltyError> + 'a;

/// Who asked, for the ledger: the key, and the request id the logs carry.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    pub request_id: Option<String>,
}

/// A change to one customer's account and the entries that made it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub customer: Customer,
    pub entries: Vec<LedgerEntry>,
    /// The milestone reward's voucher, when the change completed a stamp card.
    pub voucher: Option<crate::redemption::Redemption>,
}

impl Posted {
    /// The entry of the request's own kind (the visit, the purchase, ...).
    pub fn primary(&self) -> Option<&LedgerEntry> {
        self.entries.first()
    }

    pub fn reached_milestone(&self) -> bool {
        self.entries.iter().any(|e| e.kind == EntryKind::Milestone)
    }
}

/// What a customer sees on their public card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub tenant_name: String,
    pub first_name: Option<String>,
    pub balance: i64,
    pub visits: i64,
    pub visits_to_next_milestone: i64,
    /// Issued vouchers not yet expired, soonest expiry first.
    pub vouchers: Vec<crate::redemption::Redemption>,
    /// Active, in-stock rewards the balance covers.
    pub affordable_rewards: Vec<crate::rewards::Reward>,
}

/// A customer's details as a client changes them: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
}

/// The loyalty service: the store, the clock and the earning rules.
#[derive(Clone)]
pub struct Loyalty {
    store: Arc<dyn LoyaltyStore>,
    clock: Arc<dyn Clock>,
    rules: Vec<Arc<dyn EarningRule>>,
}

impl std::fmt::Debug for Loyalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loyalty")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

fn issue_error(error: IssueKeyError) -> LoyaltyError {
    match error {
        IssueKeyError::RoleTenantMismatch => {
            ValidationErrors::single("role", "tenant keys are tenant_admin or staff").into()
        }
        IssueKeyError::Randomness(source) => LoyaltyError::Randomness(source),
    }
}

fn clean_label(label: Option<&str>) -> Result<Option<String>, LoyaltyError> {
    label
        .map(|l| {
            clean_text(l, MAX_LABEL_CHARS).map_err(|m| ValidationErrors::single("label", m).into())
        })
        .transpose()
}

fn program_of(uow: &mut dyn UnitOfWork, tenant: &TenantId) -> Result<Program, LoyaltyError> {
    Ok(uow.program(tenant)?.unwrap_or_default())
}

fn tenant_of(uow: &mut dyn UnitOfWork, tenant: &TenantId) -> Result<Tenant, LoyaltyError> {
    uow.tenant(tenant)?
        .ok_or(LoyaltyError::NotFound(Resource::Tenant))
}

/// Revokes `key` if it exists and is live; revoking a revoked key changes nothing.
fn revoke(
    uow: &mut dyn UnitOfWork,
    key: Option<ApiKey>,
    now: DateTime<Utc>,
) -> Result<ApiKey, LoyaltyError> {
    let mut key = key.ok_or(LoyaltyError::NotFound(Resource::ApiKey))?;
    if key.revoked_at.is_none() {
        uow.revoke_key(key.tenant_id.as_ref(), &key.id, now)?;
        key.revoked_at = Some(now);
    }
    Ok(key)
}

/// Refuses details that another customer of the tenant already has.
fn ensure_unique(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    details: &CleanDetails,
    except: Option<&str>,
) -> Result<(), LoyaltyError> {
    for (field, lookup) in details.unique_keys() {
        if let Some(existing) = uow.find_customer(tenant, &lookup)?
            && Some(existing.id.as_str()) != except
        {
            return Err(LoyaltyError::CustomerExists {
                field,
                existing_id: existing.id,
            });
        }
    }
    Ok(())
}

/// Refuses a domain or subdomain that another tenant already uses.
fn ensure_hosts_free(uow: &mut dyn UnitOfWork, tenant: &Tenant) -> Result<(), LoyaltyError> {
    if let Some(domain) = &tenant.primary_domain
        && uow
            .tenant_with_domain(domain)?
            .is_some_and(|owner| owner != tenant.id)
    {
        return Err(LoyaltyError::DomainTaken {
            field: "primary_domain",
        });
    }
    if let Some(subdomain) = &tenant.subdomain
        && uow
            .tenant_with_subdomain(subdomain)?
            .is_some_and(|owner| owner != tenant.id)
    {
        return Err(LoyaltyError::DomainTaken { field: "subdomain" });
    }
    Ok(())
}

impl Loyalty {
    pub fn new(store: Arc<dyn LoyaltyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            rules: default_rules(),
        }
    }

    /// Adds an earning rule (a promotion) after the default ones.
    pub fn with_rule(mut self, rule: Arc<dyn EarningRule>) -> Self {
        self.rules.push(rule);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn page<T>(
        &self,
        page: &PageRequest,
        key: impl Fn(&T) -> &str,
        fetch: impl FnMut(&mut dyn UnitOfWork) -> Result<Vec<T>, LoyaltyError>,
    ) -> Result<Page<T>, LoyaltyError> {
        let fetched = reading(self.store.as_ref(), fetch)?;
        Ok(Page::from_fetched(fetched, page, key))
    }

    // --- Access -------------------------------------------------------------------------------

    /// The caller behind a presented API key; any failure is the same `Unauthenticated`.
    pub fn authenticate(&self, presented: &str) -> Result<Principal, LoyaltyError> {
        let (prefix, secret) = split_key(presented).ok_or(AuthError::Unauthenticated)?;
        let key = reading(self.store.as_ref(), |uow| Ok(uow.key_by_prefix(prefix)?))?;
        match key {
            Some(key) if key_accepts(&key, secret) => Ok(Principal::from_key(&key)),
            _ => Err(AuthError::Unauthenticated.into()),
        }
    }

    /// A platform admin key, for bootstrapping from the operator's command line.
    pub fn issue_platform_key(
        &self,
        caller: &Principal,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        let label = clean_label(label)?;
        let issued =
            issue_key(None, Role::PlatformAdmin, label, self.now()).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| Ok(uow.insert_key(&issued.key)?))?;
        Ok(issued)
    }

    /// A key for `tenant`, issued by the platform admin.
    pub fn issue_tenant_key(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        role: Role,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        caller.require_platform_admin()?;
        self.issue_key_for(tenant, role, label)
    }

    /// A key for the caller's own tenant, issued by its tenant admin.
    pub fn issue_key(
        &self,
        caller: &Principal,
        role: Role,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?.clone();
        self.issue_key_for(&tenant, role, label)
    }

    fn issue_key_for(
        &self,
        tenant: &TenantId,
        role: Role,
        label: Option<&str>,
    ) -> Result<IssuedKey, LoyaltyError> {
        let label = clean_label(label)?;
        let issued =
            issue_key(Some(tenant.clone()), role, label, self.now()).map_err(issue_error)?;
        within(self.store.as_ref(), |uow| {
            tenant_of(uow, tenant)?;
            Ok(uow.insert_key(&issued.key)?)
        })?;
        Ok(issued)
    }

    pub fn keys(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.page(page, |k: &ApiKey| &k.id, |uow| Ok(uow.keys(tenant, page)?))
    }

    /// Revokes one of the caller's tenant's keys; revoking twice is not an error.
    pub fn revoke_key(&self, caller: &Principal, key_id: &str) -> Result<ApiKey, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let key = uow.key(tenant, key_id)?;
            revoke(uow, key, now)
        })
    }

    /// Revokes any key by its prefix, for the operator's command line.
    pub fn revoke_key_by_prefix(
        &self,
        caller: &Principal,
        prefix: &str,
    ) -> Result<ApiKey, LoyaltyError> {
        caller.require_platform_admin()?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let key = uow.key_by_prefix(prefix)?;
            revoke(uow, key, now)
        })
    }

    // --- Tenants (platform admin) -------------------------------------------------------------

    pub fn create_tenant(
        &self,
        caller: &Principal,
        new: NewTenant,
    ) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        let tenant = new.validate(self.now())?;
        within(self.store.as_ref(), |uow| {
            if uow.tenant(&tenant.id)?.is_some() {
                return Err(LoyaltyError::TenantExists);
            }
            ensure_hosts_free(uow, &tenant)?;
            uow.insert_tenant(&tenant)?;
            Ok(tenant.clone())
        })
    }

    pub fn tenants(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Tenant>, LoyaltyError> {
        caller.require_platform_admin()?;
        self.page(
            page,
            |t: &Tenant| t.id.as_str(),
            |uow| Ok(uow.tenants(page)?),
        )
    }

    pub fn tenant(&self, caller: &Principal, id: &TenantId) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        reading(self.store.as_ref(), |uow| tenant_of(uow, id))
    }

    pub fn update_tenant(
        &self,
        caller: &Principal,
        id: &TenantId,
        changes: TenantChanges,
    ) -> Result<Tenant, LoyaltyError> {
        caller.require_platform_admin()?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let tenant = changes.clone().apply(tenant_of(uow, id)?, now)?;
            ensure_hosts_free(uow, &tenant)?;
            uow.update_tenant(&tenant)?;
            Ok(tenant)
        })
    }

    // --- Program ------------------------------------------------------------------------------

    pub fn program(&self, caller: &Principal) -> Result<Program, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        reading(self.store.as_ref(), |uow| program_of(uow, tenant))
    }

    pub fn replace_program(
        &self,
        caller: &Principal,
        program: Program,
    ) -> Result<Program, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let program = program.validate()?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            if let Some(reward_id) = &program.milestone_reward_id
                && uow.reward(tenant, reward_id)?.is_none()
            {
                return Err(ValidationErrors::single(
                    "milestone_reward_id",
                    "names no reward of this tenant",
                )
                .into());
            }
            uow.save_program(tenant, &program, now)?;
            Ok(program.clone())
        })
    }

    // --- Customers ----------------------------------------------------------------------------

    /// Enrols a customer. With an idempotency key, a retried enrolment gets the first response
    /// instead of a conflict with itself.
    pub fn enrol(
        &self,
        caller: &Principal,
        details: CustomerDetails,
        idempotent: Option<Idempotent<'_, Customer>>,
    ) -> Result<Outcome<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let card_token = url_token::<16>().map_err(LoyaltyError::Randomness)?;
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let country = tenant_of(uow, tenant)?.country;
            let clean = details.clean(country)?;
            let program = program_of(uow, tenant)?;
            if !clean.has_identifier() {
                return Err(ValidationErrors::single(
                    "phone",
                    "at least one of phone, email or external_id is required",
                )
                .into());
            }
            ensure_unique(uow, tenant, &clean, None)?;
            let customer = Customer {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: tenant.clone(),
                name: clean.name,
                phone: clean.phone,
                email: clean.email,
                external_id: clean.external_id,
                card_token: card_token.clone(),
                account: Account::default(),
                tier: program.standing(0),
                created_at: now,
                updated_at: now,
            };
            uow.insert_customer(&customer)?;
            Ok(customer)
        })
    }

    pub fn customers(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        self.page(
            page,
            |c: &Customer| &c.id,
            |uow| {
                let program = program_of(uow, tenant)?;
                let customers = uow.customers(tenant, page)?;
                Ok(customers
                    .into_iter()
                    .map(|c| c.standing_under(&program))
                    .collect())
            },
        )
    }

    /// Exact lookup by phone (read in the tenant's country), email or external id.
    pub fn find_customer(
        &self,
        caller: &Principal,
        lookup: CustomerLookup,
    ) -> Result<Option<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        reading(self.store.as_ref(), |uow| {
            let normalized = match &lookup {
                CustomerLookup::Phone(raw) => {
                    let country = tenant_of(uow, tenant)?.country;
                    match normalize_phone(raw, country) {
                        Ok(phone) => CustomerLookup::Phone(phone),
                        Err(_) => return Ok(None),
                    }
                }
                CustomerLookup::Email(raw) => match normalize_email(raw) {
                    Ok(email) => CustomerLookup::Email(email),
                    Err(_) => return Ok(None),
                },
                CustomerLookup::ExternalId(raw) => {
                    CustomerLookup::ExternalId(raw.trim().to_owned())
                }
            };
            let program = program_of(uow, tenant)?;
            Ok(uow
                .find_customer(tenant, &normalized)?
                .map(|c| c.standing_under(&program)))
        })
    }

    pub fn customer(&self, caller: &Principal, id: &str) -> Result<Customer, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        reading(self.store.as_ref(), |uow| {
            let customer = uow
                .customer(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
            Ok(customer.standing_under(&program_of(uow, tenant)?))
        })
    }

    pub fn update_customer(
        &self,
        caller: &Principal,
        id: &str,
        changes: CustomerChanges,
    ) -> Result<Customer, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let mut customer = uow
                .customer_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
            let pick = |change: &Option<Option<String>>, current: &Option<String>| match change {
                Some(value) => value.clone(),
                None => current.clone(),
            };
            let details = CustomerDetails {
                name: pick(&changes.name, &customer.name),
                phone: pick(&changes.phone, &customer.phone),
                email: pick(&changes.email, &customer.email),
                external_id: pick(&changes.external_id, &customer.external_id),
            };
            let country = tenant_of(uow, tenant)?.country;
            let clean = details.clean(country)?;
            if !clean.has_identifier() {
                return Err(ValidationErrors::single(
                    "phone",
                    "at least one of phone, email or external_id must remain",
                )
                .into());
            }
            ensure_unique(uow, tenant, &clean, Some(&customer.id))?;
            customer.name = clean.name;
            customer.phone = clean.phone;
            customer.email = clean.email;
            customer.external_id = clean.external_id;
            customer.updated_at = now;
            uow.update_customer(&customer)?;
            Ok(customer.standing_under(&program_of(uow, tenant)?))
        })
    }

    // --- Activity (idempotent) ----------------------------------------------------------------

    /// Runs `work` in one transaction with the idempotency check and record around it.
    fn idempotently<T>(
        &self,
        tenant: &TenantId,
        idempotent: Option<Idempotent<'_, T>>,
        mut work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
    ) -> Result<Outcome<T>, LoyaltyError> {
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let Some(request) = &idempotent else {
                return Ok(Outcome::Fresh(work(uow)?, None));
            };
            if let Some(stored) = uow.idempotency(tenant, &request.key)? {
                return if stored.fingerprint == request.fingerprint {
                    Ok(Outcome::Replayed(stored))
                } else {
                    Err(LoyaltyError::IdempotencyKeyReused)
                };
            }
            // Claimed first: a twin request waits here for this transaction, then replays its
            // response (its insert of the key fails once this commits, and it runs again).
            uow.claim_idempotency(tenant, &request.key, &request.fingerprint, now)?;
            let value = work(uow)?;
            let (status, body) = (request.render)(&value);
            let stored = StoredResponse {
                fingerprint: request.fingerprint.clone(),
                status,
                body,
            };
            uow.record_response(tenant, &request.key, &stored)?;
            Ok(Outcome::Fresh(value, Some(stored)))
        })
    }

    /// Locks the customer, plans postings from the account, writes them, and reports the account
    /// with its standing under `program`.
    fn post_to(
        &self,
        uow: &mut dyn UnitOfWork,
        caller: &Caller<'_>,
        tenant: &TenantId,
        program: &Program,
        customer_id: &str,
        plan: &mut Planner<'_>,
    ) -> Result<Posted, LoyaltyError> {
        let mut customer = uow
            .customer_for_update(tenant, customer_id)?
            .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
        let postings = plan(uow, &customer)?;
        let provenance = Provenance {
            actor_key_id: caller.principal.key_id.clone(),
            request_id: caller.request_id.clone(),
            at: self.now(),
        };
        let entries = post(&mut customer, postings, &provenance)?;
        for entry in &entries {
            uow.append_entry(entry)?;
        }
        lots::book_entries(uow, tenant, &customer.id, program, &entries)?;
        uow.update_customer(&customer)?;
        Ok(Posted {
            customer: customer.standing_under(program),
            entries,
            voucher: None,
        })
    }

    pub fn record_visit(
        &self,
        caller: &Caller<'_>,
        customer_id: &str,
        occurred_at: Option<DateTime<Utc>>,
        note: Option<&str>,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let program = program_of(uow, tenant)?;
            let mut posted = self.post_to(
                uow,
                caller,
                tenant,
                &program,
                customer_id,
                &mut |_, customer| {
                    plan_visit(
                        &program,
                        &self.rules,
                        &customer.account,
                        occurred_at,
                        note,
                        now,
                    )
                },
            )?;
            let milestone = posted
                .entries
                .iter()
                .find(|e| e.kind == EntryKind::Milestone);
            if let (Some(milestone), Some(reward_id)) = (milestone, &program.milestone_reward_id) {
                posted.voucher = self.issue_milestone_voucher(
                    uow,
                    tenant,
                    reward_id,
                    &posted.customer.id,
                    milestone.visit_number,
                    now,
                )?;
            }
            Ok(posted)
        })
    }

    pub fn record_purchase(
        &self,
        caller: &Caller<'_>,
        customer_id: &str,
        purchase: Purchase<'_>,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        let now = self.now();
        self.idempotently(tenant, idempotent, |uow| {
            let program = program_of(uow, tenant)?;
            self.post_to(
                uow,
                caller,
                tenant,
                &program,
                customer_id,
                &mut |uow, customer| {
                    let tenant_currency = tenant_of(uow, tenant)?.currency;
                    plan_purchase(
                        &program,
                        &self.rules,
                        &customer.account,
                        &tenant_currency,
                        purchase,
                        now,
                    )
                },
            )
        })
    }

    pub fn adjust(
        &self,
        caller: &Caller<'_>,
        customer_id: &str,
        points: i64,
        reason: &str,
        allow_negative: bool,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::TenantAdmin)?;
        self.idempotently(tenant, idempotent, |uow| {
            let program = program_of(uow, tenant)?;
            self.post_to(
                uow,
                caller,
                tenant,
                &program,
                customer_id,
                &mut |_, customer| {
                    plan_adjustment(&customer.account, points, reason, allow_negative)
                },
            )
        })
    }

    /// Undoes a purchase's points once. The response's balance may be negative.
    pub fn reverse(
        &self,
        caller: &Caller<'_>,
        entry_id: &str,
        reason: &str,
        idempotent: Option<Idempotent<'_, Posted>>,
    ) -> Result<Outcome<Posted>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::Staff)?;
        self.idempotently(tenant, idempotent, |uow| {
            let original = uow
                .entry(tenant, entry_id)?
                .ok_or(LoyaltyError::NotFound(Resource::LedgerEntry))?;
            let program = program_of(uow, tenant)?;
            self.post_to(
                uow,
                caller,
                tenant,
                &program,
                &original.customer_id,
                &mut |uow, _| {
                    // Read after the customer is locked: a concurrent reversal has committed or waits.
                    let existing = uow.reversal_of(tenant, &original.id)?;
                    plan_reversal(&original, existing.as_ref(), reason)
                },
            )
        })
    }

    pub fn ledger(
        &self,
        caller: &Principal,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        self.page(
            page,
            |e: &LedgerEntry| &e.id,
            |uow| {
                uow.customer(tenant, customer_id)?
                    .ok_or(LoyaltyError::NotFound(Resource::Customer))?;
                Ok(uow.entries(tenant, customer_id, page)?)
            },
        )
    }

    // --- Public -------------------------------------------------------------------------------

    /// The customer's own view, by the unguessable token on their card.
    pub fn card(&self, card_token: &str) -> Result<CardView, LoyaltyError> {
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let customer = uow
                .customer_by_card(card_token)?
                .ok_or(LoyaltyError::NotFound(Resource::Card))?;
            let tenant = tenant_of(uow, &customer.tenant_id)?;
            let program = program_of(uow, &customer.tenant_id)?;
            let vouchers = uow.live_vouchers(&customer.tenant_id, &customer.id, now)?;
            let affordable = uow
                .rewards(
                    &customer.tenant_id,
                    Some(true),
                    &PageRequest::first(crate::page::MAX_LIMIT),
                )?
                .into_iter()
                .filter(|r| r.cost_points <= customer.account.balance && r.stock != Some(0))
                .collect();
            Ok(CardView {
                tenant_name: tenant.name,
                first_name: customer.first_name().map(str::to_owned),
                balance: customer.account.balance,
                visits: customer.account.visits,
                visits_to_next_milestone: program.visits_to_next_milestone(customer.account.visits),
                vouchers,
                affordable_rewards: affordable,
            })
        })
    }
}

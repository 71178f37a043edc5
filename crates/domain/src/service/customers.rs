//! Customers: enrolment, look-ups, lists and profile changes.

use super::posting::{customer_as_of, may_have_expired_points};
use super::{Loyalty, live, lock_live_customer, program_of, tenant_of};
use crate::LoyaltyError;
use crate::audit::{self, AuditAction, AuditEntry};
use crate::auth::{Principal, Role};
use crate::customer::{
    Account, CleanDetails, Customer, CustomerDetails, CustomerLookup, normalize_email,
    normalize_phone,
};
use crate::error::Resource;
use crate::events::EventType;
use crate::idempotency::{Idempotent, Outcome};
use crate::ids::CustomerId;
use crate::page::{Page, PageRequest};
use crate::search::{CustomerQuery, SearchCursor, SearchHit, search_terms};
use crate::secrets::url_token;
use crate::store::{UnitOfWork, reading, reading_one, within};
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, could_be_stored};

/// A customer's details as a client changes them: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
}

impl CustomerChanges {
    /// The customer's details with these changes made.
    fn applied_to(&self, customer: &Customer) -> CustomerDetails {
        let pick = |change: &Option<Option<String>>, current: &Option<String>| match change {
            Some(value) => value.clone(),
            None => current.clone(),
        };
        CustomerDetails {
            name: pick(&self.name, &customer.name),
            phone: pick(&self.phone, &customer.phone),
            email: pick(&self.email, &customer.email),
            external_id: pick(&self.external_id, &customer.external_id),
        }
    }
}

/// Refuses details that another customer of the tenant already has.
fn ensure_unique(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    details: &CleanDetails,
    except: Option<&CustomerId>,
) -> Result<(), LoyaltyError> {
    for (field, lookup) in details.unique_keys() {
        if let Some(existing) = uow.find_customer(tenant, &lookup)?
            && Some(&existing.id) != except
        {
            return Err(LoyaltyError::CustomerExists {
                field,
                existing_id: existing.id,
            });
        }
    }
    Ok(())
}

/// Refuses details that leave the customer with no way to be found at the counter.
fn ensure_identifiable(details: &CleanDetails, message: &str) -> Result<(), LoyaltyError> {
    if details.has_identifier() {
        Ok(())
    } else {
        Err(ValidationErrors::single("phone", message).into())
    }
}

impl Loyalty {
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
        self.idempotently(caller, tenant, idempotent, |uow| {
            let country = tenant_of(uow, tenant)?.country;
            let clean = details.clean(country)?;
            let program = program_of(uow, tenant)?;
            ensure_identifiable(
                &clean,
                "at least one of phone, email or external_id is required",
            )?;
            ensure_unique(uow, tenant, &clean, None)?;
            let customer = Customer {
                id: CustomerId::generate(),
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
                erased_at: None,
            };
            uow.insert_customer(&customer)?;
            uow.add_search_terms(tenant, &[(customer.id.clone(), search_terms(&customer))])?;
            self.outbox()
                .customer(uow, EventType::CustomerCreated, &customer, now)?;
            Ok(customer)
        })
    }

    pub fn customers(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let program = self.program_for_display(tenant)?;
        let now = self.now();
        self.page(page, |uow| {
            uow.customers(tenant, page)?
                .into_iter()
                .map(|c| Ok(customer_as_of(uow, c, now)?.standing_under(&program)))
                .collect()
        })
    }

    /// The tenant's customers matching a search, best first, each with the account a read shows
    /// now (staff).
    pub fn search_customers(
        &self,
        caller: &Principal,
        query: &CustomerQuery,
        page: &PageRequest,
        after: Option<&SearchCursor>,
    ) -> Result<Page<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let program = self.program_for_display(tenant)?;
        let now = self.now();
        let hits = self.page(page, |uow| {
            uow.search_customers(tenant, query, after, page.fetch_limit())?
                .into_iter()
                .map(|hit| {
                    let customer = customer_as_of(uow, hit.customer, now)?.standing_under(&program);
                    Ok(SearchHit::new(hit.quality, customer))
                })
                .collect()
        })?;
        Ok(hits.map(|hit| hit.customer))
    }

    /// Exact lookup by phone (read in the tenant's country), email or external id.
    pub fn find_customer(
        &self,
        caller: &Principal,
        lookup: CustomerLookup,
    ) -> Result<Option<Customer>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
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
                CustomerLookup::ExternalId(raw) if could_be_stored(raw) => {
                    CustomerLookup::ExternalId(raw.trim().to_owned())
                }
                CustomerLookup::ExternalId(_) => return Ok(None),
            };
            let program = program_of(uow, tenant)?;
            match uow.find_customer(tenant, &normalized)? {
                Some(customer) => Ok(Some(
                    customer_as_of(uow, customer, now)?.standing_under(&program),
                )),
                None => Ok(None),
            }
        })
    }

    pub fn customer(&self, caller: &Principal, id: &CustomerId) -> Result<Customer, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let program = self.program_for_display(tenant)?;
        let now = self.now();
        let customer = reading_one(self.store.as_ref(), |uow| Ok(uow.customer(tenant, id)?))?
            .ok_or(LoyaltyError::NotFound(Resource::Customer))
            .and_then(live)?;
        // One statement while nothing can have expired; the customer and the lots in one
        // snapshot when something may have.
        let customer = if may_have_expired_points(&customer, now) {
            reading(self.store.as_ref(), |uow| {
                let customer = uow
                    .customer(tenant, id)?
                    .ok_or(LoyaltyError::NotFound(Resource::Customer))
                    .and_then(live)?;
                customer_as_of(uow, customer, now)
            })?
        } else {
            customer
        };
        Ok(customer.standing_under(&program))
    }

    pub fn update_customer(
        &self,
        caller: &Principal,
        id: &CustomerId,
        changes: CustomerChanges,
    ) -> Result<Customer, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let mut customer = lock_live_customer(uow, tenant, id)?;
            let before = customer.clone();
            let country = tenant_of(uow, tenant)?.country;
            let clean = changes.applied_to(&customer).clean(country)?;
            ensure_identifiable(
                &clean,
                "at least one of phone, email or external_id must remain",
            )?;
            ensure_unique(uow, tenant, &clean, Some(&customer.id))?;
            customer.name = clean.name;
            customer.phone = clean.phone;
            customer.email = clean.email;
            customer.external_id = clean.external_id;
            customer.updated_at = now;
            uow.update_customer(&customer)?;
            uow.replace_search_terms(tenant, &customer.id, &search_terms(&customer))?;
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::CustomerUpdated,
                customer.id.as_str(),
                audit::changes(Some(&before), Some(&customer)),
                now,
            );
            uow.append_audit(&entry)?;
            let updated =
                customer_as_of(uow, customer, now)?.standing_under(&program_of(uow, tenant)?);
            self.outbox()
                .customer(uow, EventType::CustomerUpdated, &updated, now)?;
            Ok(updated)
        })
    }

    /// Gives the customer a new card token: the old one stops opening the card at once (a lost
    /// phone, a link shared too widely).
    pub fn rotate_card_token(
        &self,
        caller: &Principal,
        id: &CustomerId,
    ) -> Result<Customer, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        let card_token = url_token::<16>().map_err(LoyaltyError::Randomness)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let mut customer = lock_live_customer(uow, tenant, id)?;
            let before = customer.clone();
            customer.card_token.clone_from(&card_token);
            customer.updated_at = now;
            uow.update_customer(&customer)?;
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::CardTokenRotated,
                customer.id.as_str(),
                audit::changes(Some(&before), Some(&customer)),
                now,
            );
            uow.append_audit(&entry)?;
            let updated =
                customer_as_of(uow, customer, now)?.standing_under(&program_of(uow, tenant)?);
            self.outbox()
                .customer(uow, EventType::CustomerUpdated, &updated, now)?;
            Ok(updated)
        })
    }
}

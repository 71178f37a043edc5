//! Webhook endpoints: registered, changed and removed by the tenant admin.

use std::sync::Arc;

use super::Loyalty;
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::error::Resource;
use crate::ids::WebhookId;
use crate::page::{Page, PageRequest};
use crate::store::{UnitOfWork, reading, within};
use crate::tenant::TenantId;
use crate::validation::ValidationErrors;
use crate::webhooks::{
    Delivery, DestinationPolicy, HostResolver, NOT_PUBLIC, NewWebhook, NoResolver, RetryPolicy,
    SigningSecret, WebhookChanges, WebhookEndpoint, WebhookUrl,
};

/// Where endpoints may point, how their host names are looked up, and how deliveries retry.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub policy: DestinationPolicy,
    pub resolver: Arc<dyn HostResolver>,
    pub retry: RetryPolicy,
}

impl Default for WebhookSettings {
    /// The strictest: `https` to public addresses, and no resolver, so no host name passes
    /// until one is wired in.
    fn default() -> Self {
        Self {
            policy: DestinationPolicy::PublicHttps,
            resolver: Arc::new(NoResolver),
            retry: RetryPolicy::default(),
        }
    }
}

impl Loyalty {
    /// Registers an endpoint; the answer holds its signing secret, which is never shown again.
    pub fn create_webhook(
        &self,
        caller: &Principal,
        new: NewWebhook,
    ) -> Result<WebhookEndpoint, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let secret = SigningSecret::generate().map_err(LoyaltyError::Randomness)?;
        let endpoint = new.validate(tenant, self.webhooks.policy, secret, self.now())?;
        self.check_destination(&endpoint.url)?;
        within(self.store.as_ref(), |uow| {
            uow.insert_webhook(&endpoint)?;
            Ok(endpoint.clone())
        })
    }

    pub fn webhooks(
        &self,
        caller: &Principal,
        page: &PageRequest,
    ) -> Result<Page<WebhookEndpoint>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.page(page, |uow| Ok(uow.webhooks(tenant, page)?))
    }

    pub fn webhook(
        &self,
        caller: &Principal,
        id: &WebhookId,
    ) -> Result<WebhookEndpoint, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        reading(self.store.as_ref(), |uow| existing_webhook(uow, tenant, id))
    }

    /// Changes an endpoint. A new URL is checked as a new endpoint's is; new subscriptions apply
    /// to events placed from now on.
    pub fn update_webhook(
        &self,
        caller: &Principal,
        id: &WebhookId,
        changes: WebhookChanges,
    ) -> Result<WebhookEndpoint, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let policy = self.webhooks.policy;
        // The host is looked up before the transaction, so no lock waits on DNS.
        if let Some(Ok(url)) = changes.url.as_deref().map(|url| policy.check_url(url)) {
            self.check_destination(&url)?;
        }
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let before = uow
                .webhook_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Webhook))?;
            let was_enabled = before.enabled();
            let endpoint = changes.clone().apply(before, policy, now)?;
            uow.update_webhook(&endpoint)?;
            if endpoint.enabled() && !was_enabled {
                // What waited is tried now, not at the end of a backoff from before.
                uow.resume_deliveries(&endpoint.id, now)?;
            }
            Ok(endpoint)
        })
    }

    /// Removes an endpoint and its deliveries; an attempt in flight is not recorded.
    pub fn delete_webhook(&self, caller: &Principal, id: &WebhookId) -> Result<(), LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        within(self.store.as_ref(), |uow| {
            if uow.delete_webhook(tenant, id)? {
                Ok(())
            } else {
                Err(LoyaltyError::NotFound(Resource::Webhook))
            }
        })
    }

    /// Gives an endpoint a new secret, shown in the answer only; the old one keeps signing (a
    /// second signature) for a day, so receivers can switch without missing a delivery.
    pub fn rotate_webhook_secret(
        &self,
        caller: &Principal,
        id: &WebhookId,
    ) -> Result<WebhookEndpoint, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let mut endpoint = uow
                .webhook_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Webhook))?;
            endpoint
                .rotate_secret(now)
                .map_err(LoyaltyError::Randomness)?;
            uow.update_webhook(&endpoint)?;
            Ok(endpoint)
        })
    }

    /// The endpoint's deliveries, newest first, with every attempt.
    pub fn webhook_deliveries(
        &self,
        caller: &Principal,
        id: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.page(page, |uow| {
            existing_webhook(uow, tenant, id)?;
            Ok(uow.deliveries(tenant, id, page)?)
        })
    }

    /// Refuses a URL whose host resolves to an address the policy forbids (any one of them:
    /// a name with one public and one private address could be made to use either).
    fn check_destination(&self, url: &WebhookUrl) -> Result<(), LoyaltyError> {
        let policy = self.webhooks.policy;
        let Some(host) = url.domain() else {
            // An address written in the URL was checked with the URL.
            return Ok(());
        };
        if policy == DestinationPolicy::Anywhere {
            return Ok(());
        }
        let refused =
            |message: &str| LoyaltyError::Invalid(ValidationErrors::single("url", message));
        let addresses = self
            .webhooks
            .resolver
            .resolve(host, url.port())
            .map_err(|_| refused("names a host that cannot be resolved"))?;
        if addresses.is_empty() || addresses.iter().any(|address| !policy.allows(*address)) {
            return Err(refused(NOT_PUBLIC));
        }
        Ok(())
    }
}

fn existing_webhook(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    id: &WebhookId,
) -> Result<WebhookEndpoint, LoyaltyError> {
    uow.webhook(tenant, id)?
        .ok_or(LoyaltyError::NotFound(Resource::Webhook))
}

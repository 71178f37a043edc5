//! Reading the audit trail (tenant admin).

use super::Loyalty;
use crate::LoyaltyError;
use crate::audit::AuditEntry;
use crate::auth::{Principal, Role};
use crate::page::{Page, PageRequest};
use crate::validation::could_be_stored;

impl Loyalty {
    /// A page of the tenant's audit trail, newest first; only the changes of the key
    /// `actor_key_id` when given.
    pub fn audit_trail(
        &self,
        caller: &Principal,
        actor_key_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        // No key id holds a control character; the store could not even compare one.
        if actor_key_id.is_some_and(|actor| !could_be_stored(actor)) {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        self.page(page, |uow| {
            Ok(uow.audit_entries(tenant, actor_key_id, page)?)
        })
    }
}

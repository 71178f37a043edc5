//! The tenant's program: read by staff, replaced by the tenant admin.

use super::{Loyalty, program_of};
use crate::LoyaltyError;
use crate::audit::{AuditAction, AuditEntry, changes};
use crate::auth::{Principal, Role};
use crate::program::{NO_SUCH_REWARD, Program};
use crate::store::{reading, within};
use crate::validation::ValidationErrors;

impl Loyalty {
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
                return Err(ValidationErrors::single("milestone_reward_id", NO_SUCH_REWARD).into());
            }
            // The tenant held first, so concurrent replaces each diff against the one before.
            uow.tenant_for_update(tenant)?;
            let before = program_of(uow, tenant)?;
            uow.save_program(tenant, &program, now)?;
            let changes = changes(Some(&before), Some(&program));
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::ProgramReplaced,
                tenant.as_str(),
                changes,
                now,
            );
            uow.append_audit(&entry)?;
            Ok(program.clone())
        })
        .inspect(|_| self.caches.programs.remove(tenant))
    }
}

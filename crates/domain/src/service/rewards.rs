//! The rewards catalog: written by the tenant admin, read by staff.

use super::Loyalty;
use crate::LoyaltyError;
use crate::audit::{self, AuditAction, AuditEntry, changes};
use crate::auth::{Principal, Role};
use crate::error::Resource;
use crate::ids::RewardId;
use crate::page::{Page, PageRequest};
use crate::rewards::{NewReward, Reward, RewardChanges};
use crate::store::{reading, within};

impl Loyalty {
    pub fn create_reward(
        &self,
        caller: &Principal,
        new: NewReward,
    ) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        let reward = new.validate(tenant, now)?;
        within(self.store.as_ref(), |uow| {
            uow.insert_reward(&reward)?;
            let changes = changes(None, Some(&reward));
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::RewardCreated,
                reward.id.as_str(),
                changes,
                now,
            );
            uow.append_audit(&entry)?;
            Ok(reward.clone())
        })
    }

    pub fn rewards(
        &self,
        caller: &Principal,
        active: Option<bool>,
        page: &PageRequest,
    ) -> Result<Page<Reward>, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        self.page(page, |uow| Ok(uow.rewards(tenant, active, page)?))
    }

    pub fn reward(&self, caller: &Principal, id: &RewardId) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::Staff)?;
        reading(self.store.as_ref(), |uow| {
            uow.reward(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))
        })
    }

    /// Changes a reward; deactivating stops new redemptions, not vouchers already issued.
    pub fn update_reward(
        &self,
        caller: &Principal,
        id: &RewardId,
        changes: RewardChanges,
    ) -> Result<Reward, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        let now = self.now();
        within(self.store.as_ref(), |uow| {
            let reward = uow
                .reward_for_update(tenant, id)?
                .ok_or(LoyaltyError::NotFound(Resource::Reward))?;
            let before = reward.clone();
            let reward = changes.clone().apply(reward, now)?;
            uow.update_reward(&reward)?;
            let changed = audit::changes(Some(&before), Some(&reward));
            let entry = AuditEntry::new(
                tenant,
                caller,
                AuditAction::RewardUpdated,
                reward.id.as_str(),
                changed,
                now,
            );
            uow.append_audit(&entry)?;
            Ok(reward)
        })
    }
}

//! The customer's public card, read by the unguessable token printed on it.

use super::posting::customer_as_of;
use super::{Loyalty, program_of, tenant_of};
use crate::LoyaltyError;
use crate::error::Resource;
use crate::page::{MAX_LIMIT, PageRequest};
use crate::rewards::Reward;
use crate::store::reading;
use crate::validation::could_be_stored;
use crate::voucher::Voucher;

/// Live vouchers a card shows at most, soonest expiry first: the card reads a bounded amount
/// whatever a customer holds.
const MAX_CARD_VOUCHERS: i64 = 20;

/// What a customer sees on their public card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub tenant_name: String,
    pub first_name: Option<String>,
    pub balance: i64,
    pub visits: i64,
    pub visits_to_next_milestone: i64,
    /// Issued vouchers not yet expired, soonest expiry first, at most [`MAX_CARD_VOUCHERS`].
    pub vouchers: Vec<Voucher>,
    /// Active, in-stock rewards the balance covers.
    pub affordable_rewards: Vec<Reward>,
}

impl Loyalty {
    /// The customer's own view, by the unguessable token on their card.
    pub fn card(&self, card_token: &str) -> Result<CardView, LoyaltyError> {
        if !could_be_stored(card_token) {
            return Err(LoyaltyError::NotFound(Resource::Card));
        }
        let now = self.now();
        reading(self.store.as_ref(), |uow| {
            let customer = uow
                .customer_by_card(card_token)?
                .ok_or(LoyaltyError::NotFound(Resource::Card))?;
            let customer = customer_as_of(uow, customer, now)?;
            let tenant = tenant_of(uow, &customer.tenant_id)?;
            let program = program_of(uow, &customer.tenant_id)?;
            let vouchers =
                uow.live_vouchers(&customer.tenant_id, &customer.id, now, MAX_CARD_VOUCHERS)?;
            let affordable = uow
                .rewards(
                    &customer.tenant_id,
                    Some(true),
                    &PageRequest::first(MAX_LIMIT),
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

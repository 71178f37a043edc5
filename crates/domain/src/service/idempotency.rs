//! Running a use case at most once per idempotency key.

use super::Loyalty;
use crate::LoyaltyError;
use crate::idempotency::{Idempotent, Outcome, StoredResponse};
use crate::store::{UnitOfWork, within};
use crate::tenant::TenantId;

impl Loyalty {
    /// Runs `work` in one transaction with the idempotency check and record around it.
    pub(super) fn idempotently<T>(
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
            let (status, body) = (request.render)(&value).map_err(LoyaltyError::Render)?;
            let stored = StoredResponse {
                fingerprint: request.fingerprint.clone(),
                status,
                body,
            };
            uow.record_response(tenant, &request.key, &stored)?;
            Ok(Outcome::Fresh(value, Some(stored)))
        })
    }
}

//! Running a use case at most once per idempotency key.

use super::Loyalty;
use crate::LoyaltyError;
use crate::auth::Principal;
use crate::idempotency::{IdempotencyScope, Idempotent, Outcome, StoredResponse};
use crate::store::{UnitOfWork, within};
use crate::tenant::TenantId;

impl Loyalty {
    /// Runs `work` in one transaction with the idempotency check and record around it. Keys are
    /// the caller's own (scoped to its API key in `tenant`), and a record older than the
    /// idempotency time to live is forgotten: its key is a new request.
    pub(super) fn idempotently<T>(
        &self,
        caller: &Principal,
        tenant: &TenantId,
        idempotent: Option<Idempotent<'_, T>>,
        mut work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, LoyaltyError>,
    ) -> Result<Outcome<T>, LoyaltyError> {
        let now = self.now();
        let scope = IdempotencyScope {
            tenant: tenant.clone(),
            api_key_id: caller.key_id.clone(),
        };
        within(self.store.as_ref(), |uow| {
            let Some(request) = &idempotent else {
                return Ok(Outcome::Fresh(work(uow)?, None));
            };
            match uow.idempotency(&scope, &request.key)? {
                Some(stored) if stored.claimed_at + self.idempotency_ttl <= now => {
                    uow.forget_idempotency(&scope, &request.key)?;
                }
                Some(stored) if stored.fingerprint == request.fingerprint => {
                    return Ok(Outcome::Replayed(stored));
                }
                Some(_) => return Err(LoyaltyError::IdempotencyKeyReused),
                None => {}
            }
            // Claimed first: a twin request waits here for this transaction, then replays its
            // response (its insert of the key fails once this commits, and it runs again).
            uow.claim_idempotency(&scope, &request.key, &request.fingerprint, now)?;
            let value = work(uow)?;
            let (status, body) = (request.render)(&value).map_err(LoyaltyError::Render)?;
            let stored = StoredResponse {
                fingerprint: request.fingerprint.clone(),
                status,
                body,
                claimed_at: now,
            };
            uow.record_response(&scope, &request.key, &stored)?;
            Ok(Outcome::Fresh(value, Some(stored)))
        })
    }
}

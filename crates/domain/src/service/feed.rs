//! The tenant's event feed: the events of every committed change, oldest first, each once.

use super::Loyalty;
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::events::{EventFilter, EventPage, FeedRequest};
use crate::store::{reading, within};

/// Events placed in the feed per transaction.
const PLACE_BATCH: i64 = 1_000;
/// Old events deleted per transaction.
const FORGET_BATCH: i64 = 1_000;

impl Loyalty {
    /// The tenant's events after the request's cursor, oldest first (tenant admin). Events that
    /// committed since the last placement are placed first, so a reader sees its own changes at
    /// once.
    pub fn events(
        &self,
        caller: &Principal,
        filter: &EventFilter,
        request: &FeedRequest,
    ) -> Result<EventPage, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.place_events()?;
        let limit = i64::from(request.limit);
        let items = reading(self.store.as_ref(), |uow| {
            Ok(uow.events(tenant, filter, request.after, limit)?)
        })?;
        Ok(EventPage::new(items, request))
    }

    /// Gives every committed event without a place in the feed its place; returns how many.
    pub fn place_events(&self) -> Result<u64, LoyaltyError> {
        let mut placed = 0;
        loop {
            let batch = within(
                self.store.as_ref(),
                |uow| Ok(uow.place_events(PLACE_BATCH)?),
            )?;
            placed += batch;
            if batch < PLACE_BATCH as u64 {
                return Ok(placed);
            }
        }
    }

    /// Deletes events older than the retention period, in bounded batches; returns how many.
    pub(super) fn forget_old_events(&self) -> Result<u64, LoyaltyError> {
        let before = self.now() - self.events_retention;
        let mut forgotten = 0;
        loop {
            let deleted = within(self.store.as_ref(), |uow| {
                Ok(uow.forget_events_before(before, FORGET_BATCH)?)
            })?;
            forgotten += deleted;
            if deleted < FORGET_BATCH as u64 {
                return Ok(forgotten);
            }
        }
    }
}

//! The tenant's event feed: the events of every committed change, oldest first, each once.

use super::Loyalty;
use crate::LoyaltyError;
use crate::auth::{Principal, Role};
use crate::events::{EventFilter, EventPage, FeedRequest};
use crate::store::{reading, within};

/// Events placed in the feed per transaction.
const PLACE_BATCH: i64 = 1_000;
/// Batches one feed read places at most before it reads: a backlog (say, after the feed went
/// unread while the sweep was stopped) is worked off by the sweep and later reads, not by one
/// request.
pub(super) const PLACE_BATCHES_PER_READ: usize = 5;
/// Old events deleted per transaction.
const FORGET_BATCH: i64 = 1_000;

/// What a placement does when another is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// Waits for it, then places what is left: a feed read, which must show every event that
    /// committed before it.
    Wait,
    /// Leaves the work to it: background work, which comes round again.
    SkipIfRunning,
}

impl Loyalty {
    /// The tenant's events after the request's cursor, oldest first (tenant admin). Events that
    /// committed since the last placement are placed first (after a placement running meanwhile,
    /// such as the webhook deliverer's, ends), so a reader sees its own changes at once.
    pub fn events(
        &self,
        caller: &Principal,
        filter: &EventFilter,
        request: &FeedRequest,
    ) -> Result<EventPage, LoyaltyError> {
        let tenant = caller.tenant_as(Role::TenantAdmin)?;
        self.place_events(PLACE_BATCHES_PER_READ, Placement::Wait)?;
        let limit = i64::from(request.limit);
        let items = reading(self.store.as_ref(), |uow| {
            Ok(uow.events(tenant, filter, request.after, limit)?)
        })?;
        Ok(EventPage::new(items, request))
    }

    /// Gives committed events without a place in the feed their places, up to `batches`
    /// batches; returns how many. Another placement running meanwhile is waited for, or ends this
    /// one early, as `placement` says.
    pub(super) fn place_events(
        &self,
        batches: usize,
        placement: Placement,
    ) -> Result<u64, LoyaltyError> {
        let mut placed = 0;
        let now = self.now();
        let wait = placement == Placement::Wait;
        for _ in 0..batches {
            let batch = within(self.store.as_ref(), |uow| {
                Ok(uow.place_events(PLACE_BATCH, now, wait)?)
            })?;
            let Some(count) = batch else {
                return Ok(placed);
            };
            placed += count;
            if count < PLACE_BATCH as u64 {
                return Ok(placed);
            }
        }
        Ok(placed)
    }

    /// Places every event still waiting (the sweep does, so events are placed and kept to their
    /// retention whether or not anyone reads the feed).
    pub(super) fn place_all_events(&self) -> Result<u64, LoyaltyError> {
        self.place_events(usize::MAX, Placement::SkipIfRunning)
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

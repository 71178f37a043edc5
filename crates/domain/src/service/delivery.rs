//! Delivering webhooks: workers (one or more per replica) claim due deliveries, send them, and
//! record what came of each. The sending is the adapter's; what to send, in which order, and what
//! an outcome means are decided here.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Loyalty;
use super::feed::{PLACE_BATCHES_PER_READ, Placement};
use crate::LoyaltyError;
use crate::store::{reading, within};
use crate::webhooks::{
    AttemptKey, AttemptOutcome, ClaimedDelivery, DeliveryAttempt, DeliveryBacklog, DeliveryJob,
    DeliveryStatus, Recorded, jitter_spread, signature_header,
};

impl Loyalty {
    /// Places newly committed events (queuing their deliveries), then claims up to `limit` due
    /// deliveries for `lease`: no other worker takes them meanwhile, and one not recorded by
    /// then (its worker died) is claimed again. Returns them signed, ready to send.
    pub fn claim_webhook_deliveries(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<DeliveryJob>, LoyaltyError> {
        self.place_events(PLACE_BATCHES_PER_READ, Placement::SkipIfRunning)?;
        let now = self.now();
        let lease_until = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = within(self.store.as_ref(), |uow| {
            Ok(uow.claim_deliveries(now, lease_until, limit)?)
        })?;
        let mut jobs = Vec::with_capacity(claimed.len());
        for delivery in claimed {
            let key = AttemptKey::of(&delivery);
            match self.signed(delivery, now) {
                Ok(job) => jobs.push(job),
                // Recorded as a failed attempt: retried, and in the end given up, like any other,
                // so one bad event never holds up the others.
                Err(error) => {
                    let unsent =
                        AttemptOutcome::unsent(format!("the event cannot be rendered: {error}"));
                    self.record_webhook_attempt(&key, &unsent)?;
                }
            }
        }
        Ok(jobs)
    }

    /// Records what came of sending `job`: acknowledged, to be retried (with backoff), or failed
    /// for good; an endpoint failing for too long is disabled, with a `webhook.disabled` event.
    pub fn record_webhook_attempt(
        &self,
        job: &AttemptKey,
        outcome: &AttemptOutcome,
    ) -> Result<Recorded, LoyaltyError> {
        let now = self.now();
        let retry = self.webhooks.retry;
        let spread = jitter_spread();
        let acknowledged = outcome.acknowledged();
        let next_attempt_at = if acknowledged {
            None
        } else {
            retry.next_attempt(job.attempt, now, spread)
        };
        let (status, recorded) = match (acknowledged, next_attempt_at) {
            (true, _) => (DeliveryStatus::Delivered, Recorded::Delivered),
            (false, Some(_)) => (DeliveryStatus::Pending, Recorded::Retrying),
            (false, None) => (DeliveryStatus::Failed, Recorded::Failed),
        };
        let attempt = DeliveryAttempt {
            number: job.attempt,
            attempted_at: started_at(now, outcome.latency),
            outcome: outcome.clone(),
        };
        within(self.store.as_ref(), |uow| {
            let Some(mut endpoint) = uow.webhook_for_update(&job.tenant_id, &job.endpoint_id)?
            else {
                return Ok(Recorded::Stale);
            };
            let stored = uow.record_attempt(
                &job.endpoint_id,
                &job.event_id,
                &attempt,
                status,
                next_attempt_at,
            )?;
            if !stored {
                return Ok(Recorded::Stale);
            }
            let before = endpoint.clone();
            let disabled = endpoint.note_attempt(acknowledged, now, &retry);
            if endpoint != before {
                uow.update_webhook(&endpoint)?;
            }
            if disabled {
                self.outbox().webhook_disabled(uow, &endpoint, now)?;
            }
            Ok(recorded)
        })
    }

    /// The deliveries waiting across tenants, for the metrics.
    pub fn webhook_backlog(&self) -> Result<DeliveryBacklog, LoyaltyError> {
        let queue = reading(self.store.as_ref(), |uow| Ok(uow.delivery_queue()?))?;
        Ok(queue.backlog(self.now()))
    }

    /// The request for a claimed delivery: the event as the feed shows it, signed now with each
    /// secret the endpoint honours.
    fn signed(
        &self,
        claimed: ClaimedDelivery,
        now: DateTime<Utc>,
    ) -> Result<DeliveryJob, LoyaltyError> {
        let key = AttemptKey::of(&claimed);
        let event = claimed.event.event;
        let body = self
            .events
            .render_event(&event)
            .map_err(LoyaltyError::Render)?;
        let timestamp = now.timestamp();
        let secrets = claimed.endpoint.signing_secrets(now);
        let signature = signature_header(&secrets, event.id.as_str(), timestamp, &body);
        Ok(DeliveryJob {
            key,
            url: claimed.endpoint.url,
            body,
            timestamp,
            signature,
        })
    }
}

/// When an attempt that ended at `now` after `latency` began.
fn started_at(now: DateTime<Utc>, latency: Duration) -> DateTime<Utc> {
    now - TimeDelta::from_std(latency).unwrap_or(TimeDelta::zero())
}

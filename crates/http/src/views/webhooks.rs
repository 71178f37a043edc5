//! Webhook endpoints and their deliveries on the wire.

use loyalty_domain::webhooks::{Delivery, DeliveryAttempt, WebhookEndpoint};
use serde::Serialize;
use utoipa::ToSchema;

use super::timestamp;

/// A webhook endpoint (never its secret).
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookView {
    id: String,
    url: String,
    /// `["*"]` for every event type, else the types it is sent.
    events: Vec<&'static str>,
    description: Option<String>,
    /// False once disabled: by its admin, or after failing for `WEBHOOK_DISABLE_AFTER_HOURS`.
    enabled: bool,
    /// Since when every attempt failed; null after a success.
    failing_since: Option<String>,
    disabled_at: Option<String>,
    /// While a rotated-out secret still signs deliveries (a second signature): until when.
    previous_secret_expires_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(endpoint: WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.into_string(),
            url: endpoint.url.as_str().to_owned(),
            events: endpoint.events.names(),
            description: endpoint.description,
            enabled: endpoint.disabled_at.is_none(),
            failing_since: endpoint.failing_since.map(timestamp),
            disabled_at: endpoint.disabled_at.map(timestamp),
            previous_secret_expires_at: endpoint.previous_secret.map(|p| timestamp(p.until)),
            created_at: timestamp(endpoint.created_at),
            updated_at: timestamp(endpoint.updated_at),
        }
    }
}

impl WebhookView {
    /// The endpoint as events tell of it, to every endpoint subscribed: its URL cut to scheme,
    /// host and port, as a path or query may hold a token meant for that receiver alone.
    pub(crate) fn announced(endpoint: WebhookEndpoint) -> Self {
        let origin = endpoint.url.origin();
        Self {
            url: origin,
            ..Self::from(endpoint)
        }
    }
}

/// An endpoint with its signing secret: only the answers that create or rotate it show it.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedWebhookView {
    #[serde(flatten)]
    endpoint: WebhookView,
    /// `whsec_` and the base64 of the key: verify each delivery's `webhook-signature` with it
    /// (any Standard Webhooks library takes it as it is).
    secret: String,
}

impl From<WebhookEndpoint> for CreatedWebhookView {
    fn from(endpoint: WebhookEndpoint) -> Self {
        let secret = endpoint.secret.as_str().to_owned();
        Self {
            endpoint: endpoint.into(),
            secret,
        }
    }
}

/// One try at a delivery.
#[derive(Serialize, ToSchema)]
pub(crate) struct AttemptView {
    /// 1 for the first.
    number: u32,
    attempted_at: String,
    /// What the endpoint answered; null when no answer came.
    status_code: Option<u16>,
    latency_ms: u64,
    /// Why no answer came: a timeout, a refused connection, a forbidden address.
    error: Option<String>,
    /// The start of the answer's body.
    response_excerpt: Option<String>,
}

impl From<DeliveryAttempt> for AttemptView {
    fn from(attempt: DeliveryAttempt) -> Self {
        let outcome = attempt.outcome;
        Self {
            number: attempt.number,
            attempted_at: timestamp(attempt.attempted_at),
            status_code: outcome.status_code,
            latency_ms: u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX),
            error: outcome.error,
            response_excerpt: outcome.response_excerpt,
        }
    }
}

/// An event's delivery to an endpoint.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    /// The event delivered: also the `webhook-id` header of every attempt.
    event_id: String,
    event_type: &'static str,
    /// `pending` (tried again at `next_attempt_at`), `delivered` (a 2xx came) or `failed`
    /// (every attempt failed).
    status: &'static str,
    next_attempt_at: Option<String>,
    created_at: String,
    /// When it was delivered or given up.
    finished_at: Option<String>,
    attempts: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(delivery: Delivery) -> Self {
        Self {
            event_id: delivery.event_id.into_string(),
            event_type: delivery.event_type.as_str(),
            status: delivery.status.as_str(),
            next_attempt_at: delivery.next_attempt_at.map(timestamp),
            created_at: timestamp(delivery.created_at),
            finished_at: delivery.finished_at.map(timestamp),
            attempts: delivery
                .attempts
                .into_iter()
                .map(AttemptView::from)
                .collect(),
        }
    }
}

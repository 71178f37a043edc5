//! Webhooks: endpoints a tenant admin registers to be told of its events, signed and delivered
//! at least once, in the feed's order, by whichever replica claims the work.

mod delivery;
mod destination;
mod signing;

pub use delivery::{
    AttemptKey, AttemptOutcome, ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryBacklog,
    DeliveryJob, DeliveryQueue, DeliveryStatus, Recorded, RetryPolicy, jitter_spread,
};
pub use destination::{
    DestinationPolicy, HostResolver, MAX_URL_CHARS, NOT_PUBLIC, NoResolver, ResolveError,
    WebhookUrl, is_public,
};
pub use signing::{MalformedSecret, SigningSecret, signature_header};

use chrono::{DateTime, TimeDelta, Utc};

use crate::events::EventType;
use crate::ids::WebhookId;
use crate::tenant::TenantId;
use crate::validation::{ValidationErrors, clean_text};

pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 500;
/// How long a rotated-out secret still signs deliveries, so receivers can switch over.
pub const PREVIOUS_SECRET_GRACE: TimeDelta = TimeDelta::hours(24);

/// Which events an endpoint is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    /// Every type, including types added later (`["*"]`).
    All,
    /// These types (at least one, each once, in the catalogue's order).
    Only(Vec<EventType>),
}

impl EventSelection {
    /// From a client's list: `["*"]` alone, or event types of the catalogue.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        if names.iter().any(|name| name == "*") {
            return if names.len() == 1 {
                Ok(Self::All)
            } else {
                Err("\"*\" must be the only entry".into())
            };
        }
        if names.is_empty() {
            return Err("must name at least one event type, or \"*\"".into());
        }
        let mut types = Vec::new();
        for name in names {
            let kind =
                EventType::parse(name).ok_or_else(|| format!("{name:?} is not an event type"))?;
            types.push(kind);
        }
        Ok(Self::Only(
            EventType::ALL
                .into_iter()
                .filter(|kind| types.contains(kind))
                .collect(),
        ))
    }

    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Only(types) => types.iter().map(|kind| kind.as_str()).collect(),
        }
    }

    pub fn includes(&self, kind: EventType) -> bool {
        match self {
            Self::All => true,
            Self::Only(types) => types.contains(&kind),
        }
    }
}

/// A secret that was rotated out, still signing until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiringSecret {
    pub secret: SigningSecret,
    pub until: DateTime<Utc>,
}

/// An endpoint a tenant's events are delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub tenant_id: TenantId,
    pub url: WebhookUrl,
    pub events: EventSelection,
    pub description: Option<String>,
    pub secret: SigningSecret,
    pub previous_secret: Option<RetiringSecret>,
    /// Since when every attempt failed; None after a success.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was disabled (after failing too long, or by its admin); a disabled endpoint is
    /// sent nothing and queues nothing.
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::page::Keyed for WebhookEndpoint {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

impl WebhookEndpoint {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    /// The secrets a delivery at `now` is signed with: the current one, and the one rotated out
    /// within the last day.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&SigningSecret> {
        let retiring = self
            .previous_secret
            .as_ref()
            .filter(|previous| previous.until > now)
            .map(|previous| &previous.secret);
        std::iter::once(&self.secret).chain(retiring).collect()
    }

    /// A new secret; the old one keeps signing for [`PREVIOUS_SECRET_GRACE`].
    pub fn rotate_secret(&mut self, now: DateTime<Utc>) -> Result<(), getrandom::Error> {
        let new = SigningSecret::generate()?;
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = Some(RetiringSecret {
            secret: old,
            until: now + PREVIOUS_SECRET_GRACE,
        });
        self.updated_at = now;
        Ok(())
    }

    /// Records an attempt's outcome: a success ends a failing spell; a failure starts one, and
    /// one that lasted too long disables the endpoint. True when this disabled it.
    pub fn note_attempt(
        &mut self,
        acknowledged: bool,
        now: DateTime<Utc>,
        retry: &RetryPolicy,
    ) -> bool {
        if acknowledged {
            self.failing_since = None;
            return false;
        }
        let since = *self.failing_since.get_or_insert(now);
        if self.enabled() && retry.gives_up_on(since, now) {
            self.disabled_at = Some(now);
            self.updated_at = now;
            return true;
        }
        false
    }
}

/// An endpoint as a tenant admin describes it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// Changes to an endpoint; `None` keeps a field, `Some(None)` clears the description.
/// `enabled: true` turns a disabled endpoint back on (its failing spell starts over).
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

fn check_description(errors: &mut ValidationErrors, text: Option<&str>) -> Option<String> {
    text.and_then(|text| {
        errors.check(
            "description",
            clean_text(text, MAX_WEBHOOK_DESCRIPTION_CHARS),
        )
    })
}

impl NewWebhook {
    /// The endpoint, with a new secret, if its fields are valid under `policy`. Whether its host
    /// resolves to an allowed address is checked by the use case.
    pub fn validate(
        self,
        tenant: &TenantId,
        policy: DestinationPolicy,
        secret: SigningSecret,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let url = errors.check("url", policy.check_url(&self.url));
        let events = errors.check("events", EventSelection::parse(&self.events));
        let description = check_description(&mut errors, self.description.as_deref());
        let (Some(url), Some(events)) = (url, events) else {
            return Err(errors);
        };
        errors.into_result(WebhookEndpoint {
            id: WebhookId::generate(),
            tenant_id: tenant.clone(),
            url,
            events,
            description,
            secret,
            previous_secret: None,
            failing_since: None,
            disabled_at: None,
            created_at: now,
            updated_at: now,
        })
    }
}

impl WebhookChanges {
    pub fn apply(
        self,
        mut endpoint: WebhookEndpoint,
        policy: DestinationPolicy,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(url) = self
            .url
            .and_then(|url| errors.check("url", policy.check_url(&url)))
        {
            endpoint.url = url;
        }
        if let Some(events) = self
            .events
            .and_then(|names| errors.check("events", EventSelection::parse(&names)))
        {
            endpoint.events = events;
        }
        match self.description {
            Some(Some(text)) => endpoint.description = check_description(&mut errors, Some(&text)),
            Some(None) => endpoint.description = None,
            None => {}
        }
        match self.enabled {
            Some(true) if !endpoint.enabled() => {
                endpoint.disabled_at = None;
                endpoint.failing_since = None;
            }
            Some(false) if endpoint.enabled() => endpoint.disabled_at = Some(now),
            _ => {}
        }
        endpoint.updated_at = now;
        errors.into_result(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn selections_are_star_alone_or_known_types() {
        assert_eq!(
            EventSelection::parse(&names(&["*"])),
            Ok(EventSelection::All)
        );
        assert_eq!(
            EventSelection::parse(&names(&[
                "voucher.issued",
                "visit.recorded",
                "visit.recorded"
            ])),
            Ok(EventSelection::Only(vec![
                EventType::VisitRecorded,
                EventType::VoucherIssued
            ]))
        );
        assert!(EventSelection::parse(&names(&[])).is_err());
        assert!(EventSelection::parse(&names(&["*", "visit.recorded"])).is_err());
        assert!(EventSelection::parse(&names(&["visit.made"])).is_err());
        assert!(
            EventSelection::parse(&names(&["webhook.disabled"]))
                .unwrap()
                .includes(EventType::WebhookDisabled)
        );
    }

    fn endpoint() -> WebhookEndpoint {
        NewWebhook {
            url: "https://hooks.example.com/x".into(),
            events: names(&["*"]),
            description: Some(" CRM ".into()),
        }
        .validate(
            &tenant(),
            DestinationPolicy::PublicHttps,
            SigningSecret::generate().unwrap(),
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn invalid_fields_are_all_reported() {
        let fields: Vec<String> = NewWebhook {
            url: "http://hooks.example.com".into(),
            events: names(&[]),
            description: Some(" ".into()),
        }
        .validate(
            &tenant(),
            DestinationPolicy::PublicHttps,
            SigningSecret::generate().unwrap(),
            Utc::now(),
        )
        .unwrap_err()
        .fields()
        .iter()
        .map(|error| error.field.clone())
        .collect();
        assert_eq!(fields, ["url", "events", "description"]);
        assert_eq!(endpoint().description.as_deref(), Some("CRM"));
    }

    #[test]
    fn a_rotated_secret_signs_for_a_day() {
        let mut endpoint = endpoint();
        let now = Utc::now();
        let old = endpoint.secret.clone();
        endpoint.rotate_secret(now).unwrap();
        assert_ne!(endpoint.secret, old);
        assert_eq!(
            endpoint.signing_secrets(now + TimeDelta::hours(23)),
            [&endpoint.secret, &old]
        );
        assert_eq!(
            endpoint.signing_secrets(now + TimeDelta::hours(24)),
            [&endpoint.secret]
        );
    }

    #[test]
    fn failing_too_long_disables_and_success_forgives() {
        let retry = RetryPolicy::default();
        let mut endpoint = endpoint();
        let start = Utc::now();
        assert!(!endpoint.note_attempt(false, start, &retry));
        assert!(!endpoint.note_attempt(false, start + TimeDelta::hours(71), &retry));
        assert!(!endpoint.note_attempt(true, start + TimeDelta::hours(71), &retry));
        assert_eq!(endpoint.failing_since, None);
        assert!(!endpoint.note_attempt(false, start + TimeDelta::hours(72), &retry));
        assert!(endpoint.note_attempt(false, start + TimeDelta::hours(144), &retry));
        assert!(!endpoint.enabled());
        let enabled = WebhookChanges {
            enabled: Some(true),
            ..WebhookChanges::default()
        }
        .apply(endpoint, DestinationPolicy::PublicHttps, start)
        .unwrap();
        assert!(enabled.enabled() && enabled.failing_since.is_none());
    }
}

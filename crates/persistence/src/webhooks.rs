//! Webhook endpoints, their deliveries and attempts on diesel.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use loyalty_domain::StoreError;
use loyalty_domain::events::EventType;
use loyalty_domain::ids::{CustomerId, EventId, WebhookId};
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::WebhookRecords;
use loyalty_domain::tenant::TenantId;
use loyalty_domain::webhooks::{
    AttemptOutcome, ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryQueue, DeliveryStatus,
    EventSelection, RetiringSecret, SigningSecret, WebhookEndpoint, WebhookUrl,
};

use crate::backend::db_run;
use crate::events::EventRow;
use crate::rows::{
    all_records, convert_all, convert_one, corrupt, first_record, naive, parse_text, tenant_id,
};
use crate::schema::{events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::transaction::{Tx, store_error};
use crate::{DbConnection, PersistenceError};

/// How an endpoint's event types are stored: `*`, or the types between commas, so a placement
/// matches one with `LIKE '%,type,%'`.
fn stored_selection(selection: &EventSelection) -> String {
    match selection {
        EventSelection::All => "*".to_owned(),
        EventSelection::Only(types) => {
            let names: Vec<&str> = types.iter().map(|kind| kind.as_str()).collect();
            format!(",{},", names.join(","))
        }
    }
}

fn selection_of(stored: &str) -> Result<EventSelection, PersistenceError> {
    if stored == "*" {
        return Ok(EventSelection::All);
    }
    stored
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| parse_text("event type", name, EventType::parse))
        .collect::<Result<_, _>>()
        .map(EventSelection::Only)
}

fn stored_secret(text: Cow<'_, str>) -> Result<SigningSecret, PersistenceError> {
    SigningSecret::from_stored(text.into_owned()).map_err(|e| corrupt("webhook secret", e))
}

/// An endpoint row: read whole, and written whole on insert and on update.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct EndpointRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    url: Cow<'a, str>,
    event_types: String,
    description: Option<Cow<'a, str>>,
    secret: Cow<'a, str>,
    previous_secret: Option<Cow<'a, str>>,
    previous_secret_until: Option<NaiveDateTime>,
    failing_since: Option<NaiveDateTime>,
    disabled_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> EndpointRow<'a> {
    fn from_domain(endpoint: &'a WebhookEndpoint) -> Self {
        let previous = endpoint.previous_secret.as_ref();
        Self {
            tenant_id: Cow::Borrowed(endpoint.tenant_id.as_str()),
            id: Cow::Borrowed(endpoint.id.as_str()),
            url: Cow::Borrowed(endpoint.url.as_str()),
            event_types: stored_selection(&endpoint.events),
            description: endpoint.description.as_deref().map(Cow::Borrowed),
            secret: Cow::Borrowed(endpoint.secret.as_str()),
            previous_secret: previous.map(|p| Cow::Borrowed(p.secret.as_str())),
            previous_secret_until: previous.map(|p| naive(p.until)),
            failing_since: endpoint.failing_since.map(naive),
            disabled_at: endpoint.disabled_at.map(naive),
            created_at: naive(endpoint.created_at),
            updated_at: naive(endpoint.updated_at),
        }
    }

    fn into_domain(self) -> Result<WebhookEndpoint, PersistenceError> {
        let previous_secret = match (self.previous_secret, self.previous_secret_until) {
            (Some(secret), Some(until)) => Some(RetiringSecret {
                secret: stored_secret(secret)?,
                until: until.and_utc(),
            }),
            _ => None,
        };
        Ok(WebhookEndpoint {
            tenant_id: tenant_id(&self.tenant_id)?,
            id: WebhookId::from_stored(self.id.into_owned()),
            url: WebhookUrl::from_stored(&self.url).map_err(|e| corrupt("webhook url", e))?,
            events: selection_of(&self.event_types)?,
            description: self.description.map(Cow::into_owned),
            secret: stored_secret(self.secret)?,
            previous_secret,
            failing_since: self.failing_since.map(|at| at.and_utc()),
            disabled_at: self.disabled_at.map(|at| at.and_utc()),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct DeliveryRow {
    endpoint_id: String,
    event_id: String,
    event_type: String,
    status: String,
    next_attempt_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AttemptRow {
    endpoint_id: String,
    event_id: String,
    number: i32,
    attempted_at: NaiveDateTime,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl AttemptRow {
    fn into_domain(self) -> Result<DeliveryAttempt, PersistenceError> {
        Ok(DeliveryAttempt {
            number: u32::try_from(self.number).map_err(|e| corrupt("attempt number", e))?,
            attempted_at: self.attempted_at.and_utc(),
            outcome: AttemptOutcome {
                status_code: self
                    .status_code
                    .map(u16::try_from)
                    .transpose()
                    .map_err(|e| corrupt("attempt status code", e))?,
                latency: Duration::from_millis(
                    u64::try_from(self.latency_ms).map_err(|e| corrupt("attempt latency", e))?,
                ),
                error: self.error,
                response_excerpt: self.response_excerpt,
            },
        })
    }
}

/// A delivery a claim took.
#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    endpoint_id: String,
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// The pending deliveries' count and the oldest's queueing time.
#[derive(QueryableByName)]
struct PendingSummary {
    #[diesel(sql_type = BigInt)]
    depth: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    oldest: Option<NaiveDateTime>,
}

/// The statement that claims due deliveries: the earliest pending delivery of each enabled
/// endpoint that is due, oldest due first. On PostgreSQL the rows are locked as they are chosen,
/// skipping those another worker's claim holds; a SQLite transaction already holds the write
/// lock.
fn claim_statement(conn: &DbConnection, limit: i64) -> String {
    // Numbered, as the statement uses them out of order.
    let (lease_until, now, lock) = match conn {
        DbConnection::Postgres(_) => ("$1", "$2", "FOR UPDATE OF d SKIP LOCKED"),
        DbConnection::Sqlite(_) => ("?1", "?2", ""),
    };
    format!(
        "WITH due AS (
             SELECT d.endpoint_id, d.event_id
             FROM webhook_deliveries d
             JOIN webhook_endpoints w ON w.id = d.endpoint_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= {now}
               AND w.disabled_at IS NULL
               AND NOT EXISTS (
                   SELECT 1 FROM webhook_deliveries earlier
                   WHERE earlier.endpoint_id = d.endpoint_id AND earlier.status = 'pending'
                     AND earlier.position < d.position)
             ORDER BY d.next_attempt_at
             LIMIT {limit}
             {lock}
         )
         UPDATE webhook_deliveries
         SET attempts = webhook_deliveries.attempts + 1, next_attempt_at = {lease_until}
         FROM due
         WHERE webhook_deliveries.endpoint_id = due.endpoint_id
           AND webhook_deliveries.event_id = due.event_id
         RETURNING webhook_deliveries.endpoint_id, webhook_deliveries.event_id,
                   webhook_deliveries.attempts"
    )
}

/// Queues the deliveries of the events just placed (places after `last` up to `last + placed`)
/// to every enabled endpoint of their tenant subscribed to their type, due at `now`.
pub(crate) fn queue_deliveries(
    conn: &mut DbConnection,
    last: i64,
    placed: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (first, second) = match conn {
        DbConnection::Postgres(_) => ("$1", "$2"),
        DbConnection::Sqlite(_) => ("?", "?"),
    };
    let upto = last.saturating_add(placed);
    diesel::sql_query(format!(
        "INSERT INTO webhook_deliveries
             (tenant_id, endpoint_id, event_id, event_type, position, status, attempts,
              next_attempt_at, created_at)
         SELECT e.tenant_id, w.id, e.id, e.event_type, e.position, 'pending', 0, {first}, {second}
         FROM events e
         JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id
         WHERE e.position > {last} AND e.position <= {upto}
           AND w.disabled_at IS NULL
           AND (w.event_types = '*' OR w.event_types LIKE '%,' || e.event_type || ',%')"
    ))
    .bind::<Timestamp, _>(naive(now))
    .bind::<Timestamp, _>(naive(now))
    .execute(conn)
    .map_err(store_error)?;
    Ok(())
}

impl Tx<'_> {
    fn endpoints_by_id(&mut self, ids: &[&str]) -> Result<Vec<WebhookEndpoint>, StoreError> {
        all_records(
            self.conn,
            webhook_endpoints::table
                .filter(webhook_endpoints::id.eq_any(ids))
                .select(EndpointRow::as_select()),
            EndpointRow::into_domain,
        )
    }
}

impl WebhookRecords for Tx<'_> {
    fn insert_webhook(&mut self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        diesel::insert_into(webhook_endpoints::table)
            .values(EndpointRow::from_domain(endpoint))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn webhook(
        &mut self,
        tenant: &TenantId,
        id: &WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        first_record(
            self.conn,
            webhook_endpoints::table
                .find((tenant.as_str(), id.as_str()))
                .select(EndpointRow::as_select()),
            EndpointRow::into_domain,
        )
    }

    fn webhook_for_update(
        &mut self,
        tenant: &TenantId,
        id: &WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let key = webhook_endpoints::table.find((tenant.as_str(), id.as_str()));
        let row = db_run!(self.conn, first_for_update(key, EndpointRow)).map_err(store_error)?;
        convert_one(row, EndpointRow::into_domain)
    }

    fn webhooks(
        &mut self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut query = webhook_endpoints::table
            .filter(webhook_endpoints::tenant_id.eq(tenant.as_str()))
            .select(EndpointRow::as_select())
            .order(webhook_endpoints::id.asc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(webhook_endpoints::id.gt(after.as_str()));
        }
        all_records(self.conn, query, EndpointRow::into_domain)
    }

    fn update_webhook(&mut self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        diesel::update(
            webhook_endpoints::table.find((endpoint.tenant_id.as_str(), endpoint.id.as_str())),
        )
        .set(EndpointRow::from_domain(endpoint))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }

    fn delete_webhook(&mut self, tenant: &TenantId, id: &WebhookId) -> Result<bool, StoreError> {
        let deleted = diesel::delete(webhook_endpoints::table.find((tenant.as_str(), id.as_str())))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(deleted > 0)
    }

    fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let claimed: Vec<Claimed> = diesel::sql_query(claim_statement(self.conn, limit))
            .bind::<Timestamp, _>(naive(lease_until))
            .bind::<Timestamp, _>(naive(now))
            .load(self.conn)
            .map_err(store_error)?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint_ids: Vec<&str> = claimed.iter().map(|c| c.endpoint_id.as_str()).collect();
        let endpoints = self.endpoints_by_id(&endpoint_ids)?;
        let event_ids: Vec<&str> = claimed.iter().map(|c| c.event_id.as_str()).collect();
        let found = all_records(
            self.conn,
            events::table
                .filter(events::id.eq_any(&event_ids))
                .select(EventRow::as_select()),
            EventRow::into_domain,
        )?;
        claimed
            .iter()
            .map(|claim| {
                let endpoint = endpoints
                    .iter()
                    .find(|e| e.id.as_str() == claim.endpoint_id)
                    .ok_or_else(|| corrupt("delivery", "a delivery without its endpoint"))?;
                let event = found
                    .iter()
                    .find(|e| e.event.id.as_str() == claim.event_id)
                    .ok_or_else(|| corrupt("delivery", "a delivery without its event"))?;
                Ok(ClaimedDelivery {
                    endpoint: endpoint.clone(),
                    event: event.clone(),
                    attempt: u32::try_from(claim.attempts)
                        .map_err(|e| corrupt("delivery attempts", e))?,
                })
            })
            .collect::<Result<_, PersistenceError>>()
            .map_err(StoreError::from)
    }

    fn record_attempt(
        &mut self,
        endpoint: &WebhookId,
        event: &EventId,
        attempt: &DeliveryAttempt,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let number = i32::try_from(attempt.number).unwrap_or(i32::MAX);
        let outcome = &attempt.outcome;
        let ended_at = attempt.attempted_at
            + TimeDelta::from_std(outcome.latency).unwrap_or(TimeDelta::zero());
        let finished_at = (status != DeliveryStatus::Pending).then(|| naive(ended_at));
        let updated = diesel::update(
            webhook_deliveries::table
                .find((endpoint.as_str(), event.as_str()))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(webhook_deliveries::attempts.eq(number)),
        )
        .set((
            webhook_deliveries::status.eq(status.as_str()),
            webhook_deliveries::next_attempt_at.eq(next_attempt_at.map(naive)),
            webhook_deliveries::finished_at.eq(finished_at),
        ))
        .execute(self.conn)
        .map_err(store_error)?;
        if updated == 0 {
            return Ok(false);
        }
        diesel::insert_into(webhook_attempts::table)
            .values(AttemptRow {
                endpoint_id: endpoint.as_str().to_owned(),
                event_id: event.as_str().to_owned(),
                number,
                attempted_at: naive(attempt.attempted_at),
                status_code: outcome.status_code.map(i32::from),
                latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
                error: outcome.error.clone(),
                response_excerpt: outcome.response_excerpt.clone(),
            })
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(true)
    }

    fn resume_deliveries(
        &mut self,
        endpoint: &WebhookId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_str()))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
        )
        .set(webhook_deliveries::next_attempt_at.eq(naive(now)))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }

    fn deliveries(
        &mut self,
        tenant: &TenantId,
        endpoint: &WebhookId,
        page: &PageRequest,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut query = webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant.as_str()))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_str()))
            .select(DeliveryRow::as_select())
            .order(webhook_deliveries::event_id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(webhook_deliveries::event_id.lt(after.as_str()));
        }
        let rows: Vec<DeliveryRow> = query.load(self.conn).map_err(store_error)?;
        let event_ids: Vec<&str> = rows.iter().map(|row| row.event_id.as_str()).collect();
        let attempts: Vec<AttemptRow> = webhook_attempts::table
            .filter(webhook_attempts::endpoint_id.eq(endpoint.as_str()))
            .filter(webhook_attempts::event_id.eq_any(&event_ids))
            .order((webhook_attempts::event_id, webhook_attempts::number))
            .select(AttemptRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        let mut by_event: HashMap<String, Vec<AttemptRow>> = HashMap::new();
        for attempt in attempts {
            by_event
                .entry(attempt.event_id.clone())
                .or_default()
                .push(attempt);
        }
        rows.into_iter()
            .map(|row| {
                let group = by_event.remove(&row.event_id).unwrap_or_default();
                Ok(Delivery {
                    endpoint_id: WebhookId::from_stored(row.endpoint_id),
                    event_id: EventId::from_stored(row.event_id),
                    event_type: parse_text("event type", &row.event_type, EventType::parse)?,
                    status: parse_text("delivery status", &row.status, DeliveryStatus::parse)?,
                    next_attempt_at: row.next_attempt_at.map(|at| at.and_utc()),
                    created_at: row.created_at.and_utc(),
                    finished_at: row.finished_at.map(|at| at.and_utc()),
                    attempts: convert_all(group, AttemptRow::into_domain)?,
                })
            })
            .collect::<Result<_, StoreError>>()
    }

    fn forget_answers_about(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
    ) -> Result<(), StoreError> {
        let their_events = events::table
            .filter(events::tenant_id.eq(tenant.as_str()))
            .filter(events::customer_id.eq(customer.as_str()))
            .select(events::id);
        diesel::update(
            webhook_attempts::table.filter(webhook_attempts::event_id.eq_any(their_events)),
        )
        .set(webhook_attempts::response_excerpt.eq(None::<String>))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }

    fn delivery_queue(&mut self) -> Result<DeliveryQueue, StoreError> {
        let pending: PendingSummary = diesel::sql_query(
            "SELECT COUNT(*) AS depth, MIN(d.created_at) AS oldest
             FROM webhook_deliveries d
             JOIN webhook_endpoints w ON w.id = d.endpoint_id
             WHERE d.status = 'pending' AND w.disabled_at IS NULL",
        )
        .get_result(self.conn)
        .map_err(store_error)?;
        Ok(DeliveryQueue {
            depth: u64::try_from(pending.depth).map_err(|e| corrupt("pending count", e))?,
            oldest_queued_at: pending.oldest.map(|at| at.and_utc()),
        })
    }
}

//! The outbox and the feed on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use loyalty_domain::StoreError;
use loyalty_domain::events::{Event, EventFilter, EventType, NewEvent};
use loyalty_domain::ids::{CustomerId, EventId};
use loyalty_domain::store::EventRecords;
use loyalty_domain::tenant::TenantId;
use loyalty_domain::webhooks::DeliveryStatus;

use crate::rows::{all_records, corrupt, naive, parse_text, tenant_id};
use crate::schema::{event_places, events, webhook_deliveries};
use crate::transaction::{Tx, store_error};
use crate::webhooks::queue_deliveries;
use crate::{DbConnection, PersistenceError};

/// Serializes placements across every process on one PostgreSQL (a transaction-scoped lock).
const PLACEMENT_LOCK_KEY: i64 = 0x004c_4f59_4556_4e54; // "LOYEVNT"

#[derive(QueryableByName)]
struct Acquired {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    acquired: bool,
}

/// An event row as the feed reads it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct EventRow {
    id: String,
    tenant_id: String,
    customer_id: Option<String>,
    event_type: String,
    occurred_at: NaiveDateTime,
    data: String,
    position: Option<i64>,
}

impl EventRow {
    pub(crate) fn into_domain(self) -> Result<Event, PersistenceError> {
        let position = self
            .position
            .ok_or_else(|| corrupt("event place", "a placed event without a place"))?;
        Ok(Event {
            event: self.into_new_event()?,
            position,
        })
    }

    /// The event as written, whether or not it has its place yet.
    fn into_new_event(self) -> Result<NewEvent, PersistenceError> {
        Ok(NewEvent {
            id: EventId::from_stored(self.id),
            tenant_id: tenant_id(&self.tenant_id)?,
            customer_id: self.customer_id.map(CustomerId::from_stored),
            event_type: parse_text("event type", &self.event_type, EventType::parse)?,
            occurred_at: self.occurred_at.and_utc(),
            data: self.data,
        })
    }
}

/// What the next event written takes as its `written_seq`: a sequence on PostgreSQL (read after
/// the change's row locks, so one customer's events are numbered in commit order); on SQLite,
/// whose writers take turns, the next number after the largest.
fn next_written_seq(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => "nextval('events_written_seq')",
        DbConnection::Sqlite(_) => "(SELECT COALESCE(MAX(written_seq), 0) + 1 FROM events)",
    }
}

impl EventRecords for Tx<'_> {
    fn append_event(&mut self, event: &NewEvent) -> Result<(), StoreError> {
        let written_seq = diesel::dsl::sql::<BigInt>(next_written_seq(self.conn));
        diesel::insert_into(events::table)
            .values((
                events::id.eq(event.id.as_str()),
                events::tenant_id.eq(event.tenant_id.as_str()),
                events::customer_id.eq(event.customer_id.as_ref().map(CustomerId::as_str)),
                events::event_type.eq(event.event_type.as_str()),
                events::occurred_at.eq(naive(event.occurred_at)),
                events::data.eq(&event.data),
                events::written_seq.eq(written_seq),
            ))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn place_events(
        &mut self,
        limit: i64,
        now: DateTime<Utc>,
        wait: bool,
    ) -> Result<Option<u64>, StoreError> {
        if let DbConnection::Postgres(pg) = &mut *self.conn {
            // A reader waits only when something is left to place: feed reads of every tenant
            // would otherwise queue behind each other on the one lock.
            let waiting = events::table
                .filter(events::position.is_null())
                .select(events::id)
                .first::<String>(pg)
                .optional()
                .map_err(store_error)?;
            if waiting.is_none() {
                return Ok(Some(0));
            }
            // Waiting is bounded by the session's lock timeout.
            let lock = if wait {
                "SELECT pg_advisory_xact_lock($1) IS NOT NULL AS acquired"
            } else {
                "SELECT pg_try_advisory_xact_lock($1) AS acquired"
            };
            let acquired: Acquired = diesel::sql_query(lock)
                .bind::<BigInt, _>(PLACEMENT_LOCK_KEY)
                .get_result(pg)
                .map_err(store_error)?;
            if !acquired.acquired {
                return Ok(None);
            }
        }
        let last: i64 = event_places::table
            .find(1)
            .select(event_places::last_position)
            .first(self.conn)
            .map_err(store_error)?;
        // Read committed (PostgreSQL) or the one writer's view (SQLite): the statement sees
        // every event committed before it; one committed later is placed by the next placement.
        let placed = diesel::sql_query(format!(
            "WITH batch AS (
                 SELECT id, ROW_NUMBER() OVER (ORDER BY written_seq) AS n
                 FROM (
                     SELECT id, written_seq FROM events WHERE position IS NULL
                     ORDER BY written_seq LIMIT {limit}
                 ) AS waiting
             )
             UPDATE events SET position = {last} + batch.n
             FROM batch WHERE events.id = batch.id"
        ))
        .execute(self.conn)
        .map_err(store_error)?;
        if placed == 0 {
            return Ok(Some(0));
        }
        let placed = i64::try_from(placed).unwrap_or(i64::MAX);
        diesel::update(event_places::table.find(1))
            .set(event_places::last_position.eq(last + placed))
            .execute(self.conn)
            .map_err(store_error)?;
        queue_deliveries(self.conn, last, placed, now)?;
        Ok(Some(placed as u64))
    }

    fn events(
        &mut self,
        tenant: &TenantId,
        filter: &EventFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        let mut query = events::table
            .filter(events::tenant_id.eq(tenant.as_str()))
            .filter(events::position.gt(after.unwrap_or(0)))
            .select(EventRow::as_select())
            .order(events::position.asc())
            .limit(limit)
            .into_boxed();
        if let Some(event_type) = filter.event_type {
            query = query.filter(events::event_type.eq(event_type.as_str()));
        }
        if let Some(customer) = &filter.customer_id {
            query = query.filter(events::customer_id.eq(customer.as_str()));
        }
        all_records(self.conn, query, EventRow::into_domain)
    }

    fn customer_events(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
        types: &[EventType],
    ) -> Result<Vec<NewEvent>, StoreError> {
        let types: Vec<&str> = types.iter().map(|kind| kind.as_str()).collect();
        // The customer index covers placed events; a customer has few events of these types.
        all_records(
            self.conn,
            events::table
                .filter(events::tenant_id.eq(tenant.as_str()))
                .filter(events::customer_id.eq(customer.as_str()))
                .filter(events::event_type.eq_any(types))
                .select(EventRow::as_select()),
            EventRow::into_new_event,
        )
    }

    fn replace_event_data(&mut self, event: &EventId, data: &str) -> Result<(), StoreError> {
        diesel::update(events::table.find(event.as_str()))
            .set(events::data.eq(data))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn forget_events_before(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        // One bounded batch, the oldest first, in two statements on the occurred_at index: when
        // the limit-th oldest placed event occurred, then every placed event up to it. An event
        // still waiting to be delivered to a webhook stays until it is delivered or given up.
        let awaiting_delivery = webhook_deliveries::table
            .filter(webhook_deliveries::event_id.eq(events::id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
        let due = events::table
            .filter(events::occurred_at.lt(naive(before)))
            .filter(events::position.is_not_null())
            .filter(diesel::dsl::not(diesel::dsl::exists(awaiting_delivery)));
        let last_of_batch: Option<NaiveDateTime> = due
            .order(events::occurred_at)
            .select(events::occurred_at)
            .offset(limit.saturating_sub(1))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        let deleted = match last_of_batch {
            Some(last) => {
                diesel::delete(due.filter(events::occurred_at.le(last))).execute(self.conn)
            }
            None => diesel::delete(due).execute(self.conn),
        }
        .map_err(store_error)?;
        Ok(deleted as u64)
    }
}

//! Ledger entries and idempotency records on diesel.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::idempotency::{IdempotencyKey, IdempotencyScope, StoredResponse};
use loyalty_domain::ids::{CustomerId, LedgerEntryId, VoucherId};
use loyalty_domain::ledger::{EntryKind, LedgerEntry};
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::{IdempotencyRecords, LedgerRecords};
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{all_records, convert_one, corrupt, first_record, naive, parse_text, tenant_id};
use crate::schema::{idempotency_keys, ledger_entries};
use crate::transaction::{Tx, store_error};

/// A ledger entry row: read whole, and written whole on insert. Reading yields owned text;
/// writing borrows it from the domain record.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct EntryRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    customer_id: Cow<'a, str>,
    kind: Cow<'a, str>,
    points: i64,
    balance_after: i64,
    visit_number: Option<i64>,
    amount_minor: Option<i64>,
    currency: Option<Cow<'a, str>>,
    reference: Option<Cow<'a, str>>,
    reason: Option<Cow<'a, str>>,
    reverses_entry_id: Option<Cow<'a, str>>,
    actor_key_id: Cow<'a, str>,
    request_id: Option<Cow<'a, str>>,
    created_at: NaiveDateTime,
    #[diesel(column_name = redemption_id)]
    voucher_id: Option<Cow<'a, str>>,
}

impl<'a> EntryRow<'a> {
    fn from_domain(entry: &'a LedgerEntry) -> Self {
        Self {
            tenant_id: Cow::Borrowed(entry.tenant_id.as_str()),
            id: Cow::Borrowed(entry.id.as_str()),
            customer_id: Cow::Borrowed(entry.customer_id.as_str()),
            kind: Cow::Borrowed(entry.kind.as_str()),
            points: entry.points,
            balance_after: entry.balance_after,
            visit_number: entry.visit_number,
            amount_minor: entry.amount_minor,
            currency: entry.currency.as_deref().map(Cow::Borrowed),
            reference: entry.reference.as_deref().map(Cow::Borrowed),
            reason: entry.reason.as_deref().map(Cow::Borrowed),
            reverses_entry_id: entry
                .reverses_entry_id
                .as_ref()
                .map(|id| Cow::Borrowed(id.as_str())),
            actor_key_id: Cow::Borrowed(&entry.actor_key_id),
            request_id: entry.request_id.as_deref().map(Cow::Borrowed),
            created_at: naive(entry.created_at),
            voucher_id: entry
                .voucher_id
                .as_ref()
                .map(|id| Cow::Borrowed(id.as_str())),
        }
    }

    fn into_domain(self) -> Result<LedgerEntry, PersistenceError> {
        Ok(LedgerEntry {
            tenant_id: tenant_id(&self.tenant_id)?,
            kind: parse_text("ledger entry kind", &self.kind, EntryKind::parse)?,
            id: LedgerEntryId::from_stored(self.id.into_owned()),
            customer_id: CustomerId::from_stored(self.customer_id.into_owned()),
            points: self.points,
            balance_after: self.balance_after,
            visit_number: self.visit_number,
            amount_minor: self.amount_minor,
            currency: self.currency.map(Cow::into_owned),
            reference: self.reference.map(Cow::into_owned),
            reason: self.reason.map(Cow::into_owned),
            reverses_entry_id: self
                .reverses_entry_id
                .map(|id| LedgerEntryId::from_stored(id.into_owned())),
            voucher_id: self
                .voucher_id
                .map(|id| VoucherId::from_stored(id.into_owned())),
            actor_key_id: self.actor_key_id.into_owned(),
            request_id: self.request_id.map(Cow::into_owned),
            created_at: self.created_at.and_utc(),
        })
    }
}

/// Entries one statement inserts at most: 15 parameters each stay below both backends' limits.
const ROWS_PER_STATEMENT: usize = 1_000;

impl LedgerRecords for Tx<'_> {
    fn append_entry(&mut self, entry: &LedgerEntry) -> Result<(), StoreError> {
        diesel::insert_into(ledger_entries::table)
            .values(EntryRow::from_domain(entry))
            .execute(self.conn)
            .map_err(store_error)?;
        self.written.entries.push(entry.kind);
        Ok(())
    }

    fn append_entries(&mut self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<EntryRow> = chunk.iter().map(EntryRow::from_domain).collect();
            // A multi-row insert needs the backend's own connection.
            db_run!(self.conn, |inner| diesel::insert_into(
                ledger_entries::table
            )
            .values(&rows)
            .execute(inner))
            .map_err(store_error)?;
            self.written
                .entries
                .extend(chunk.iter().map(|entry| entry.kind));
        }
        Ok(())
    }

    fn entry(
        &mut self,
        tenant: &TenantId,
        id: &LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        first_record(
            self.conn,
            ledger_entries::table
                .find((tenant.as_str(), id.as_str()))
                .select(EntryRow::as_select()),
            EntryRow::into_domain,
        )
    }

    fn reversal_of(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        first_record(
            self.conn,
            ledger_entries::table
                .filter(ledger_entries::tenant_id.eq(tenant.as_str()))
                .filter(ledger_entries::reverses_entry_id.eq(entry_id.as_str()))
                .select(EntryRow::as_select()),
            EntryRow::into_domain,
        )
    }

    fn redemption_entry(
        &mut self,
        tenant: &TenantId,
        voucher_id: &VoucherId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        first_record(
            self.conn,
            ledger_entries::table
                .filter(ledger_entries::tenant_id.eq(tenant.as_str()))
                .filter(ledger_entries::redemption_id.eq(voucher_id.as_str()))
                .filter(ledger_entries::kind.eq(EntryKind::Redemption.as_str()))
                .select(EntryRow::as_select()),
            EntryRow::into_domain,
        )
    }

    fn entries(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        page: &PageRequest,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut query = ledger_entries::table
            .filter(ledger_entries::tenant_id.eq(tenant.as_str()))
            .filter(ledger_entries::customer_id.eq(customer_id.as_str()))
            .select(EntryRow::as_select())
            .order(ledger_entries::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(ledger_entries::id.lt(after.as_str()));
        }
        all_records(self.conn, query, EntryRow::into_domain)
    }

    fn tenant_entries(
        &mut self,
        tenant: &TenantId,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
        page: &PageRequest,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        // Along the primary key from the cursor: ids grow with time, so the pages of a range
        // walk the tenant's entries once, whatever the range.
        let mut query = ledger_entries::table
            .filter(ledger_entries::tenant_id.eq(tenant.as_str()))
            .filter(ledger_entries::created_at.ge(naive(from)))
            .filter(ledger_entries::created_at.lt(naive(until)))
            .select(EntryRow::as_select())
            .order(ledger_entries::id.asc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(ledger_entries::id.gt(after.as_str()));
        }
        all_records(self.conn, query, EntryRow::into_domain)
    }
}

/// A stored response as the domain reads and writes it: every column but the scope and key
/// (the query's key) and the time of the claim. Reading yields owned text; writing borrows it.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ResponseRow<'a> {
    fingerprint: Cow<'a, str>,
    status_code: i32,
    response_body: Cow<'a, str>,
    created_at: NaiveDateTime,
}

/// An idempotency key as claimed: the whole row.
#[derive(Debug, Insertable)]
#[diesel(table_name = idempotency_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct IdempotencyRow<'a> {
    tenant_id: &'a str,
    api_key_id: &'a str,
    idempotency_key: &'a str,
    #[diesel(embed)]
    response: ResponseRow<'a>,
}

/// The API key id of records made before keys were scoped: they answer for the whole tenant.
const UNSCOPED: &str = "";

/// What a redacted record keeps as its request's fingerprint: no request hashes to it, so a retry
/// is refused as a reused key rather than matched by a hash of the person's data.
const FORGOTTEN_FINGERPRINT: &str = "forgotten";

impl IdempotencyRecords for Tx<'_> {
    fn idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredResponse>, StoreError> {
        // At most two rows: the caller's own record and an unscoped one, each found by its whole
        // primary key (tenant, API key, key string). One `api_key_id IN (…)` instead lets
        // PostgreSQL walk every key of the tenant, since the key string comes after the API key
        // in the index; and they are told apart here, not by an ORDER BY.
        // A macro, not a closure: each backend's arm below builds its own query type.
        macro_rules! by_api_key {
            ($api_key_id:expr) => {
                idempotency_keys::table
                    .filter(idempotency_keys::tenant_id.eq(scope.tenant.as_str()))
                    .filter(idempotency_keys::api_key_id.eq($api_key_id))
                    .filter(idempotency_keys::idempotency_key.eq(key.as_str()))
                    .select((idempotency_keys::api_key_id, ResponseRow::as_select()))
            };
        }
        let own = scope.api_key_id.as_str();
        let rows: Vec<(String, ResponseRow)> = db_run!(self.conn, |conn| by_api_key!(own)
            .union_all(by_api_key!(UNSCOPED))
            .load(conn))
        .map_err(store_error)?;
        let row = rows
            .into_iter()
            .max_by_key(|(api_key_id, _)| api_key_id == &scope.api_key_id)
            .map(|(_, row)| row);
        convert_one(row, |row| {
            let status =
                u16::try_from(row.status_code).map_err(|e| corrupt("stored response status", e))?;
            Ok(StoredResponse {
                fingerprint: row.fingerprint.into_owned(),
                status,
                body: row.response_body.into_owned(),
                claimed_at: row.created_at.and_utc(),
            })
        })
    }

    fn claim_idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Status 0 and no body until record_response; never visible outside this transaction.
        diesel::insert_into(idempotency_keys::table)
            .values(IdempotencyRow {
                tenant_id: scope.tenant.as_str(),
                api_key_id: &scope.api_key_id,
                idempotency_key: key.as_str(),
                response: ResponseRow {
                    fingerprint: Cow::Borrowed(fingerprint),
                    status_code: 0,
                    response_body: Cow::Borrowed(""),
                    created_at: naive(at),
                },
            })
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn record_response(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        diesel::update(idempotency_keys::table.find((
            scope.tenant.as_str(),
            scope.api_key_id.as_str(),
            key.as_str(),
        )))
        .set((
            idempotency_keys::status_code.eq(i32::from(response.status)),
            idempotency_keys::response_body.eq(&response.body),
        ))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }

    fn forget_idempotency(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::tenant_id.eq(scope.tenant.as_str()))
                .filter(idempotency_keys::idempotency_key.eq(key.as_str()))
                .filter(idempotency_keys::api_key_id.eq_any([scope.api_key_id.as_str(), UNSCOPED])),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }

    fn redact_responses_naming(
        &mut self,
        tenant: &TenantId,
        needle: &str,
        replacement: &str,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<u64, StoreError> {
        // The needle is an id (letters, digits, hyphens): nothing in it is a LIKE wildcard.
        let redacted = diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::created_at.ge(naive(from)))
                .filter(idempotency_keys::created_at.lt(naive(until)))
                .filter(idempotency_keys::tenant_id.eq(tenant.as_str()))
                .filter(idempotency_keys::response_body.like(format!("%{needle}%"))),
        )
        .set((
            idempotency_keys::response_body.eq(replacement),
            idempotency_keys::fingerprint.eq(FORGOTTEN_FINGERPRINT),
        ))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(redacted as u64)
    }

    fn forget_idempotency_before(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        // One bounded batch, the oldest first, in two statements on the created_at index: the
        // claim time of the limit-th oldest due record, then everything due up to it (records
        // claimed in the same microsecond may take a batch a little past the limit).
        let before = naive(before);
        let due = idempotency_keys::table.filter(idempotency_keys::created_at.lt(before));
        let last_of_batch: Option<NaiveDateTime> = due
            .order(idempotency_keys::created_at)
            .select(idempotency_keys::created_at)
            .offset(limit.saturating_sub(1))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        let deleted = match last_of_batch {
            Some(last) => {
                diesel::delete(due.filter(idempotency_keys::created_at.le(last))).execute(self.conn)
            }
            None => diesel::delete(due).execute(self.conn),
        }
        .map_err(store_error)?;
        Ok(deleted as u64)
    }
}

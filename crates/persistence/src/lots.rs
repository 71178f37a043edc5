//! Point lots and the draws refunds use, on diesel.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::ids::{CustomerId, LedgerEntryId, LotId};
use loyalty_domain::lots::{Draw, Lot};
use loyalty_domain::store::LotRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{all_records, naive, tenant_pairs};
use crate::schema::{lot_draws, point_lots};
use crate::transaction::{Tx, store_error};

/// A lot as the domain reads and writes it: every column but the tenant and customer it belongs
/// to, which are the query's filter. Reading yields owned text; writing borrows it from the domain
/// record.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = point_lots)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct LotRow<'a> {
    id: Cow<'a, str>,
    source_entry_id: Cow<'a, str>,
    earned_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    remaining: i64,
}

impl<'a> LotRow<'a> {
    fn from_domain(lot: &'a Lot) -> Self {
        Self {
            id: Cow::Borrowed(lot.id.as_str()),
            source_entry_id: Cow::Borrowed(lot.source_entry_id.as_str()),
            earned_at: naive(lot.earned_at),
            expires_at: lot.expires_at.map(naive),
            remaining: lot.remaining,
        }
    }

    fn into_domain(self) -> Result<Lot, PersistenceError> {
        Ok(Lot {
            id: LotId::from_stored(self.id.into_owned()),
            source_entry_id: LedgerEntryId::from_stored(self.source_entry_id.into_owned()),
            earned_at: self.earned_at.and_utc(),
            expires_at: self.expires_at.map(|at| at.and_utc()),
            remaining: self.remaining,
        })
    }
}

/// A lot as inserted: the whole row.
#[derive(Debug, Insertable)]
#[diesel(table_name = point_lots)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct CustomerLotRow<'a> {
    tenant_id: &'a str,
    customer_id: &'a str,
    #[diesel(embed)]
    lot: LotRow<'a>,
}

/// A draw as the domain reads and writes it: every column but the tenant and entry it belongs
/// to, which are the query's filter.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = lot_draws)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct DrawRow<'a> {
    lot_id: Cow<'a, str>,
    points: i64,
}

impl<'a> DrawRow<'a> {
    fn from_domain(draw: &'a Draw) -> Self {
        Self {
            lot_id: Cow::Borrowed(draw.lot_id.as_str()),
            points: draw.points,
        }
    }

    fn into_domain(self) -> Draw {
        Draw {
            lot_id: LotId::from_stored(self.lot_id.into_owned()),
            points: self.points,
        }
    }
}

/// A draw as inserted: the whole row.
#[derive(Debug, Insertable)]
#[diesel(table_name = lot_draws)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct EntryDrawRow<'a> {
    tenant_id: &'a str,
    entry_id: &'a str,
    #[diesel(embed)]
    draw: DrawRow<'a>,
}

/// Lots one statement inserts at most, within both backends' limits on parameters.
const LOTS_PER_STATEMENT: usize = 2_000;

impl LotRecords for Tx<'_> {
    fn open_lots(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
    ) -> Result<Vec<Lot>, StoreError> {
        all_records(
            self.conn,
            point_lots::table
                .filter(point_lots::tenant_id.eq(tenant.as_str()))
                .filter(point_lots::customer_id.eq(customer_id.as_str()))
                .filter(point_lots::remaining.ne(0))
                .select(LotRow::as_select())
                .order(point_lots::id.asc()),
            LotRow::into_domain,
        )
    }

    fn lots_by_id(&mut self, tenant: &TenantId, ids: &[LotId]) -> Result<Vec<Lot>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        all_records(
            self.conn,
            point_lots::table
                .filter(point_lots::tenant_id.eq(tenant.as_str()))
                .filter(point_lots::id.eq_any(ids.iter().map(LotId::as_str)))
                .select(LotRow::as_select()),
            LotRow::into_domain,
        )
    }

    fn insert_lot(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        lot: &Lot,
    ) -> Result<(), StoreError> {
        diesel::insert_into(point_lots::table)
            .values(CustomerLotRow {
                tenant_id: tenant.as_str(),
                customer_id: customer_id.as_str(),
                lot: LotRow::from_domain(lot),
            })
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn insert_lots(
        &mut self,
        tenant: &TenantId,
        lots: &[(CustomerId, Lot)],
    ) -> Result<(), StoreError> {
        for chunk in lots.chunks(LOTS_PER_STATEMENT) {
            let rows: Vec<CustomerLotRow> = chunk
                .iter()
                .map(|(customer_id, lot)| CustomerLotRow {
                    tenant_id: tenant.as_str(),
                    customer_id: customer_id.as_str(),
                    lot: LotRow::from_domain(lot),
                })
                .collect();
            // A multi-row insert needs the backend's own connection.
            db_run!(self.conn, |inner| diesel::insert_into(point_lots::table)
                .values(&rows)
                .execute(inner))
            .map_err(store_error)?;
        }
        Ok(())
    }

    fn update_lot(&mut self, tenant: &TenantId, lot: &Lot) -> Result<(), StoreError> {
        diesel::update(point_lots::table.find((tenant.as_str(), lot.id.as_str())))
            .set(point_lots::remaining.eq(lot.remaining))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn insert_draws(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
        draws: &[Draw],
    ) -> Result<(), StoreError> {
        for draw in draws {
            diesel::insert_into(lot_draws::table)
                .values(EntryDrawRow {
                    tenant_id: tenant.as_str(),
                    entry_id: entry_id.as_str(),
                    draw: DrawRow::from_domain(draw),
                })
                .execute(self.conn)
                .map_err(store_error)?;
        }
        Ok(())
    }

    fn draws_of(
        &mut self,
        tenant: &TenantId,
        entry_id: &LedgerEntryId,
    ) -> Result<Vec<Draw>, StoreError> {
        let rows = lot_draws::table
            .filter(lot_draws::tenant_id.eq(tenant.as_str()))
            .filter(lot_draws::entry_id.eq(entry_id.as_str()))
            .select(DrawRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        Ok(rows.into_iter().map(DrawRow::into_domain).collect())
    }

    fn customers_with_expiring_points(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
        skipping: &[CustomerId],
    ) -> Result<Vec<(TenantId, CustomerId)>, StoreError> {
        let rows: Vec<(String, String)> = point_lots::table
            .filter(point_lots::remaining.gt(0))
            .filter(point_lots::expires_at.le(naive(now)))
            .filter(point_lots::customer_id.ne_all(skipping.iter().map(CustomerId::as_str)))
            .select((point_lots::tenant_id, point_lots::customer_id))
            .distinct()
            .limit(limit)
            .load(self.conn)
            .map_err(store_error)?;
        tenant_pairs(rows, CustomerId::from_stored)
    }
}

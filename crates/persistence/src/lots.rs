//! Point lots and the draws refunds use, on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::lots::{Draw, Lot};
use loyalty_domain::store::LotRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::rows::{convert_all, naive, tenant_id};
use crate::schema::{lot_draws, point_lots};
use crate::transaction::{Tx, store_error};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = point_lots)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct LotRow {
    tenant_id: String,
    id: String,
    customer_id: String,
    source_entry_id: String,
    earned_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    remaining: i64,
}

impl LotRow {
    fn into_domain(self) -> Result<Lot, PersistenceError> {
        Ok(Lot {
            id: self.id,
            source_entry_id: self.source_entry_id,
            earned_at: self.earned_at.and_utc(),
            expires_at: self.expires_at.map(|at| at.and_utc()),
            remaining: self.remaining,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = lot_draws)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct DrawRow {
    tenant_id: String,
    entry_id: String,
    lot_id: String,
    points: i64,
}

impl LotRecords for Tx<'_> {
    fn open_lots(&mut self, tenant: &TenantId, customer_id: &str) -> Result<Vec<Lot>, StoreError> {
        let rows = point_lots::table
            .filter(point_lots::tenant_id.eq(tenant.as_str()))
            .filter(point_lots::customer_id.eq(customer_id))
            .filter(point_lots::remaining.ne(0))
            .select(LotRow::as_select())
            .order(point_lots::id.asc())
            .load(self.conn)
            .map_err(store_error)?;
        convert_all(rows, LotRow::into_domain)
    }

    fn lots_by_id(&mut self, tenant: &TenantId, ids: &[String]) -> Result<Vec<Lot>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = point_lots::table
            .filter(point_lots::tenant_id.eq(tenant.as_str()))
            .filter(point_lots::id.eq_any(ids))
            .select(LotRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        convert_all(rows, LotRow::into_domain)
    }

    fn insert_lot(
        &mut self,
        tenant: &TenantId,
        customer_id: &str,
        lot: &Lot,
    ) -> Result<(), StoreError> {
        diesel::insert_into(point_lots::table)
            .values(LotRow {
                tenant_id: tenant.to_string(),
                id: lot.id.clone(),
                customer_id: customer_id.to_owned(),
                source_entry_id: lot.source_entry_id.clone(),
                earned_at: naive(lot.earned_at),
                expires_at: lot.expires_at.map(naive),
                remaining: lot.remaining,
            })
            .execute(self.conn)
            .map_err(store_error)?;
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
        entry_id: &str,
        draws: &[Draw],
    ) -> Result<(), StoreError> {
        let rows: Vec<DrawRow> = draws
            .iter()
            .map(|draw| DrawRow {
                tenant_id: tenant.to_string(),
                entry_id: entry_id.to_owned(),
                lot_id: draw.lot_id.clone(),
                points: draw.points,
            })
            .collect();
        for row in rows {
            diesel::insert_into(lot_draws::table)
                .values(row)
                .execute(self.conn)
                .map_err(store_error)?;
        }
        Ok(())
    }

    fn draws_of(&mut self, tenant: &TenantId, entry_id: &str) -> Result<Vec<Draw>, StoreError> {
        let rows = lot_draws::table
            .filter(lot_draws::tenant_id.eq(tenant.as_str()))
            .filter(lot_draws::entry_id.eq(entry_id))
            .select(DrawRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|row| Draw {
                lot_id: row.lot_id,
                points: row.points,
            })
            .collect())
    }

    fn customers_with_expiring_points(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, String)>, StoreError> {
        let rows: Vec<(String, String)> = point_lots::table
            .filter(point_lots::remaining.gt(0))
            .filter(point_lots::expires_at.le(naive(now)))
            .select((point_lots::tenant_id, point_lots::customer_id))
            .distinct()
            .limit(limit)
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(tenant, customer)| Ok((tenant_id(&tenant)?, customer)))
            .collect::<Result<_, PersistenceError>>()
            .map_err(StoreError::from)
    }
}

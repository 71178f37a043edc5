//! Programs on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::program::{Program, SpendRule};
use loyalty_domain::store::ProgramRecords;
use loyalty_domain::tenant::TenantId;

use crate::rows::{corrupt, naive};
use crate::schema::programs;
use crate::transaction::{Tx, store_error};
use crate::{DbConnection, PersistenceError};

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = programs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct ProgramRow {
    tenant_id: String,
    visits_per_reward: i64,
    points_per_visit: i64,
    spend_points: i64,
    spend_per_amount_minor: i64,
    min_purchase_minor: i64,
    min_minutes_between_visits: i64,
    updated_at: NaiveDateTime,
    milestone_reward_id: Option<String>,
    refund_expired_vouchers: bool,
    tiers: String,
    points_expire_after_days: Option<i64>,
}

impl ProgramRecords for Tx<'_> {
    fn program(&mut self, tenant: &TenantId) -> Result<Option<Program>, StoreError> {
        let row = programs::table
            .find(tenant.as_str())
            .select(ProgramRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        let row = row
            .map(|row| {
                let tiers =
                    serde_json::from_str(&row.tiers).map_err(|e| corrupt("program tiers", e))?;
                Ok::<_, PersistenceError>((row, tiers))
            })
            .transpose()?;
        Ok(row.map(|(row, tiers)| Program {
            visits_per_reward: row.visits_per_reward,
            points_per_visit: row.points_per_visit,
            spend_rule: SpendRule {
                points: row.spend_points,
                per_amount_minor: row.spend_per_amount_minor,
            },
            min_purchase_minor: row.min_purchase_minor,
            min_minutes_between_visits: row.min_minutes_between_visits,
            milestone_reward_id: row.milestone_reward_id,
            refund_expired_vouchers: row.refund_expired_vouchers,
            tiers,
            points_expire_after_days: row.points_expire_after_days,
        }))
    }

    fn save_program(
        &mut self,
        tenant: &TenantId,
        program: &Program,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = ProgramRow {
            tenant_id: tenant.to_string(),
            visits_per_reward: program.visits_per_reward,
            points_per_visit: program.points_per_visit,
            spend_points: program.spend_rule.points,
            spend_per_amount_minor: program.spend_rule.per_amount_minor,
            min_purchase_minor: program.min_purchase_minor,
            min_minutes_between_visits: program.min_minutes_between_visits,
            updated_at: naive(at),
            milestone_reward_id: program.milestone_reward_id.clone(),
            refund_expired_vouchers: program.refund_expired_vouchers,
            tiers: serde_json::to_string(&program.tiers)
                .map_err(|e| corrupt("program tiers", e))?,
            points_expire_after_days: program.points_expire_after_days,
        };
        let upsert = diesel::insert_into(programs::table).values(&row);
        // An upsert is ON CONFLICT, which MultiConnection cannot express: one statement per backend.
        match &mut *self.conn {
            DbConnection::Postgres(pg) => upsert
                .on_conflict(programs::tenant_id)
                .do_update()
                .set(&row)
                .execute(pg),
            DbConnection::Sqlite(sqlite) => upsert
                .on_conflict(programs::tenant_id)
                .do_update()
                .set(&row)
                .execute(sqlite),
        }
        .map_err(store_error)?;
        Ok(())
    }
}

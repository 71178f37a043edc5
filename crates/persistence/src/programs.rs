//! Programs on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::ids::RewardId;
use loyalty_domain::program::{Program, SpendRule};
use loyalty_domain::store::ProgramRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{corrupt, naive};
use crate::schema::programs;
use crate::transaction::{Tx, store_error};

/// A program as the domain reads it; the tenant is the query's key.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = programs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ProgramRow {
    visits_per_reward: i64,
    points_per_visit: i64,
    spend_points: i64,
    spend_per_amount_minor: i64,
    min_purchase_minor: i64,
    min_minutes_between_visits: i64,
    milestone_reward_id: Option<String>,
    refund_expired_vouchers: bool,
    tiers: String,
    points_expire_after_days: Option<i64>,
}

/// A program as written: the whole row, on insert and on the upsert's update. Tiers are stored
/// as JSON text, which is made here.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = programs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct NewProgramRow<'a> {
    tenant_id: &'a str,
    visits_per_reward: i64,
    points_per_visit: i64,
    spend_points: i64,
    spend_per_amount_minor: i64,
    min_purchase_minor: i64,
    min_minutes_between_visits: i64,
    updated_at: NaiveDateTime,
    milestone_reward_id: Option<&'a str>,
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
            milestone_reward_id: row.milestone_reward_id.map(RewardId::from_stored),
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
        let row = NewProgramRow {
            tenant_id: tenant.as_str(),
            visits_per_reward: program.visits_per_reward,
            points_per_visit: program.points_per_visit,
            spend_points: program.spend_rule.points,
            spend_per_amount_minor: program.spend_rule.per_amount_minor,
            min_purchase_minor: program.min_purchase_minor,
            min_minutes_between_visits: program.min_minutes_between_visits,
            updated_at: naive(at),
            milestone_reward_id: program.milestone_reward_id.as_ref().map(RewardId::as_str),
            refund_expired_vouchers: program.refund_expired_vouchers,
            tiers: serde_json::to_string(&program.tiers)
                .map_err(|e| corrupt("program tiers", e))?,
            points_expire_after_days: program.points_expire_after_days,
        };
        // An upsert: ON CONFLICT, which MultiConnection cannot express.
        let upsert = diesel::insert_into(programs::table)
            .values(&row)
            .on_conflict(programs::tenant_id)
            .do_update()
            .set(&row);
        db_run!(self.conn, |conn| upsert.execute(conn)).map_err(store_error)?;
        Ok(())
    }
}

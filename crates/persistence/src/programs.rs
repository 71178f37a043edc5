//! Programs on diesel.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::ids::RewardId;
use loyalty_domain::program::{Program, SpendRule};
use loyalty_domain::store::ProgramRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{corrupt, first_record, naive};
use crate::schema::programs;
use crate::transaction::{Tx, store_error};

/// A program as the domain reads and writes it: every column but the tenant (the query's key) and
/// the time of the last save. Reading yields owned text; writing borrows it from the domain record,
/// except the tiers, which are stored as JSON text made here.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = programs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct ProgramRow<'a> {
    visits_per_reward: i64,
    points_per_visit: i64,
    spend_points: i64,
    spend_per_amount_minor: i64,
    min_purchase_minor: i64,
    min_minutes_between_visits: i64,
    milestone_reward_id: Option<Cow<'a, str>>,
    refund_expired_vouchers: bool,
    tiers: Cow<'a, str>,
    points_expire_after_days: Option<i64>,
    max_purchase_minor: i64,
}

impl<'a> ProgramRow<'a> {
    fn from_domain(program: &'a Program) -> Result<Self, PersistenceError> {
        Ok(Self {
            visits_per_reward: program.visits_per_reward,
            points_per_visit: program.points_per_visit,
            spend_points: program.spend_rule.points,
            spend_per_amount_minor: program.spend_rule.per_amount_minor,
            min_purchase_minor: program.min_purchase_minor,
            min_minutes_between_visits: program.min_minutes_between_visits,
            milestone_reward_id: program
                .milestone_reward_id
                .as_ref()
                .map(|id| Cow::Borrowed(id.as_str())),
            refund_expired_vouchers: program.refund_expired_vouchers,
            tiers: Cow::Owned(
                serde_json::to_string(&program.tiers).map_err(|e| corrupt("program tiers", e))?,
            ),
            points_expire_after_days: program.points_expire_after_days,
            max_purchase_minor: program.max_purchase_minor,
        })
    }

    fn into_domain(self) -> Result<Program, PersistenceError> {
        Ok(Program {
            tiers: serde_json::from_str(&self.tiers).map_err(|e| corrupt("program tiers", e))?,
            visits_per_reward: self.visits_per_reward,
            points_per_visit: self.points_per_visit,
            spend_rule: SpendRule {
                points: self.spend_points,
                per_amount_minor: self.spend_per_amount_minor,
            },
            min_purchase_minor: self.min_purchase_minor,
            max_purchase_minor: self.max_purchase_minor,
            min_minutes_between_visits: self.min_minutes_between_visits,
            milestone_reward_id: self
                .milestone_reward_id
                .map(|id| RewardId::from_stored(id.into_owned())),
            refund_expired_vouchers: self.refund_expired_vouchers,
            points_expire_after_days: self.points_expire_after_days,
        })
    }
}

/// A program as saved: the whole row, on insert and on the upsert's update.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = programs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct SavedProgramRow<'a> {
    tenant_id: &'a str,
    #[diesel(embed)]
    program: ProgramRow<'a>,
    updated_at: NaiveDateTime,
}

impl ProgramRecords for Tx<'_> {
    fn program(&mut self, tenant: &TenantId) -> Result<Option<Program>, StoreError> {
        first_record(
            self.conn,
            programs::table
                .find(tenant.as_str())
                .select(ProgramRow::as_select()),
            ProgramRow::into_domain,
        )
    }

    fn save_program(
        &mut self,
        tenant: &TenantId,
        program: &Program,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = SavedProgramRow {
            tenant_id: tenant.as_str(),
            program: ProgramRow::from_domain(program)?,
            updated_at: naive(at),
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

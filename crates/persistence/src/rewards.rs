//! Rewards and their vouchers (redemptions) on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::page::PageRequest;
use loyalty_domain::redemption::{Redemption, RedemptionStatus};
use loyalty_domain::rewards::Reward;
use loyalty_domain::store::{RedemptionFilter, RedemptionRecords, RewardRecords, VoucherLookup};
use loyalty_domain::tenant::TenantId;

use crate::rows::{convert_all, convert_one, naive, parse_text, tenant_id};
use crate::schema::{redemptions, rewards};
use crate::transaction::{Tx, store_error};
use crate::{DbConnection, PersistenceError};

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rewards)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct RewardRow {
    tenant_id: String,
    id: String,
    name: String,
    description: Option<String>,
    cost_points: i64,
    active: bool,
    stock: Option<i64>,
    valid_days: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl RewardRow {
    fn from_domain(reward: &Reward) -> Self {
        Self {
            tenant_id: reward.tenant_id.to_string(),
            id: reward.id.clone(),
            name: reward.name.clone(),
            description: reward.description.clone(),
            cost_points: reward.cost_points,
            active: reward.active,
            stock: reward.stock,
            valid_days: reward.valid_days,
            created_at: naive(reward.created_at),
            updated_at: naive(reward.updated_at),
        }
    }

    fn into_domain(self) -> Result<Reward, PersistenceError> {
        Ok(Reward {
            tenant_id: tenant_id(&self.tenant_id)?,
            id: self.id,
            name: self.name,
            description: self.description,
            cost_points: self.cost_points,
            active: self.active,
            stock: self.stock,
            valid_days: self.valid_days,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = redemptions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct RedemptionRow {
    tenant_id: String,
    id: String,
    customer_id: String,
    reward_id: String,
    reward_name: String,
    status: String,
    code: String,
    qr_payload: String,
    points_spent: i64,
    milestone_visit_number: Option<i64>,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
    closed_at: Option<NaiveDateTime>,
}

impl RedemptionRow {
    fn from_domain(r: &Redemption) -> Self {
        Self {
            tenant_id: r.tenant_id.to_string(),
            id: r.id.clone(),
            customer_id: r.customer_id.clone(),
            reward_id: r.reward_id.clone(),
            reward_name: r.reward_name.clone(),
            status: r.status.as_str().to_owned(),
            code: r.code.clone(),
            qr_payload: r.qr_payload.clone(),
            points_spent: r.points_spent,
            milestone_visit_number: r.milestone_visit_number,
            expires_at: naive(r.expires_at),
            created_at: naive(r.created_at),
            closed_at: r.closed_at.map(naive),
        }
    }

    fn into_domain(self) -> Result<Redemption, PersistenceError> {
        Ok(Redemption {
            tenant_id: tenant_id(&self.tenant_id)?,
            status: parse_text("redemption status", &self.status, RedemptionStatus::parse)?,
            id: self.id,
            customer_id: self.customer_id,
            reward_id: self.reward_id,
            reward_name: self.reward_name,
            code: self.code,
            qr_payload: self.qr_payload,
            points_spent: self.points_spent,
            milestone_visit_number: self.milestone_visit_number,
            expires_at: self.expires_at.and_utc(),
            created_at: self.created_at.and_utc(),
            closed_at: self.closed_at.map(|at| at.and_utc()),
        })
    }
}

impl RewardRecords for Tx<'_> {
    fn insert_reward(&mut self, reward: &Reward) -> Result<(), StoreError> {
        diesel::insert_into(rewards::table)
            .values(RewardRow::from_domain(reward))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn reward(&mut self, tenant: &TenantId, id: &str) -> Result<Option<Reward>, StoreError> {
        let row = rewards::table
            .find((tenant.as_str(), id))
            .select(RewardRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        convert_one(row, RewardRow::into_domain)
    }

    fn reward_for_update(
        &mut self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Reward>, StoreError> {
        let key = rewards::table.find((tenant.as_str(), id));
        // FOR UPDATE is Postgres-only; a SQLite unit of work already holds the write lock.
        let row = match &mut *self.conn {
            DbConnection::Postgres(pg) => key
                .select(RewardRow::as_select())
                .for_update()
                .first(pg)
                .optional(),
            DbConnection::Sqlite(sqlite) => {
                key.select(RewardRow::as_select()).first(sqlite).optional()
            }
        }
        .map_err(store_error)?;
        convert_one(row, RewardRow::into_domain)
    }

    fn rewards(
        &mut self,
        tenant: &TenantId,
        active: Option<bool>,
        page: &PageRequest,
    ) -> Result<Vec<Reward>, StoreError> {
        let mut query = rewards::table
            .filter(rewards::tenant_id.eq(tenant.as_str()))
            .select(RewardRow::as_select())
            .order(rewards::id.asc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(active) = active {
            query = query.filter(rewards::active.eq(active));
        }
        if let Some(after) = &page.after {
            query = query.filter(rewards::id.gt(after.clone()));
        }
        convert_all(
            query.load(self.conn).map_err(store_error)?,
            RewardRow::into_domain,
        )
    }

    fn update_reward(&mut self, reward: &Reward) -> Result<(), StoreError> {
        diesel::update(rewards::table.find((reward.tenant_id.as_str(), reward.id.as_str())))
            .set(RewardRow::from_domain(reward))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }
}

impl RedemptionRecords for Tx<'_> {
    fn insert_redemption(&mut self, redemption: &Redemption) -> Result<(), StoreError> {
        diesel::insert_into(redemptions::table)
            .values(RedemptionRow::from_domain(redemption))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn redemption(
        &mut self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Redemption>, StoreError> {
        let row = redemptions::table
            .find((tenant.as_str(), id))
            .select(RedemptionRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        convert_one(row, RedemptionRow::into_domain)
    }

    fn redemption_for_update(
        &mut self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Redemption>, StoreError> {
        let key = redemptions::table.find((tenant.as_str(), id));
        let row = match &mut *self.conn {
            DbConnection::Postgres(pg) => key
                .select(RedemptionRow::as_select())
                .for_update()
                .first(pg)
                .optional(),
            DbConnection::Sqlite(sqlite) => key
                .select(RedemptionRow::as_select())
                .first(sqlite)
                .optional(),
        }
        .map_err(store_error)?;
        convert_one(row, RedemptionRow::into_domain)
    }

    fn find_voucher(
        &mut self,
        tenant: &TenantId,
        lookup: &VoucherLookup,
    ) -> Result<Option<Redemption>, StoreError> {
        let query = redemptions::table
            .filter(redemptions::tenant_id.eq(tenant.as_str()))
            .select(RedemptionRow::as_select())
            .into_boxed();
        let query = match lookup {
            VoucherLookup::Code(code) => query.filter(redemptions::code.eq(code.clone())),
            VoucherLookup::QrPayload(qr) => query.filter(redemptions::qr_payload.eq(qr.clone())),
        };
        // A code may name several vouchers over time, but only after each closed: the newest
        // one is the live one if there is any.
        let row = query
            .order(redemptions::id.desc())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        convert_one(row, RedemptionRow::into_domain)
    }

    fn redemptions(
        &mut self,
        tenant: &TenantId,
        filter: &RedemptionFilter,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Vec<Redemption>, StoreError> {
        let mut query = redemptions::table
            .filter(redemptions::tenant_id.eq(tenant.as_str()))
            .select(RedemptionRow::as_select())
            .order(redemptions::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        let issued = RedemptionStatus::Issued.as_str();
        let now = naive(now);
        query = match filter.status {
            None => query,
            Some(RedemptionStatus::Issued) => query
                .filter(redemptions::status.eq(issued))
                .filter(redemptions::expires_at.gt(now)),
            Some(RedemptionStatus::Expired) => query.filter(
                redemptions::status
                    .eq(RedemptionStatus::Expired.as_str())
                    .or(redemptions::status
                        .eq(issued)
                        .and(redemptions::expires_at.le(now))),
            ),
            Some(status) => query.filter(redemptions::status.eq(status.as_str())),
        };
        if let Some(customer_id) = &filter.customer_id {
            query = query.filter(redemptions::customer_id.eq(customer_id.clone()));
        }
        if let Some(after) = &page.after {
            query = query.filter(redemptions::id.lt(after.clone()));
        }
        convert_all(
            query.load(self.conn).map_err(store_error)?,
            RedemptionRow::into_domain,
        )
    }

    fn live_vouchers(
        &mut self,
        tenant: &TenantId,
        customer_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Redemption>, StoreError> {
        let rows = redemptions::table
            .filter(redemptions::tenant_id.eq(tenant.as_str()))
            .filter(redemptions::customer_id.eq(customer_id))
            .filter(redemptions::status.eq(RedemptionStatus::Issued.as_str()))
            .filter(redemptions::expires_at.gt(naive(now)))
            .select(RedemptionRow::as_select())
            .order(redemptions::expires_at.asc())
            .load(self.conn)
            .map_err(store_error)?;
        convert_all(rows, RedemptionRow::into_domain)
    }

    fn overdue_vouchers(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, String)>, StoreError> {
        let rows: Vec<(String, String)> = redemptions::table
            .filter(redemptions::status.eq(RedemptionStatus::Issued.as_str()))
            .filter(redemptions::expires_at.le(naive(now)))
            .select((redemptions::tenant_id, redemptions::id))
            .order(redemptions::expires_at.asc())
            .limit(limit)
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(tenant, id)| Ok((tenant_id(&tenant)?, id)))
            .collect::<Result<_, PersistenceError>>()
            .map_err(StoreError::from)
    }

    fn update_redemption(&mut self, redemption: &Redemption) -> Result<(), StoreError> {
        diesel::update(
            redemptions::table.find((redemption.tenant_id.as_str(), redemption.id.as_str())),
        )
        .set(RedemptionRow::from_domain(redemption))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }
}

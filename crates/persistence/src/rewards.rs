//! Rewards and their vouchers (redemptions) on diesel.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::ids::{CustomerId, RewardId, VoucherId};
use loyalty_domain::page::PageRequest;
use loyalty_domain::rewards::Reward;
use loyalty_domain::store::{RewardRecords, VoucherFilter, VoucherLookup, VoucherRecords};
use loyalty_domain::tenant::TenantId;
use loyalty_domain::voucher::{Voucher, VoucherStatus};

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{
    all_records, convert_one, first_record, naive, parse_text, tenant_id, tenant_pairs,
};
use crate::schema::{redemptions, rewards};
use crate::transaction::{Tx, store_error};

/// A reward row: read whole, and written whole on insert and on update. Reading yields owned
/// text; writing borrows it from the domain record.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rewards)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct RewardRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    name: Cow<'a, str>,
    description: Option<Cow<'a, str>>,
    cost_points: i64,
    active: bool,
    stock: Option<i64>,
    valid_days: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> RewardRow<'a> {
    fn from_domain(reward: &'a Reward) -> Self {
        Self {
            tenant_id: Cow::Borrowed(reward.tenant_id.as_str()),
            id: Cow::Borrowed(reward.id.as_str()),
            name: Cow::Borrowed(&reward.name),
            description: reward.description.as_deref().map(Cow::Borrowed),
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
            id: RewardId::from_stored(self.id.into_owned()),
            name: self.name.into_owned(),
            description: self.description.map(Cow::into_owned),
            cost_points: self.cost_points,
            active: self.active,
            stock: self.stock,
            valid_days: self.valid_days,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

/// A voucher row: read whole, and written whole on insert and on update. Reading yields owned
/// text; writing borrows it from the domain record.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = redemptions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct VoucherRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    customer_id: Cow<'a, str>,
    reward_id: Cow<'a, str>,
    reward_name: Cow<'a, str>,
    status: Cow<'a, str>,
    code: Cow<'a, str>,
    qr_payload: Cow<'a, str>,
    points_spent: i64,
    milestone_visit_number: Option<i64>,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
    closed_at: Option<NaiveDateTime>,
    fulfilled_by_key_id: Option<Cow<'a, str>>,
}

impl<'a> VoucherRow<'a> {
    fn from_domain(voucher: &'a Voucher) -> Self {
        Self {
            tenant_id: Cow::Borrowed(voucher.tenant_id.as_str()),
            id: Cow::Borrowed(voucher.id.as_str()),
            customer_id: Cow::Borrowed(voucher.customer_id.as_str()),
            reward_id: Cow::Borrowed(voucher.reward_id.as_str()),
            reward_name: Cow::Borrowed(&voucher.reward_name),
            status: Cow::Borrowed(voucher.status.as_str()),
            code: Cow::Borrowed(&voucher.code),
            qr_payload: Cow::Borrowed(&voucher.qr_payload),
            points_spent: voucher.points_spent,
            milestone_visit_number: voucher.milestone_visit_number,
            expires_at: naive(voucher.expires_at),
            created_at: naive(voucher.created_at),
            closed_at: voucher.closed_at.map(naive),
            fulfilled_by_key_id: voucher.fulfilled_by_key_id.as_deref().map(Cow::Borrowed),
        }
    }

    fn into_domain(self) -> Result<Voucher, PersistenceError> {
        Ok(Voucher {
            tenant_id: tenant_id(&self.tenant_id)?,
            status: parse_text("redemption status", &self.status, VoucherStatus::parse)?,
            id: VoucherId::from_stored(self.id.into_owned()),
            customer_id: CustomerId::from_stored(self.customer_id.into_owned()),
            reward_id: RewardId::from_stored(self.reward_id.into_owned()),
            reward_name: self.reward_name.into_owned(),
            code: self.code.into_owned(),
            qr_payload: self.qr_payload.into_owned(),
            points_spent: self.points_spent,
            milestone_visit_number: self.milestone_visit_number,
            expires_at: self.expires_at.and_utc(),
            created_at: self.created_at.and_utc(),
            closed_at: self.closed_at.map(|at| at.and_utc()),
            fulfilled_by_key_id: self.fulfilled_by_key_id.map(Cow::into_owned),
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

    fn reward(&mut self, tenant: &TenantId, id: &RewardId) -> Result<Option<Reward>, StoreError> {
        first_record(
            self.conn,
            rewards::table
                .find((tenant.as_str(), id.as_str()))
                .select(RewardRow::as_select()),
            RewardRow::into_domain,
        )
    }

    fn reward_for_update(
        &mut self,
        tenant: &TenantId,
        id: &RewardId,
    ) -> Result<Option<Reward>, StoreError> {
        let key = rewards::table.find((tenant.as_str(), id.as_str()));
        let row = db_run!(self.conn, first_for_update(key, RewardRow)).map_err(store_error)?;
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
            query = query.filter(rewards::id.gt(after.as_str()));
        }
        all_records(self.conn, query, RewardRow::into_domain)
    }

    fn update_reward(&mut self, reward: &Reward) -> Result<(), StoreError> {
        diesel::update(rewards::table.find((reward.tenant_id.as_str(), reward.id.as_str())))
            .set(RewardRow::from_domain(reward))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }
}

impl VoucherRecords for Tx<'_> {
    fn insert_voucher(&mut self, voucher: &Voucher) -> Result<(), StoreError> {
        diesel::insert_into(redemptions::table)
            .values(VoucherRow::from_domain(voucher))
            .execute(self.conn)
            .map_err(store_error)?;
        self.written.vouchers.push(voucher.status);
        Ok(())
    }

    fn voucher(
        &mut self,
        tenant: &TenantId,
        id: &VoucherId,
    ) -> Result<Option<Voucher>, StoreError> {
        first_record(
            self.conn,
            redemptions::table
                .find((tenant.as_str(), id.as_str()))
                .select(VoucherRow::as_select()),
            VoucherRow::into_domain,
        )
    }

    fn voucher_for_update(
        &mut self,
        tenant: &TenantId,
        id: &VoucherId,
    ) -> Result<Option<Voucher>, StoreError> {
        let key = redemptions::table.find((tenant.as_str(), id.as_str()));
        let row = db_run!(self.conn, first_for_update(key, VoucherRow)).map_err(store_error)?;
        convert_one(row, VoucherRow::into_domain)
    }

    fn find_voucher(
        &mut self,
        tenant: &TenantId,
        lookup: &VoucherLookup,
    ) -> Result<Option<Voucher>, StoreError> {
        let query = redemptions::table
            .filter(redemptions::tenant_id.eq(tenant.as_str()))
            .select(VoucherRow::as_select())
            .into_boxed();
        let query = match lookup {
            VoucherLookup::Code(code) => query.filter(redemptions::code.eq(code.as_str())),
            VoucherLookup::QrPayload(qr) => query.filter(redemptions::qr_payload.eq(qr.as_str())),
        };
        // A code may name several vouchers over time, but only after each closed: the newest
        // one is the live one if there is any.
        first_record(
            self.conn,
            query.order(redemptions::id.desc()),
            VoucherRow::into_domain,
        )
    }

    fn vouchers(
        &mut self,
        tenant: &TenantId,
        filter: &VoucherFilter,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Vec<Voucher>, StoreError> {
        let mut query = redemptions::table
            .filter(redemptions::tenant_id.eq(tenant.as_str()))
            .select(VoucherRow::as_select())
            .order(redemptions::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        let issued = VoucherStatus::Issued.as_str();
        let now = naive(now);
        query = match filter.status {
            None => query,
            Some(VoucherStatus::Issued) => query
                .filter(redemptions::status.eq(issued))
                .filter(redemptions::expires_at.gt(now)),
            Some(VoucherStatus::Expired) => query.filter(
                redemptions::status
                    .eq(VoucherStatus::Expired.as_str())
                    .or(redemptions::status
                        .eq(issued)
                        .and(redemptions::expires_at.le(now))),
            ),
            Some(status) => query.filter(redemptions::status.eq(status.as_str())),
        };
        if let Some(customer_id) = &filter.customer_id {
            query = query.filter(redemptions::customer_id.eq(customer_id.as_str()));
        }
        if let Some(after) = &page.after {
            query = query.filter(redemptions::id.lt(after.as_str()));
        }
        all_records(self.conn, query, VoucherRow::into_domain)
    }

    fn live_vouchers(
        &mut self,
        tenant: &TenantId,
        customer_id: &CustomerId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Voucher>, StoreError> {
        // Served by the partial index redemptions_live_idx: only live rows, in expiry order.
        all_records(
            self.conn,
            redemptions::table
                .filter(redemptions::tenant_id.eq(tenant.as_str()))
                .filter(redemptions::customer_id.eq(customer_id.as_str()))
                .filter(redemptions::status.eq(VoucherStatus::Issued.as_str()))
                .filter(redemptions::expires_at.gt(naive(now)))
                .select(VoucherRow::as_select())
                .order(redemptions::expires_at.asc())
                .limit(limit),
            VoucherRow::into_domain,
        )
    }

    fn overdue_vouchers(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
        skipping: &[VoucherId],
    ) -> Result<Vec<(TenantId, VoucherId)>, StoreError> {
        let rows: Vec<(String, String)> = redemptions::table
            .filter(redemptions::status.eq(VoucherStatus::Issued.as_str()))
            .filter(redemptions::expires_at.le(naive(now)))
            .filter(redemptions::id.ne_all(skipping.iter().map(VoucherId::as_str)))
            .select((redemptions::tenant_id, redemptions::id))
            .order(redemptions::expires_at.asc())
            .limit(limit)
            .load(self.conn)
            .map_err(store_error)?;
        tenant_pairs(rows, VoucherId::from_stored)
    }

    fn update_voucher(&mut self, voucher: &Voucher) -> Result<(), StoreError> {
        diesel::update(redemptions::table.find((voucher.tenant_id.as_str(), voucher.id.as_str())))
            .set(VoucherRow::from_domain(voucher))
            .execute(self.conn)
            .map_err(store_error)?;
        self.written.vouchers.push(voucher.status);
        Ok(())
    }
}

//! Tenants on diesel: the public directory, and the records use cases change.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::local_time::TimeZone;
use loyalty_domain::money::{Country, Currency};
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::TenantRecords;
use loyalty_domain::tenant::{
    HostCandidates, LoyaltyType, Tenant, TenantDirectory, TenantId, Vertical,
};

use crate::backend::db_run;
use crate::rows::{all_records, convert_all, convert_one, corrupt, naive, parse_text, tenant_id};
use crate::schema::tenants;
use crate::transaction::{Tx, store_error};
use crate::{Database, DbConnection, PersistenceError};

/// A tenant row: read whole, and written whole on insert and on update. Reading yields owned
/// text; writing borrows it from the domain record, except features and branding, which are
/// stored as JSON text made here.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct TenantRow<'a> {
    id: Cow<'a, str>,
    name: Cow<'a, str>,
    vertical: Cow<'a, str>,
    loyalty_type: Cow<'a, str>,
    country: Cow<'a, str>,
    currency: Cow<'a, str>,
    time_zone: Cow<'a, str>,
    primary_domain: Option<Cow<'a, str>>,
    subdomain: Option<Cow<'a, str>>,
    features: Cow<'a, str>,
    branding: Cow<'a, str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> TenantRow<'a> {
    fn from_domain(tenant: &'a Tenant) -> Result<Self, PersistenceError> {
        Ok(Self {
            id: Cow::Borrowed(tenant.id.as_str()),
            name: Cow::Borrowed(&tenant.name),
            vertical: Cow::Borrowed(tenant.vertical.as_str()),
            loyalty_type: Cow::Borrowed(tenant.loyalty_type.as_str()),
            country: Cow::Borrowed(tenant.country.as_str()),
            currency: Cow::Borrowed(tenant.currency.as_str()),
            time_zone: Cow::Borrowed(tenant.time_zone.name()),
            primary_domain: tenant.primary_domain.as_deref().map(Cow::Borrowed),
            subdomain: tenant.subdomain.as_deref().map(Cow::Borrowed),
            features: Cow::Owned(
                serde_json::to_string(&tenant.features)
                    .map_err(|e| corrupt("tenant features", e))?,
            ),
            branding: Cow::Owned(
                serde_json::to_string(&tenant.branding)
                    .map_err(|e| corrupt("tenant branding", e))?,
            ),
            created_at: naive(tenant.created_at),
            updated_at: naive(tenant.updated_at),
        })
    }

    fn into_domain(self) -> Result<Tenant, PersistenceError> {
        Ok(Tenant {
            id: tenant_id(&self.id)?,
            vertical: parse_text("tenant vertical", &self.vertical, Vertical::parse)?,
            loyalty_type: parse_text(
                "tenant loyalty type",
                &self.loyalty_type,
                LoyaltyType::parse,
            )?,
            country: Country::parse(&self.country).map_err(|e| corrupt("tenant country", e))?,
            currency: Currency::parse(&self.currency).map_err(|e| corrupt("tenant currency", e))?,
            time_zone: TimeZone::parse(&self.time_zone)
                .map_err(|e| corrupt("tenant time zone", e))?,
            features: serde_json::from_str(&self.features)
                .map_err(|e| corrupt("tenant features", e))?,
            branding: serde_json::from_str(&self.branding)
                .map_err(|e| corrupt("tenant branding", e))?,
            name: self.name.into_owned(),
            primary_domain: self.primary_domain.map(Cow::into_owned),
            subdomain: self.subdomain.map(Cow::into_owned),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

fn find(conn: &mut DbConnection, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
    let row = tenants::table
        .find(id.as_str())
        .select(TenantRow::as_select())
        .first(conn)
        .optional()
        .map_err(store_error)?;
    convert_one(row, TenantRow::into_domain)
}

impl TenantDirectory for Database {
    fn find_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.lone_statement(|conn| find(conn, id))
    }

    fn find_by_host(&self, hosts: &HostCandidates) -> Result<Vec<Tenant>, StoreError> {
        let rows = self.lone_statement(|conn| {
            tenants::table
                .filter(
                    tenants::primary_domain
                        .eq_any(hosts.domains())
                        .or(tenants::subdomain.eq_any(hosts.subdomains())),
                )
                .select(TenantRow::as_select())
                .load(conn)
                .map_err(store_error)
        })?;
        convert_all(rows, TenantRow::into_domain)
    }

    fn insert_if_absent(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let row = TenantRow::from_domain(tenant)?;
        let inserted = self.lone_statement(|conn| {
            let insert = diesel::insert_into(tenants::table)
                .values(&row)
                .on_conflict_do_nothing();
            db_run!(conn, |conn| insert.execute(conn)).map_err(store_error)
        })?;
        Ok(inserted == 1)
    }
}

impl TenantRecords for Tx<'_> {
    fn tenant(&mut self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        find(self.conn, id)
    }

    fn tenant_for_update(&mut self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let key = tenants::table.find(id.as_str());
        let row = db_run!(self.conn, first_for_update(key, TenantRow)).map_err(store_error)?;
        convert_one(row, TenantRow::into_domain)
    }

    fn tenant_with_domain(&mut self, domain: &str) -> Result<Option<TenantId>, StoreError> {
        let id: Option<String> = tenants::table
            .filter(tenants::primary_domain.eq(domain))
            .select(tenants::id)
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        Ok(id.map(|id| tenant_id(&id)).transpose()?)
    }

    fn tenant_with_subdomain(&mut self, subdomain: &str) -> Result<Option<TenantId>, StoreError> {
        let id: Option<String> = tenants::table
            .filter(tenants::subdomain.eq(subdomain))
            .select(tenants::id)
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        Ok(id.map(|id| tenant_id(&id)).transpose()?)
    }

    fn insert_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError> {
        diesel::insert_into(tenants::table)
            .values(TenantRow::from_domain(tenant)?)
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn update_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError> {
        diesel::update(tenants::table.find(tenant.id.as_str()))
            .set(TenantRow::from_domain(tenant)?)
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn tenants(&mut self, page: &PageRequest) -> Result<Vec<Tenant>, StoreError> {
        let mut query = tenants::table
            .select(TenantRow::as_select())
            .order(tenants::id.asc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(tenants::id.gt(after.as_str()));
        }
        all_records(self.conn, query, TenantRow::into_domain)
    }
}

//! Tenants on diesel: the public directory, and the records use cases change.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::money::{Country, Currency};
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::TenantRecords;
use loyalty_domain::tenant::{
    HostCandidates, LoyaltyType, Tenant, TenantDirectory, TenantId, Vertical,
};

use crate::backend::db_run;
use crate::rows::{convert_all, convert_one, corrupt, naive, parse_text, tenant_id};
use crate::schema::tenants;
use crate::transaction::{Tx, store_error};
use crate::{Database, DbConnection, PersistenceError};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TenantRow {
    id: String,
    name: String,
    vertical: String,
    loyalty_type: String,
    country: String,
    currency: String,
    primary_domain: Option<String>,
    subdomain: Option<String>,
    features: String,
    branding: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TenantRow {
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
            features: serde_json::from_str(&self.features)
                .map_err(|e| corrupt("tenant features", e))?,
            branding: serde_json::from_str(&self.branding)
                .map_err(|e| corrupt("tenant branding", e))?,
            name: self.name,
            primary_domain: self.primary_domain,
            subdomain: self.subdomain,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

/// A tenant as written: the whole row, on insert and on update. Features and branding are
/// stored as JSON text, which is made here.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct NewTenantRow<'a> {
    id: &'a str,
    name: &'a str,
    vertical: &'static str,
    loyalty_type: &'static str,
    country: &'a str,
    currency: &'a str,
    primary_domain: Option<&'a str>,
    subdomain: Option<&'a str>,
    features: String,
    branding: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewTenantRow<'a> {
    fn from_domain(tenant: &'a Tenant) -> Result<Self, PersistenceError> {
        Ok(Self {
            id: tenant.id.as_str(),
            name: &tenant.name,
            vertical: tenant.vertical.as_str(),
            loyalty_type: tenant.loyalty_type.as_str(),
            country: tenant.country.as_str(),
            currency: tenant.currency.as_str(),
            primary_domain: tenant.primary_domain.as_deref(),
            subdomain: tenant.subdomain.as_deref(),
            features: serde_json::to_string(&tenant.features)
                .map_err(|e| corrupt("tenant features", e))?,
            branding: serde_json::to_string(&tenant.branding)
                .map_err(|e| corrupt("tenant branding", e))?,
            created_at: naive(tenant.created_at),
            updated_at: naive(tenant.updated_at),
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
        let mut conn = self.conn()?;
        find(&mut conn, id)
    }

    fn find_by_host(&self, hosts: &HostCandidates) -> Result<Vec<Tenant>, StoreError> {
        let rows = tenants::table
            .filter(
                tenants::primary_domain
                    .eq_any(hosts.domains())
                    .or(tenants::subdomain.eq_any(hosts.subdomains())),
            )
            .select(TenantRow::as_select())
            .load(&mut *self.conn()?)
            .map_err(store_error)?;
        convert_all(rows, TenantRow::into_domain)
    }

    fn insert_if_absent(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let insert = diesel::insert_into(tenants::table)
            .values(NewTenantRow::from_domain(tenant)?)
            .on_conflict_do_nothing();
        let inserted = db_run!(self.conn()?, |conn| insert.execute(conn)).map_err(store_error)?;
        Ok(inserted == 1)
    }
}

impl TenantRecords for Tx<'_> {
    fn tenant(&mut self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        find(self.conn, id)
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
            .values(NewTenantRow::from_domain(tenant)?)
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn update_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError> {
        diesel::update(tenants::table.find(tenant.id.as_str()))
            .set(NewTenantRow::from_domain(tenant)?)
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
        convert_all(
            query.load(self.conn).map_err(store_error)?,
            TenantRow::into_domain,
        )
    }
}

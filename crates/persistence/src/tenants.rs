//! The tenant directory on diesel.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::tenant::{
    HostCandidates, LoyaltyType, Tenant, TenantDirectory, TenantId, Vertical,
};

use crate::schema::tenants;
use crate::{Database, DbConnection, PersistenceError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TenantRow {
    id: String,
    name: String,
    vertical: String,
    loyalty_type: String,
    primary_domain: Option<String>,
    subdomain: Option<String>,
    features: String,
    branding: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
struct UnknownValue {
    kind: &'static str,
    value: String,
}

fn corrupt(
    what: &'static str,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> PersistenceError {
    move |source| PersistenceError::CorruptRow { what, source }
}

impl TenantRow {
    fn from_domain(tenant: &Tenant) -> Result<Self, PersistenceError> {
        Ok(Self {
            id: tenant.id.to_string(),
            name: tenant.name.clone(),
            vertical: tenant.vertical.as_str().to_owned(),
            loyalty_type: tenant.loyalty_type.as_str().to_owned(),
            primary_domain: tenant.primary_domain.clone(),
            subdomain: tenant.subdomain.clone(),
            features: serde_json::to_string(&tenant.features)
                .map_err(|e| corrupt("tenant features")(e.into()))?,
            branding: serde_json::to_string(&tenant.branding)
                .map_err(|e| corrupt("tenant branding")(e.into()))?,
            created_at: tenant.created_at.naive_utc(),
            updated_at: tenant.updated_at.naive_utc(),
        })
    }

    fn into_domain(self) -> Result<Tenant, PersistenceError> {
        let unknown = |kind, value: &str| {
            corrupt(kind)(Box::new(UnknownValue {
                kind,
                value: value.to_owned(),
            }))
        };
        Ok(Tenant {
            id: TenantId::parse(&self.id).map_err(|e| corrupt("tenant id")(e.into()))?,
            vertical: Vertical::parse(&self.vertical)
                .ok_or_else(|| unknown("tenant vertical", &self.vertical))?,
            loyalty_type: LoyaltyType::parse(&self.loyalty_type)
                .ok_or_else(|| unknown("tenant loyalty type", &self.loyalty_type))?,
            features: serde_json::from_str(&self.features)
                .map_err(|e| corrupt("tenant features")(e.into()))?,
            branding: serde_json::from_str(&self.branding)
                .map_err(|e| corrupt("tenant branding")(e.into()))?,
            name: self.name,
            primary_domain: self.primary_domain,
            subdomain: self.subdomain,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

impl Database {
    fn find_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, PersistenceError> {
        let row = tenants::table
            .find(id.as_str())
            .select(TenantRow::as_select())
            .first(&mut *self.conn()?)
            .optional()?;
        row.map(TenantRow::into_domain).transpose()
    }

    fn find_tenants_by_host(
        &self,
        hosts: &HostCandidates,
    ) -> Result<Vec<Tenant>, PersistenceError> {
        tenants::table
            .filter(
                tenants::primary_domain
                    .eq_any(hosts.domains())
                    .or(tenants::subdomain.eq_any(hosts.subdomains())),
            )
            .select(TenantRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(TenantRow::into_domain)
            .collect()
    }

    fn insert_tenant_if_absent(&self, tenant: &Tenant) -> Result<bool, PersistenceError> {
        let row = TenantRow::from_domain(tenant)?;
        let insert = diesel::insert_into(tenants::table).values(&row);
        // MultiConnection cannot express ON CONFLICT: each backend gets its own statement.
        let inserted = match &mut *self.conn()? {
            DbConnection::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.on_conflict_do_nothing().execute(sqlite)?,
        };
        Ok(inserted == 1)
    }
}

impl TenantDirectory for Database {
    fn find_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.find_tenant(id)?)
    }

    fn find_by_host(&self, hosts: &HostCandidates) -> Result<Vec<Tenant>, StoreError> {
        Ok(self.find_tenants_by_host(hosts)?)
    }

    fn insert_if_absent(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        Ok(self.insert_tenant_if_absent(tenant)?)
    }
}

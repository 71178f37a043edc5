//! API keys on diesel.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::auth::{ApiKey, Role};
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::KeyRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::rows::{convert_all, convert_one, naive, parse_text, tenant_id};
use crate::schema::api_keys;
use crate::transaction::{Tx, store_error};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct KeyRow {
    id: String,
    tenant_id: Option<String>,
    role: String,
    label: Option<String>,
    prefix: String,
    secret_hash: String,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

impl KeyRow {
    fn from_domain(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            tenant_id: key.tenant_id.as_ref().map(ToString::to_string),
            role: key.role.as_str().to_owned(),
            label: key.label.clone(),
            prefix: key.prefix.clone(),
            secret_hash: key.secret_hash.clone(),
            created_at: naive(key.created_at),
            revoked_at: key.revoked_at.map(naive),
        }
    }

    fn into_domain(self) -> Result<ApiKey, PersistenceError> {
        Ok(ApiKey {
            tenant_id: self.tenant_id.as_deref().map(tenant_id).transpose()?,
            role: parse_text("key role", &self.role, Role::parse)?,
            id: self.id,
            label: self.label,
            prefix: self.prefix,
            secret_hash: self.secret_hash,
            created_at: self.created_at.and_utc(),
            revoked_at: self.revoked_at.map(|at| at.and_utc()),
        })
    }
}

impl KeyRecords for Tx<'_> {
    fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        diesel::insert_into(api_keys::table)
            .values(KeyRow::from_domain(key))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn key_by_prefix(&mut self, prefix: &str) -> Result<Option<ApiKey>, StoreError> {
        convert_one(
            api_keys::table
                .filter(api_keys::prefix.eq(prefix))
                .select(KeyRow::as_select())
                .first(self.conn)
                .optional()
                .map_err(store_error)?,
            KeyRow::into_domain,
        )
    }

    fn key(&mut self, tenant: &TenantId, id: &str) -> Result<Option<ApiKey>, StoreError> {
        convert_one(
            api_keys::table
                .filter(api_keys::tenant_id.eq(tenant.as_str()))
                .filter(api_keys::id.eq(id))
                .select(KeyRow::as_select())
                .first(self.conn)
                .optional()
                .map_err(store_error)?,
            KeyRow::into_domain,
        )
    }

    fn keys(&mut self, tenant: &TenantId, page: &PageRequest) -> Result<Vec<ApiKey>, StoreError> {
        let mut query = api_keys::table
            .filter(api_keys::tenant_id.eq(tenant.as_str()))
            .select(KeyRow::as_select())
            .order(api_keys::id.asc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(api_keys::id.gt(after.clone()));
        }
        convert_all(
            query.load(self.conn).map_err(store_error)?,
            KeyRow::into_domain,
        )
    }

    fn revoke_key(
        &mut self,
        tenant: Option<&TenantId>,
        key_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let revoked = api_keys::revoked_at.eq(Some(naive(at)));
        match tenant {
            Some(tenant) => diesel::update(
                api_keys::table
                    .filter(api_keys::tenant_id.eq(tenant.as_str()))
                    .filter(api_keys::id.eq(key_id)),
            )
            .set(revoked)
            .execute(self.conn),
            None => diesel::update(
                api_keys::table
                    .filter(api_keys::tenant_id.is_null())
                    .filter(api_keys::id.eq(key_id)),
            )
            .set(revoked)
            .execute(self.conn),
        }
        .map_err(store_error)?;
        Ok(())
    }
}

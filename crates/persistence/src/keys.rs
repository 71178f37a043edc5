//! API keys on diesel.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::auth::{ApiKey, Role};
use loyalty_domain::ids::ApiKeyId;
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::KeyRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::rows::{all_records, first_record, naive, parse_text, tenant_id};
use crate::schema::api_keys;
use crate::transaction::{Tx, store_error};

/// An API key row: read whole, and written whole on insert. Reading yields owned text; writing
/// borrows it from the domain record.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct KeyRow<'a> {
    id: Cow<'a, str>,
    tenant_id: Option<Cow<'a, str>>,
    role: Cow<'a, str>,
    label: Option<Cow<'a, str>>,
    prefix: Cow<'a, str>,
    secret_hash: Cow<'a, str>,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    created_by: Option<Cow<'a, str>>,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
}

impl<'a> KeyRow<'a> {
    fn from_domain(key: &'a ApiKey) -> Self {
        Self {
            id: Cow::Borrowed(key.id.as_str()),
            tenant_id: key.tenant_id.as_ref().map(|t| Cow::Borrowed(t.as_str())),
            role: Cow::Borrowed(key.role.as_str()),
            label: key.label.as_deref().map(Cow::Borrowed),
            prefix: Cow::Borrowed(&key.prefix),
            secret_hash: Cow::Borrowed(&key.secret_hash),
            created_at: naive(key.created_at),
            revoked_at: key.revoked_at.map(naive),
            created_by: key.created_by.as_deref().map(Cow::Borrowed),
            expires_at: key.expires_at.map(naive),
            last_used_at: key.last_used_at.map(naive),
        }
    }

    fn into_domain(self) -> Result<ApiKey, PersistenceError> {
        Ok(ApiKey {
            tenant_id: self.tenant_id.as_deref().map(tenant_id).transpose()?,
            role: parse_text("key role", &self.role, Role::parse)?,
            id: ApiKeyId::from_stored(self.id.into_owned()),
            label: self.label.map(Cow::into_owned),
            prefix: self.prefix.into_owned(),
            secret_hash: self.secret_hash.into_owned(),
            created_at: self.created_at.and_utc(),
            revoked_at: self.revoked_at.map(|at| at.and_utc()),
            created_by: self.created_by.map(Cow::into_owned),
            expires_at: self.expires_at.map(|at| at.and_utc()),
            last_used_at: self.last_used_at.map(|at| at.and_utc()),
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
        first_record(
            self.conn,
            api_keys::table
                .filter(api_keys::prefix.eq(prefix))
                .select(KeyRow::as_select()),
            KeyRow::into_domain,
        )
    }

    fn key(&mut self, tenant: &TenantId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        first_record(
            self.conn,
            api_keys::table
                .filter(api_keys::tenant_id.eq(tenant.as_str()))
                .filter(api_keys::id.eq(id.as_str()))
                .select(KeyRow::as_select()),
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
            query = query.filter(api_keys::id.gt(after.as_str()));
        }
        all_records(self.conn, query, KeyRow::into_domain)
    }

    fn revoke_key(
        &mut self,
        tenant: Option<&TenantId>,
        key_id: &ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let revoked = api_keys::revoked_at.eq(Some(naive(at)));
        let unrevoked = api_keys::table
            .filter(api_keys::id.eq(key_id.as_str()))
            .filter(api_keys::revoked_at.is_null());
        let changed = match tenant {
            Some(tenant) => {
                diesel::update(unrevoked.filter(api_keys::tenant_id.eq(tenant.as_str())))
                    .set(revoked)
                    .execute(self.conn)
            }
            None => diesel::update(unrevoked.filter(api_keys::tenant_id.is_null()))
                .set(revoked)
                .execute(self.conn),
        }
        .map_err(store_error)?;
        Ok(changed > 0)
    }

    fn record_key_use(
        &mut self,
        key_id: &ApiKeyId,
        at: DateTime<Utc>,
        unless_after: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(key_id.as_str()))
                .filter(
                    api_keys::last_used_at
                        .is_null()
                        .or(api_keys::last_used_at.le(naive(unless_after))),
                ),
        )
        .set(api_keys::last_used_at.eq(Some(naive(at))))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(())
    }
}

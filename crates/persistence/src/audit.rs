//! The audit trail on diesel: one row per change, its field changes as JSON.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::audit::{AuditAction, AuditEntry, FieldChange};
use loyalty_domain::ids::AuditEntryId;
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::AuditRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::rows::{all_records, corrupt, naive, parse_text, tenant_id};
use crate::schema::audit_entries;
use crate::transaction::{Tx, store_error};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_entries)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AuditRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    actor_key_id: Cow<'a, str>,
    request_id: Option<Cow<'a, str>>,
    action: Cow<'a, str>,
    subject_id: Cow<'a, str>,
    changes: Cow<'a, str>,
    created_at: NaiveDateTime,
}

impl AuditRow<'_> {
    fn into_domain(self) -> Result<AuditEntry, PersistenceError> {
        let changes: Vec<FieldChange> =
            serde_json::from_str(&self.changes).map_err(|e| corrupt("audit changes", e))?;
        Ok(AuditEntry {
            tenant_id: tenant_id(&self.tenant_id)?,
            id: AuditEntryId::from_stored(self.id.into_owned()),
            actor_key_id: self.actor_key_id.into_owned(),
            request_id: self.request_id.map(Cow::into_owned),
            action: parse_text("audit action", &self.action, AuditAction::parse)?,
            subject_id: self.subject_id.into_owned(),
            changes,
            created_at: self.created_at.and_utc(),
        })
    }
}

impl AuditRecords for Tx<'_> {
    fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        let changes = serde_json::to_string(&entry.changes)
            .map_err(|e| StoreError::from(corrupt("audit changes", e)))?;
        diesel::insert_into(audit_entries::table)
            .values(AuditRow {
                tenant_id: Cow::Borrowed(entry.tenant_id.as_str()),
                id: Cow::Borrowed(entry.id.as_str()),
                actor_key_id: Cow::Borrowed(&entry.actor_key_id),
                request_id: entry.request_id.as_deref().map(Cow::Borrowed),
                action: Cow::Borrowed(entry.action.as_str()),
                subject_id: Cow::Borrowed(&entry.subject_id),
                changes: Cow::Owned(changes),
                created_at: naive(entry.created_at),
            })
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn audit_entries_about(
        &mut self,
        tenant: &TenantId,
        subject_id: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        all_records(
            self.conn,
            audit_entries::table
                .filter(audit_entries::tenant_id.eq(tenant.as_str()))
                .filter(audit_entries::subject_id.eq(subject_id))
                .select(AuditRow::as_select()),
            AuditRow::into_domain,
        )
    }

    fn replace_audit_changes(
        &mut self,
        tenant: &TenantId,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        let changes = serde_json::to_string(&entry.changes)
            .map_err(|e| StoreError::from(corrupt("audit changes", e)))?;
        diesel::update(audit_entries::table.find((tenant.as_str(), entry.id.as_str())))
            .set(audit_entries::changes.eq(changes))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn audit_entries(
        &mut self,
        tenant: &TenantId,
        actor: Option<&str>,
        page: &PageRequest,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = audit_entries::table
            .filter(audit_entries::tenant_id.eq(tenant.as_str()))
            .select(AuditRow::as_select())
            .order(audit_entries::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(actor) = actor {
            query = query.filter(audit_entries::actor_key_id.eq(actor));
        }
        if let Some(after) = &page.after {
            query = query.filter(audit_entries::id.lt(after.as_str()));
        }
        all_records(self.conn, query, AuditRow::into_domain)
    }
}

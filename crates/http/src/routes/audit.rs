//! The tenant's audit trail (tenant admin).

use actix_web::{HttpResponse, web};
use loyalty_domain::audit::{AuditEntry, FieldChange};
use loyalty_domain::page::PageRequest;
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::views::{PageView, timestamp};
use crate::{ApiError, HttpState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    limit: Option<u32>,
    after: Option<String>,
    /// Only the changes this API key made (`operator`: the command line's).
    actor_key_id: Option<String>,
}

/// One field a change changed; personal data is masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FieldChangeView {
    field: String,
    /// Null where the record or field did not exist before.
    #[schema(value_type = Object)]
    before: serde_json::Value,
    #[schema(value_type = Object)]
    after: serde_json::Value,
}

/// One change in the trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuditEntryView {
    id: String,
    /// `program.replaced`, `reward.created`, `reward.updated`, `api_key.issued`,
    /// `api_key.revoked`, `tenant.created`, `tenant.updated`, `customer.updated`,
    /// `customer.card_token_rotated`, `customer.erased`, `customers.imported`,
    /// `voucher.fulfilled` or `voucher.cancelled`.
    action: &'static str,
    /// The record changed: a reward's, key's, customer's or voucher's id, or the tenant's own id
    /// for the program, the tenant and imports.
    subject_id: String,
    /// The API key that made the change (`operator`: the command line).
    actor_key_id: String,
    request_id: Option<String>,
    changes: Vec<FieldChangeView>,
    created_at: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id.into_string(),
            action: entry.action.as_str(),
            subject_id: entry.subject_id,
            actor_key_id: entry.actor_key_id,
            request_id: entry.request_id,
            changes: entry
                .changes
                .into_iter()
                .map(
                    |FieldChange {
                         field,
                         before,
                         after,
                     }| FieldChangeView {
                        field,
                        before,
                        after,
                    },
                )
                .collect(),
            created_at: timestamp(entry.created_at),
        }
    }
}

/// Lists the tenant's audit trail.
///
/// Tenant admin. Every change that is not a ledger posting (the ledger records its own), newest
/// first: who made it, with which key, when, and the fields it changed before and after.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit_entries",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of the trail, newest first.", body = PageView<AuditEntryView>),
        (status = 400, description = "`invalid_query`: a bad `limit` or cursor."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<HttpState>,
    caller: Authenticated,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::new(query.limit, query.after.as_deref())?;
    let actor = query.actor_key_id;
    let entries = state
        .store(move |loyalty| loyalty.audit_trail(&caller.0, actor.as_deref(), &page))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(entries, AuditEntryView::from)))
}

//! Importing customers from CSV (tenant admin). The body is spooled to a temporary file as it
//! arrives, so an import of any size takes the same memory; the file is then read twice, once to
//! check every row and once to write them.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use loyalty_domain::LoyaltyError;
use loyalty_domain::auth::Role;
use loyalty_domain::idempotency::Rendered;
use loyalty_domain::import::OnConflict;
use loyalty_domain::service::Imported;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::change::Change;
use crate::auth::Authenticated;
use crate::idempotency::render_json;
use crate::{ApiError, HttpState};

/// What to do with a row an existing customer matches.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OnConflictParam {
    /// Keep the existing customer and count the row as skipped.
    Skip,
    /// Refuse the whole import, listing each such row.
    #[default]
    Fail,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    /// `skip` or `fail` (the default): what a row whose phone, email or external id an existing
    /// customer has does.
    on_conflict: Option<OnConflictParam>,
}

/// What an import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ImportedView {
    /// Customers created.
    created: u64,
    /// Rows an existing customer matched, left alone (`on_conflict=skip`).
    skipped: u64,
}

fn imported_response(imported: &Imported) -> Rendered {
    render_json(
        200,
        &ImportedView {
            created: imported.created,
            skipped: imported.skipped,
        },
    )
}

/// How much of the body is gathered before it is written out, on the blocking pool.
const SPOOL_BUFFER_BYTES: usize = 1024 * 1024;

/// Writes `buffer` to the end of `file` on the blocking pool, and gives both back.
async fn write_out(file: File, buffer: Vec<u8>) -> Result<(File, Vec<u8>), ApiError> {
    web::block(move || {
        let mut file = file;
        let mut buffer = buffer;
        file.write_all(&buffer)?;
        buffer.clear();
        Ok::<_, std::io::Error>((file, buffer))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| ApiError::Internal(e.into()))
}

/// Writes the body to a temporary file as it arrives, refusing it past `limit` bytes; returns
/// the file and the body's SHA-256, which a retry's must match.
async fn spool(mut payload: web::Payload, limit: u64) -> Result<(File, String), ApiError> {
    let mut file = web::block(tempfile::tempfile)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut buffer = Vec::with_capacity(SPOOL_BUFFER_BYTES);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::UnreadableBody)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::ImportTooLarge { limit });
        }
        hasher.update(&chunk);
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= SPOOL_BUFFER_BYTES {
            (file, buffer) = write_out(file, buffer).await?;
        }
    }
    (file, _) = write_out(file, buffer).await?;
    Ok((file, format!("{:x}", hasher.finalize())))
}

/// Imports customers from a CSV file.
///
/// Tenant admin. A UTF-8 CSV body (a byte order mark is skipped; commas or semicolons) whose
/// header row names columns among `name, phone, email, external_id, opening_points,
/// opening_visits`. All or nothing: any problem refuses the file with every problem listed (up
/// to 1,000), and nothing is imported. Opening points become `opening_balance` ledger entries,
/// with lots expiring as the program says; opening visits become the visit count.
#[utoipa::path(
    post, path = "/api/v1/imports/customers", tag = "imports", operation_id = "import_customers",
    params(ImportQuery, crate::openapi::RequiredIdempotencyKey),
    request_body(content = String, content_type = "text/csv", description = "The customers, with a header row."),
    responses(
        (status = 200, description = "Every row was imported or skipped.", body = ImportedView),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`, `invalid_query` (an unknown `on_conflict`)."),
        (status = 413, description = "`payload_too_large`: the body is over `IMPORT_MAX_BYTES`."),
        (status = 415, description = "`unsupported_media_type`: the body is not `text/csv`."),
        (status = 422, description = "`import_invalid` (with `problems`, each `{line, column, code, detail}`): nothing was imported. `idempotency_key_reused`: the key was used with another file."),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn customers(
    state: web::Data<HttpState>,
    caller: Authenticated,
    request: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let is_csv = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/csv"))
        });
    if !is_csv {
        return Err(ApiError::NotCsv);
    }
    let on_conflict = match query.on_conflict.unwrap_or_default() {
        OnConflictParam::Skip => OnConflict::Skip,
        OnConflictParam::Fail => OnConflict::Fail,
    };
    // The caller's role and the key first: a request that will be refused is refused before its
    // body is stored.
    caller
        .0
        .tenant_as(Role::TenantAdmin)
        .map_err(LoyaltyError::from)?;
    Change::keyed(&request, "")?;
    let (file, digest) = spool(payload, state.import_max_bytes).await?;
    let change = Change::keyed(&request, &format!("{on_conflict:?} {digest}"))?;
    change
        .run(
            state,
            caller,
            imported_response,
            move |loyalty, who, idempotent| {
                let open = move || -> std::io::Result<Box<dyn std::io::Read>> {
                    let mut reader = file.try_clone()?;
                    reader.seek(SeekFrom::Start(0))?;
                    Ok(Box::new(reader))
                };
                loyalty.import_customers(who, &open, on_conflict, idempotent, &|_, _| {})
            },
        )
        .await
}

//! Small conversions shared by the record modules.

use chrono::{DateTime, NaiveDateTime, Utc};
use loyalty_domain::StoreError;
use loyalty_domain::tenant::TenantId;

use diesel::OptionalExtension;
use diesel::dsl::Limit;
use diesel::query_dsl::methods::LimitDsl;
use diesel::query_dsl::{LoadQuery, RunQueryDsl};

use crate::transaction::store_error;
use crate::{DbConnection, PersistenceError};

pub(crate) fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

pub(crate) fn corrupt(
    what: &'static str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> PersistenceError {
    PersistenceError::CorruptRow {
        what,
        source: source.into(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub(crate) struct UnknownValue {
    pub(crate) kind: &'static str,
    pub(crate) value: String,
}

/// Parses a stored enum's text, or reports the row as corrupt.
pub(crate) fn parse_text<T>(
    kind: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, PersistenceError> {
    parse(value).ok_or_else(|| {
        corrupt(
            kind,
            UnknownValue {
                kind,
                value: value.to_owned(),
            },
        )
    })
}

pub(crate) fn tenant_id(value: &str) -> Result<TenantId, PersistenceError> {
    TenantId::parse(value).map_err(|e| corrupt("tenant id", e))
}

/// The first row `query` finds, if any, as its domain record.
pub(crate) fn first_record<'q, Q, R, T>(
    conn: &mut DbConnection,
    query: Q,
    convert: fn(R) -> Result<T, PersistenceError>,
) -> Result<Option<T>, StoreError>
where
    Q: RunQueryDsl<DbConnection> + LimitDsl,
    Limit<Q>: LoadQuery<'q, DbConnection, R>,
{
    convert_one(query.first(conn).optional().map_err(store_error)?, convert)
}

/// Every row `query` finds, as domain records.
pub(crate) fn all_records<'q, Q, R, T>(
    conn: &mut DbConnection,
    query: Q,
    convert: fn(R) -> Result<T, PersistenceError>,
) -> Result<Vec<T>, StoreError>
where
    Q: RunQueryDsl<DbConnection> + LoadQuery<'q, DbConnection, R>,
{
    convert_all(query.load(conn).map_err(store_error)?, convert)
}

/// Converts a row that may not exist into its domain record.
pub(crate) fn convert_one<R, T>(
    row: Option<R>,
    convert: fn(R) -> Result<T, PersistenceError>,
) -> Result<Option<T>, StoreError> {
    Ok(row.map(convert).transpose()?)
}

/// Converts loaded rows into domain records, failing on the first corrupt one.
pub(crate) fn convert_all<R, T>(
    rows: Vec<R>,
    convert: fn(R) -> Result<T, PersistenceError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter()
        .map(|row| convert(row).map_err(StoreError::from))
        .collect()
}

/// Converts loaded (tenant id, record id) pairs, failing on the first corrupt tenant id.
pub(crate) fn tenant_pairs<T>(
    rows: Vec<(String, String)>,
    id: fn(String) -> T,
) -> Result<Vec<(TenantId, T)>, StoreError> {
    rows.into_iter()
        .map(|(tenant, record)| Ok((tenant_id(&tenant)?, id(record))))
        .collect::<Result<_, PersistenceError>>()
        .map_err(StoreError::from)
}

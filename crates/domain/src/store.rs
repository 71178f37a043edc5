//! The error every store port returns.

use std::error::Error;

/// A store could not complete an operation for reasons outside the domain's rules: the database
/// is unreachable, a query failed, data on disk is unreadable. The adapter's error is kept as the
/// source so the cause can be logged; the domain never inspects it.
#[derive(Debug, thiserror::Error)]
#[error("the store failed")]
pub struct StoreError(#[source] Box<dyn Error + Send + Sync + 'static>);

impl StoreError {
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        Self(source.into())
    }
}

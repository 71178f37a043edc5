use actix_web::web;

use crate::ApiError;

/// Runs synchronous store work on actix's blocking pool, inside the caller's tracing span so its
/// log lines keep the request id.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))
}

use actix_web::web;

use crate::ApiError;

/// Runs synchronous store work on actix's blocking pool, inside the caller's tracing span so its
/// log lines keep the request id. The work's own error and a failure to run it come back as one
/// `ApiError`.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))?
        .map_err(Into::into)
}

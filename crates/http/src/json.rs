//! How JSON request bodies are read, and what each way of getting one wrong answers.

use actix_web::error::JsonPayloadError;
use actix_web::web;

use crate::{ApiError, BODY_LIMIT_BYTES};

pub(crate) fn config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT_BYTES)
        .content_type_required(true)
        .error_handler(|error, _request| ApiError::from(error).into())
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::PayloadTooLarge
            }
            JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
            JsonPayloadError::Deserialize(error) if error.is_data() => ApiError::InvalidBody(error),
            JsonPayloadError::Deserialize(error) => ApiError::MalformedJson(error),
            JsonPayloadError::Payload(error) => ApiError::UnreadableBody(error),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

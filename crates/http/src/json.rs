//! JSON request bodies: read up to the size limit, then parsed in two steps so each way of
//! getting a body wrong answers precisely: not JSON at all (400), or JSON of the wrong shape
//! (422, naming the field by its path).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ApiError, BODY_LIMIT_BYTES};

/// The extractor's payload limit, for bodies sent without a declared length.
pub(crate) fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(BODY_LIMIT_BYTES)
}

/// A JSON body deserialized into `T`, with its canonical text (object keys sorted, no
/// whitespace) for idempotency fingerprints: the same data sent twice matches however it was
/// formatted.
#[derive(Debug)]
pub(crate) struct JsonBody<T> {
    pub value: T,
    pub canonical: String,
}

fn is_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .is_some_and(|mime| {
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(request);
        let bytes = web::Bytes::from_request(request, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes =
                bytes
                    .await
                    .map_err(|error| match error.as_response_error().status_code() {
                        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                        status => ApiError::Unclassified(status),
                    })?;
            let parsed: Value = serde_json::from_slice(&bytes).map_err(ApiError::MalformedJson)?;
            let canonical = canonical_text(&parsed);
            let value = serde_path_to_error::deserialize(parsed).map_err(ApiError::InvalidBody)?;
            Ok(JsonBody { value, canonical })
        })
    }
}

/// For PATCH bodies: a field sent as `null` becomes `Some(None)` (clear it), a field left out
/// stays `None` (keep it). Use with `#[serde(default, deserialize_with = "present")]`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// JSON text with every object's keys in order, whatever map type serde_json was built with.
fn canonical_text(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::to_value(ordered).unwrap_or(Value::Null)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::canonical_text;

    #[test]
    fn canonical_text_ignores_key_order_and_spacing() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}}"#)
                .unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#).unwrap();
        assert_eq!(canonical_text(&a), canonical_text(&b));
        assert_eq!(
            canonical_text(&b),
            r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }
}

//! Idempotent requests: a mutating request repeated with the same key (same API key, same
//! route, same body) applies once and gets the first response again, for as long as the record
//! is kept.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::tenant::TenantId;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an Idempotency-Key is 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whose idempotency keys a record belongs to: the API key that sent the request, within its
/// tenant. Two tills (two keys) that both send `visit-1` make two visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyScope {
    pub tenant: TenantId,
    pub api_key_id: String,
}

/// The response a request produced, kept to answer its retries. The domain treats it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Identifies route and body: a retry must match it exactly.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
    /// When the key was first claimed; the record is kept for the idempotency time to live.
    pub claimed_at: DateTime<Utc>,
}

/// Why a use case's result could not be turned into the response to store; the adapter's error.
pub type RenderError = Box<dyn std::error::Error + Send + Sync>;

/// A response as an adapter renders it for storing: status and body.
pub type Rendered = Result<(u16, String), RenderError>;

/// A request that carries an idempotency key: the key, its fingerprint, and how to turn the use
/// case's result into the response to store.
pub struct Idempotent<'a, T> {
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub render: &'a (dyn Fn(&T) -> Rendered + Send + Sync),
}

impl<T> fmt::Debug for Idempotent<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotent")
            .field("key", &self.key)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// What running an idempotent use case gave.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It ran now; with the stored response when the request had a key.
    Fresh(T, Option<StoredResponse>),
    /// A retry: the first response, as it was.
    Replayed(StoredResponse),
}

//! `Authorization: Bearer <key>` on every `/api/v1` route. The key's record is cached for a few
//! seconds per process: a key revoked through this process stops working at once, one revoked
//! through another within the cache's lifetime; a key past its expiry stops at once everywhere.
//! A key's use is recorded at most once a minute, off the request's path.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use loyalty_domain::auth::{AuthError, Principal};

use crate::{ApiError, HttpState};

/// The verified caller of an `/api/v1` request.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub Principal);

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Records the key's use in the background: the request does not wait for it, and a database too
/// busy to take the write only leaves `last_used_at` a minute staler.
fn record_key_use(state: web::Data<HttpState>, caller: Principal, at: DateTime<Utc>) {
    actix_web::rt::spawn(async move {
        let recorded = state
            .store(move |loyalty| loyalty.record_key_use(&caller, at))
            .await;
        if let Err(error) = recorded {
            tracing::debug!(error = %error, "an API key's use was not recorded");
        }
    });
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request);
        let state = request.app_data::<web::Data<HttpState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(ApiError::from(AuthError::Unauthenticated))?;
            let state = state
                .ok_or_else(|| ApiError::Internal("the application state is missing".into()))?;
            let principal = match state.loyalty.authenticate_cached(&token) {
                Some(known) => known?,
                None => {
                    state
                        .store(move |loyalty| loyalty.authenticate(&token))
                        .await?
                }
            };
            if let Some(tenant) = &principal.tenant_id {
                tracing::Span::current().record("tenant_id", tenant.as_str());
            }
            if let Some(at) = state.loyalty.claim_key_use(&principal) {
                record_key_use(state, principal.clone(), at);
            }
            Ok(Authenticated(principal))
        })
    }
}

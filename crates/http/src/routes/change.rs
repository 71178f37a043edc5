//! The one shape of every idempotent change (enrol, visit, purchase, adjustment, reversal, redeem,
//! fulfil, cancel): read the key and fingerprint from the request, run the use case on the
//! blocking pool as the caller, and answer with its response, or the first response on a replay.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use loyalty_domain::LoyaltyError;
use loyalty_domain::idempotency::{IdempotencyKey, Idempotent, Outcome, Rendered};
use loyalty_domain::service::{Caller, Loyalty};

use crate::auth::Authenticated;
use crate::idempotency::{fingerprint, optional_key, required_key};
use crate::request_context::current_request_id;
use crate::{ApiError, HttpState};

/// How a route turns its use case's result into status and body.
pub(crate) type Render<T> = fn(&T) -> Rendered;

/// Everything an idempotent change needs from the request, gathered before the blocking work.
pub(crate) struct Change {
    key: Option<IdempotencyKey>,
    fingerprint: String,
    request_id: Option<String>,
}

impl Change {
    /// A change that must carry an `Idempotency-Key`.
    pub(crate) fn keyed(request: &HttpRequest, canonical_body: &str) -> Result<Self, ApiError> {
        Ok(Self {
            key: Some(required_key(request)?),
            fingerprint: fingerprint(request, canonical_body),
            request_id: current_request_id(),
        })
    }

    /// A change that may carry an `Idempotency-Key`.
    pub(crate) fn optionally_keyed(
        request: &HttpRequest,
        canonical_body: &str,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            key: optional_key(request)?,
            fingerprint: fingerprint(request, canonical_body),
            request_id: current_request_id(),
        })
    }

    /// Runs `work` on the blocking pool as the caller, once the database gate lets it in, and
    /// answers with its outcome.
    pub(crate) async fn run<T, W>(
        self,
        state: web::Data<HttpState>,
        caller: Authenticated,
        render: Render<T>,
        work: W,
    ) -> Result<HttpResponse, ApiError>
    where
        T: Send + 'static,
        W: FnOnce(
                &Loyalty,
                &Caller<'_>,
                Option<Idempotent<'_, T>>,
            ) -> Result<Outcome<T>, LoyaltyError>
            + Send
            + 'static,
    {
        let Self {
            key,
            fingerprint,
            request_id,
        } = self;
        let outcome = state
            .store(move |loyalty| {
                let who = Caller {
                    principal: &caller.0,
                    request_id,
                };
                let idempotent = key.map(|key| Idempotent {
                    key,
                    fingerprint,
                    render: &render,
                });
                work(loyalty, &who, idempotent)
            })
            .await?;
        respond(outcome, render)
    }
}

/// The response to an idempotent use case: the first response as stored with its key (marked
/// `Idempotent-Replayed: true` on retries), or `render`'s for a request that sent no key.
fn respond<T>(outcome: Outcome<T>, render: Render<T>) -> Result<HttpResponse, ApiError> {
    let (status, body, replayed) = match outcome {
        Outcome::Fresh(_, Some(first)) => (first.status, first.body, false),
        Outcome::Fresh(value, None) => {
            let (status, body) = render(&value).map_err(ApiError::Internal)?;
            (status, body, false)
        }
        Outcome::Replayed(first) => (first.status, first.body, true),
    };
    let status = StatusCode::from_u16(status).map_err(|error| ApiError::Internal(error.into()))?;
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.body(body))
}

//! One delivery attempt over HTTP.

use std::error::Error;
use std::time::{Duration, Instant};

use loyalty_domain::webhooks::{AttemptOutcome, DeliveryJob, DestinationPolicy};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::redirect;

use crate::resolver::AllowedAddresses;

/// Bytes of an answer read at most: enough to show why an endpoint refused; the rest is
/// dropped unread.
const MAX_RESPONSE_BYTES: usize = 4096;
/// Characters of the answer kept with the attempt.
const MAX_EXCERPT_CHARS: usize = 1024;

/// The HTTP client could not be built (its TLS set-up failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client")]
pub struct SenderError(#[source] reqwest::Error);

/// Sends deliveries; cheap to clone, one connection pool for all.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    policy: DestinationPolicy,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender whose attempts end after `timeout` (connecting included), to destinations
    /// `policy` allows.
    pub fn new(timeout: Duration, policy: DestinationPolicy) -> Result<Self, SenderError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .dns_resolver(AllowedAddresses { policy })
            .user_agent(concat!("smb-loyalty-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SenderError)?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// Tries one delivery: what the endpoint answered, or why nothing came.
    pub async fn send(&self, job: &DeliveryJob) -> AttemptOutcome {
        let started = Instant::now();
        let failed = |error: String| AttemptOutcome {
            status_code: None,
            latency: started.elapsed(),
            error: Some(error),
            response_excerpt: None,
        };
        // The URL is checked again as it is now: an address written in it skips the resolver.
        if let Err(refused) = self.policy.check_url(job.url.as_str()) {
            return failed(format!("the URL {refused}"));
        }
        let headers = match headers_of(job) {
            Ok(headers) => headers,
            Err(error) => return failed(format!("cannot build the headers: {error}")),
        };
        let sent = self
            .client
            .post(job.url.as_str())
            .headers(headers)
            .body(job.body.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return failed(self.describe(&error)),
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                // The status came; a body cut short does not change what it says.
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(MAX_RESPONSE_BYTES);
        AttemptOutcome {
            status_code: Some(status),
            latency: started.elapsed(),
            error: None,
            response_excerpt: excerpt(&body),
        }
    }

    /// Why a request got no answer, in words an admin can act on.
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("no answer within {} ms", self.timeout.as_millis());
        }
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

fn headers_of(job: &DeliveryJob) -> Result<HeaderMap, reqwest::header::InvalidHeaderValue> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        "webhook-id",
        HeaderValue::from_str(job.key.event_id.as_str())?,
    );
    headers.insert("webhook-timestamp", HeaderValue::from(job.timestamp));
    headers.insert("webhook-signature", HeaderValue::from_str(&job.signature)?);
    Ok(headers)
}

/// The start of an answer as text (invalid UTF-8 replaced, control characters other than
/// whitespace dropped so it can be stored and shown); None when it was empty.
fn excerpt(body: &[u8]) -> Option<String> {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .take(MAX_EXCERPT_CHARS)
        .collect();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_printable_text() {
        assert_eq!(excerpt(b""), None);
        assert_eq!(excerpt(b"ok\0\x07 \xff").as_deref(), Some("ok \u{fffd}"));
        let long = vec![b'a'; 5000];
        assert_eq!(excerpt(&long).map(|t| t.len()), Some(MAX_EXCERPT_CHARS));
    }
}

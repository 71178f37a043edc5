//! A webhook receiver the tests run: a real HTTP server on 127.0.0.1 that records every request
//! and answers as the test planned, and the Standard Webhooks verification a consumer runs.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Holds the request a minute without answering.
    Hang,
}

/// A request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The event's id (the `webhook-id` header).
    pub fn id(&self) -> &str {
        self.header("webhook-id")
    }
}

#[derive(Default)]
struct Log {
    received: Mutex<Vec<Received>>,
    /// Answers for the next requests, in order; 204 once they run out.
    plan: Mutex<VecDeque<Answer>>,
}

pub struct Receiver {
    address: std::net::SocketAddr,
    log: Arc<Log>,
    handle: ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn record(request: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    log.received.lock().unwrap().push(Received {
        path: request.path().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let answer = log.plan.lock().unwrap().pop_front();
    match answer {
        None => HttpResponse::NoContent().finish(),
        Some(Answer::Status(code)) => {
            let status = actix_web::http::StatusCode::from_u16(code).unwrap();
            HttpResponse::build(status).body(format!("planned {code}"))
        }
        Some(Answer::Hang) => {
            actix_web::rt::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::NoContent().finish()
        }
    }
}

impl Receiver {
    /// Starts listening at once; answers 204 unless planned otherwise.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let log = Arc::new(Log::default());
        let data = web::Data::from(log.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            address,
            log,
            handle,
        }
    }

    /// The URL of `path` here.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Answers the next requests so, in order.
    pub fn plan(&self, answers: &[Answer]) {
        self.log
            .plan
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.received.lock().unwrap().clone()
    }

    /// Every request once at least `count` came, failing after `within`.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} requests came within {within:?}: {received:#?}",
                received.len()
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether one of the request's signatures verifies with `secret` (`whsec_...`), as a Standard
/// Webhooks consumer checks it: HMAC-SHA256 over `id.timestamp.body`, keyed with the base64-
/// decoded secret, compared with each `v1,` signature of the header.
pub fn verifies(received: &Received, secret: &str) -> bool {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap().as_bytes())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.{}",
        received.id(),
        received.header("webhook-timestamp"),
        received.body
    );
    mac.update(signed.as_bytes());
    let expected = BASE64.encode(&mac.finalize().into_bytes());
    received
        .header("webhook-signature")
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()))
}

//! How the HTTP layer answers malformed requests. No route of the foundation reads a JSON body
//! yet, so a probe route is mounted on the real application, with its real middleware and JSON
//! configuration, over in-memory ports (no database is involved in rejecting bad input).

#![allow(clippy::unwrap_used)] // In tests a panic is the failure report.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, test, web};
use loyalty_domain::StoreError;
use loyalty_domain::readiness::{MigrationState, Readiness, ReadinessProbe};
use loyalty_domain::tenant::{HostCandidates, Tenant, TenantDirectory, TenantId};
use loyalty_http::{BODY_LIMIT_BYTES, HttpState, build_app};
use serde::Deserialize;
use serde_json::Value;

struct NoTenants;

impl TenantDirectory for NoTenants {
    fn find_by_id(&self, _: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(None)
    }
    fn find_by_host(&self, _: &HostCandidates) -> Result<Vec<Tenant>, StoreError> {
        Ok(Vec::new())
    }
    fn insert_if_absent(&self, _: &Tenant) -> Result<bool, StoreError> {
        Ok(false)
    }
}

struct AlwaysReady;

impl ReadinessProbe for AlwaysReady {
    fn check(&self) -> Readiness {
        Readiness {
            database: Ok(()),
            migrations: MigrationState::UpToDate,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enrolment {
    name: String,
    visits: u32,
}

async fn enrol(body: web::Json<Enrolment>) -> HttpResponse {
    HttpResponse::Created().json(serde_json::json!({ "name": body.name, "visits": body.visits }))
}

fn state() -> HttpState {
    HttpState {
        tenants: Arc::new(NoTenants),
        readiness: Arc::new(AlwaysReady),
        default_tenant: TenantId::parse("default").unwrap(),
        expose_error_details: true,
        content_security_policy: "default-src 'none'".into(),
    }
}

/// Sends the request to the app (with the probe route) and returns status, headers and JSON body.
async fn send(request: test::TestRequest) -> (StatusCode, HashMap<String, String>, Value) {
    let app =
        test::init_service(build_app(state()).route("/probe/enrol", web::post().to(enrol))).await;
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, headers, body)
}

fn post_json(body: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/probe/enrol")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

async fn assert_problem(request: test::TestRequest, status: u16, code: &str) -> Value {
    let (actual, headers, body) = send(request).await;
    assert_eq!(actual.as_u16(), status, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:smb-loyalty:problem:{code}"));
    assert_eq!(
        body["request_id"], headers["x-request-id"],
        "body and header agree"
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

#[actix_rt::test]
async fn a_well_formed_body_is_accepted() {
    let (status, _, body) = send(post_json(r#"{"name": "Zoë 🚗", "visits": 3}"#)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["name"], "Zoë 🚗");
}

#[actix_rt::test]
async fn malformed_json_is_400() {
    for body in [r#"{"name": "x", "visits": 3"#, "not json", "", "\u{0}"] {
        assert_problem(post_json(body), 400, "malformed_json").await;
    }
}

#[actix_rt::test]
async fn wrong_shape_is_422_saying_what_is_wrong() {
    let missing = assert_problem(post_json(r#"{"name": "x"}"#), 422, "invalid_body").await;
    assert!(
        missing["detail"].as_str().unwrap().contains("visits"),
        "{missing}"
    );
    let wrong_type = assert_problem(
        post_json(r#"{"name": 5, "visits": 3}"#),
        422,
        "invalid_body",
    )
    .await;
    assert!(
        wrong_type["detail"]
            .as_str()
            .unwrap()
            .contains("invalid type"),
        "{wrong_type}"
    );
    let huge = assert_problem(
        post_json(r#"{"name": "x", "visits": 99999999999999999999}"#),
        422,
        "invalid_body",
    )
    .await;
    assert!(
        huge["detail"].as_str().unwrap().contains("expected u32"),
        "{huge}"
    );
    let unknown = assert_problem(
        post_json(r#"{"name": "x", "visits": 1, "admin": true}"#),
        422,
        "invalid_body",
    )
    .await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("admin"),
        "{unknown}"
    );
}

#[actix_rt::test]
async fn wrong_or_missing_content_type_is_415() {
    let body = r#"{"name": "x", "visits": 1}"#;
    let text = test::TestRequest::post()
        .uri("/probe/enrol")
        .insert_header(("content-type", "text/plain"))
        .set_payload(body);
    assert_problem(text, 415, "unsupported_media_type").await;
    let none = test::TestRequest::post()
        .uri("/probe/enrol")
        .set_payload(body);
    assert_problem(none, 415, "unsupported_media_type").await;
}

#[actix_rt::test]
async fn bodies_over_64_kib_are_413() {
    let oversized = format!(
        r#"{{"name": "{}", "visits": 1}}"#,
        "a".repeat(BODY_LIMIT_BYTES)
    );
    // Declared length: refused before any handler reads it.
    let declared =
        post_json(&oversized).insert_header(("content-length", oversized.len().to_string()));
    assert_problem(declared, 413, "payload_too_large").await;
    // Any route, even one that takes no body.
    let elsewhere = test::TestRequest::post()
        .uri("/health/live")
        .insert_header(("content-length", (BODY_LIMIT_BYTES + 1).to_string()))
        .set_payload(vec![b'x'; BODY_LIMIT_BYTES + 1]);
    assert_problem(elsewhere, 413, "payload_too_large").await;
    // Undeclared length: the JSON reader stops at the limit.
    let streamed = post_json(&oversized);
    assert_problem(streamed, 413, "payload_too_large").await;
    let just_under = format!(
        r#"{{"name": "{}", "visits": 1}}"#,
        "a".repeat(BODY_LIMIT_BYTES - 100)
    );
    let (status, _, _) = send(post_json(&just_under)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[actix_rt::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_allow() {
    assert_problem(test::TestRequest::get().uri("/nowhere"), 404, "not_found").await;
    assert_problem(
        test::TestRequest::get().uri("/api/v1/customers"),
        404,
        "not_found",
    )
    .await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let request = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri("/api/public/tenant-meta");
        let (status, headers, body) = send(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers["allow"], "GET");
        assert_eq!(body["code"], "method_not_allowed");
    }
    let (status, headers, _) = send(test::TestRequest::get().uri("/probe/enrol")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a path with no GET route is not found, not HTML"
    );
    assert_eq!(headers["content-type"], "application/problem+json");
}

#[actix_rt::test]
async fn request_id_is_echoed_when_sane_and_replaced_otherwise() {
    let echoed = test::TestRequest::get()
        .uri("/health/live")
        .insert_header(("x-request-id", "pos-7f3a.1"));
    let (_, headers, _) = send(echoed).await;
    assert_eq!(headers["x-request-id"], "pos-7f3a.1");

    for insane in ["has space", "semi;colon", &"x".repeat(129), ""] {
        let request = test::TestRequest::get()
            .uri("/health/live")
            .insert_header(("x-request-id", insane));
        let (_, headers, _) = send(request).await;
        let id = &headers["x-request-id"];
        assert_ne!(id, insane);
        assert!(uuid_like(id), "a fresh UUID replaces {insane:?}: {id}");
    }
    let (_, headers, _) = send(test::TestRequest::get().uri("/health/live")).await;
    assert!(uuid_like(&headers["x-request-id"]));
}

#[actix_rt::test]
async fn every_response_carries_security_headers() {
    for uri in ["/health/live", "/nowhere"] {
        let (_, headers, _) = send(test::TestRequest::get().uri(uri)).await;
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-security-policy"], "default-src 'none'");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

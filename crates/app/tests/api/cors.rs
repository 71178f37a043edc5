//! Cross-origin requests from browsers: the origins in `ALLOWED_ORIGINS` get CORS headers on
//! preflights and answers, of the API and the public routes alike; others are answered without.

use crate::support::{Backend, TestApp, TestDb};

const TILL: &str = "https://till.acme.example";

async fn with_origins(origins: &str) -> TestApp {
    TestApp::spawn_with(
        TestDb::create(Backend::Sqlite),
        &[("ALLOWED_ORIGINS", origins)],
    )
    .await
}

async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

#[actix_web::test]
async fn an_allowed_origin_gets_its_preflights_and_answers() {
    let app = with_origins(&format!("https://back-office.acme.example, {TILL}")).await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;

    let allowed = preflight(
        &app,
        "/api/v1/customers",
        TILL,
        "POST",
        "authorization, content-type, idempotency-key, x-request-id",
    )
    .await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(TILL));
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = header(&allowed, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(headers.contains(name), "{name} in {headers}");
    }
    assert!(header(&allowed, "vary").unwrap().contains("Origin"));

    let public = preflight(
        &app,
        "/api/public/tenant-meta",
        TILL,
        "GET",
        "if-none-match, x-tenant-id",
    )
    .await;
    assert_eq!(header(&public, "access-control-allow-origin"), Some(TILL));

    let answer = app
        .client
        .get(app.url("/api/v1/customers"))
        .bearer_auth(&acme.staff)
        .header("Origin", TILL)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(TILL));
    let exposed = header(&answer, "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in ["etag", "retry-after", "x-request-id"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    assert!(header(&answer, "vary").unwrap().contains("Origin"));
}

#[actix_web::test]
async fn other_origins_are_served_without_cors_headers() {
    let app = with_origins(TILL).await;
    let refused = preflight(
        &app,
        "/api/v1/customers",
        "https://evil.example",
        "POST",
        "authorization",
    )
    .await;
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    assert_eq!(header(&refused, "access-control-allow-methods"), None);
    let answer = app
        .client
        .get(app.url("/api/public/tenant-meta"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the request itself is served");
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    // A look-alike of an allowed origin is another origin.
    let answer = app
        .client
        .get(app.url("/api/public/tenant-meta"))
        .header("Origin", format!("{TILL}.evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
}

#[actix_web::test]
async fn without_allowed_origins_there_are_no_cors_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let answer = preflight(
        &app,
        "/api/public/tenant-meta",
        TILL,
        "GET",
        "if-none-match",
    )
    .await;
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    let answer = app
        .client
        .get(app.url("/api/public/tenant-meta"))
        .header("Origin", TILL)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            answer.status().as_u16(),
            header(&answer, "access-control-allow-origin")
        ),
        (200, None)
    );
}

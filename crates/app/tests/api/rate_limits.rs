//! Rate limits: per client IP on the public routes, per API key on `/api/v1`; 429 `rate_limited`
//! with `Retry-After` past them, whatever `X-Forwarded-For` says unless proxies are trusted.

use crate::support::{Backend, TestApp, TestDb};

async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    TestApp::spawn_with(TestDb::create(Backend::Sqlite), vars).await
}

async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("X-Forwarded-For", forwarded_for);
    }
    request.send().await.unwrap()
}

async fn assert_limited(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
}

#[actix_web::test]
async fn public_routes_are_limited_per_client_ip_and_a_forwarded_header_changes_nothing() {
    let app = app_with(&[
        ("RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE", "3"),
        ("RATE_LIMIT_CARDS_PER_MINUTE", "2"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(
            get_from(&app, "/api/public/tenant-meta", None)
                .await
                .status(),
            200
        );
    }
    assert_limited(get_from(&app, "/api/public/tenant-meta", None).await).await;
    for spoofed in ["203.0.113.9", "198.51.100.1, 203.0.113.10"] {
        assert_limited(get_from(&app, "/api/public/tenant-theme", Some(spoofed)).await).await;
    }
    // Cards have their own allowance; health probes have none.
    for _ in 0..2 {
        assert_eq!(
            get_from(&app, "/api/public/cards/no-such-card", None)
                .await
                .status(),
            404
        );
    }
    assert_limited(get_from(&app, "/api/public/cards/no-such-card", None).await).await;
    for _ in 0..20 {
        assert_eq!(get_from(&app, "/health/live", None).await.status(), 200);
    }
    assert_eq!(get_from(&app, "/health/ready", None).await.status(), 200);
}

#[actix_web::test]
async fn behind_trusted_proxies_each_forwarded_client_has_its_own_allowance() {
    let app = app_with(&[
        ("RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE", "1"),
        ("TRUSTED_PROXY_HOPS", "1"),
    ])
    .await;
    let meta = "/api/public/tenant-meta";
    assert_eq!(
        get_from(&app, meta, Some("203.0.113.1")).await.status(),
        200
    );
    assert_limited(get_from(&app, meta, Some("203.0.113.1")).await).await;
    assert_eq!(
        get_from(&app, meta, Some("203.0.113.2")).await.status(),
        200
    );
    // What the client wrote before the proxy's own entry is not trusted.
    assert_limited(get_from(&app, meta, Some("198.51.100.7, 203.0.113.2")).await).await;
}

#[actix_web::test]
async fn the_api_is_limited_per_key() {
    let app = app_with(&[("RATE_LIMIT_API_PER_MINUTE", "3")]).await;
    let platform = app.platform_key();
    // Three calls with the platform key: a tenant and its two keys.
    let acme = app.tenant(&platform, "acme").await;
    assert_limited(
        app.send("GET", "/api/v1/tenants", &platform, None, None)
            .await,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.call("GET", "/api/v1/program", &acme.staff, None, None)
                .await
                .0,
            200
        );
    }
    assert_limited(
        app.send("GET", "/api/v1/program", &acme.staff, None, None)
            .await,
    )
    .await;
    assert_eq!(
        app.call("GET", "/api/v1/program", &acme.admin, None, None)
            .await
            .0,
        200,
        "another key has its own allowance"
    );
}

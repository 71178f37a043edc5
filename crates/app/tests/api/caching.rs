//! The per-process caches of API keys, public tenants and programs: a change made through this
//! process is seen at once, and a cached read needs no database.

use serde_json::json;

use crate::support::{Backend, TestApp, TestDb, json_of, quick_program};

async fn meta_for_host(app: &TestApp, host: &str) -> serde_json::Value {
    let response = app
        .client
        .get(app.url("/api/public/tenant-meta"))
        .header("Host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json_of(response, "application/json").await
}

on_both_backends! {
    async fn a_changed_tenant_is_seen_at_once_by_the_same_process(backend) {
        let app = TestApp::spawn_with(TestDb::create(backend), &[("CACHE_TTL_MS", "600000")]).await;
        let platform = app.platform_key();
        app.tenant(&platform, "acme").await;
        let host = "rewards.acme.example";
        assert_eq!(meta_for_host(&app, host).await["tenant_id"], "default", "no tenant has the host yet");

        let (status, body) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
            Some(json!({"primary_domain": host, "name": "Acme Rewards"}))).await;
        assert_eq!(status, 200, "{body}");
        let meta = meta_for_host(&app, host).await;
        assert_eq!((meta["tenant_id"].as_str(), meta["name"].as_str()), (Some("acme"), Some("Acme Rewards")));

        let (status, _) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
            Some(json!({"name": "Acme Again"}))).await;
        assert_eq!(status, 200);
        assert_eq!(meta_for_host(&app, host).await["name"], "Acme Again");
    }

    async fn a_key_revoked_through_this_process_is_refused_at_once_even_when_cached(backend) {
        let app = TestApp::spawn_with(TestDb::create(backend), &[("CACHE_TTL_MS", "600000")]).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        for _ in 0..3 {
            assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 200);
        }
        let (_, issued) = app.call("POST", "/api/v1/api-keys", &acme.admin, None, Some(json!({"role": "staff"}))).await;
        let (key, id) = (issued["key"].as_str().unwrap(), issued["id"].as_str().unwrap());
        assert_eq!(app.call("GET", "/api/v1/program", key, None, None).await.0, 200);
        let (status, _) = app.call("DELETE", &format!("/api/v1/api-keys/{id}"), &acme.admin, None, None).await;
        assert_eq!(status, 204);
        assert_eq!(app.call("GET", "/api/v1/program", key, None, None).await.0, 401);
        assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 200, "other keys unaffected");
    }

    async fn a_changed_program_shows_in_standings_at_once_in_the_same_process(backend) {
        let app = TestApp::spawn_with(TestDb::create(backend), &[("CACHE_TTL_MS", "600000")]).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(5)).await;
        let customer = app.enrol(&acme.staff, json!({"email": "t@example.com"})).await;
        let grant = json!({"points": 150, "reason": "grant"});
        app.created(&format!("/api/v1/customers/{customer}/adjustments"), &acme.admin, Some("grant"), grant).await;
        let path = format!("/api/v1/customers/{customer}");
        let (_, before) = app.call("GET", &path, &acme.staff, None, None).await;
        assert!(before["tier"].is_null(), "no tiers yet, and the program is cached now: {before}");

        let mut program = quick_program(5);
        program["tiers"] = json!([{"name": "Silver", "min_lifetime_points": 100, "multiplier_percent": 150}]);
        app.program(&acme.admin, program).await;
        let (_, after) = app.call("GET", &path, &acme.staff, None, None).await;
        assert_eq!(after["tier"], "Silver", "{after}");
        let (_, listed) = app.call("GET", "/api/v1/customers", &acme.staff, None, None).await;
        assert_eq!(listed["items"][0]["tier"], "Silver", "{listed}");
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn cached_tenant_documents_are_served_without_the_database() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let first = meta_for_host(&app, "localhost").await;
    app.db.cut_off(false);
    let again = meta_for_host(&app, "localhost").await;
    app.db.cut_off(true);
    assert_eq!(first, again);
    let mut ready = 0;
    for _ in 0..100 {
        ready = app.get("/health/ready").await.status().as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "the database is back");
}

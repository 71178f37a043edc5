use std::time::Duration;

use crate::support::{Backend, TestApp, TestDb, json_of};
use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};
use serde_json::json;

fn revert_newest_migration(db: &TestDb) -> String {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let database = Database::connect(&url, PoolSettings::default()).unwrap();
    database
        .revert_last_migration()
        .unwrap()
        .expect("a migration to revert")
}

on_both_backends! {
    async fn live_is_alive(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.get("/health/live").await;
        assert_eq!(response.status(), 200);
        assert_eq!(json_of(response, "application/json").await, json!({"status": "alive"}));
    }

    async fn ready_when_database_answers_and_schema_is_current(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            json_of(response, "application/json").await,
            json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok"}})
        );
    }

    async fn not_ready_while_a_migration_is_pending(backend) {
        let app = TestApp::spawn(backend).await;
        let reverted = revert_newest_migration(&app.db);
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 503);
        let body = json_of(response, "application/json").await;
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["checks"], json!({"database": "ok", "migrations": "pending"}));
        let detail = body["details"]["migrations"].as_str().unwrap();
        assert!(detail.contains(&reverted), "outside production the pending names show: {detail}");
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn ready_answers_503_quickly_when_postgres_stops_and_recovers_after() {
    let app = TestApp::spawn(Backend::Postgres).await;
    app.db.cut_off(false);
    // The client gives up after 2.5 s: a probe that hangs fails here instead of answering.
    let response = app
        .client
        .get(app.url("/health/ready"))
        .timeout(Duration::from_millis(2500))
        .send()
        .await
        .expect("readiness answers while the database is down");
    assert_eq!(response.status(), 503);
    let body = json_of(response, "application/json").await;
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["database"], "error");
    assert_eq!(body["checks"]["migrations"], "unknown");

    app.db.cut_off(true);
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/health/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the database is back");
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn production_readiness_shows_no_internal_detail() {
    let db = TestDb::create(Backend::Postgres);
    let app = TestApp::spawn_with(db, &[("ENVIRONMENT", "production")]).await;
    revert_newest_migration(&app.db);
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    // Production asks browsers for HTTPS on every answer, errors included.
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert!(response.headers().contains_key("permissions-policy"));
    assert_eq!(
        json_of(response, "application/json").await,
        json!({"status": "not_ready", "checks": {"database": "ok", "migrations": "pending"}})
    );
}

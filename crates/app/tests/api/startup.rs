use crate::replicas::ServerProcess;
use crate::support::{Backend, TestApp, TestDb, json_of, settings};
use loyalty_app::startup::Application;
use serde_json::json;

on_both_backends! {
    async fn fresh_database_gets_the_default_tenant(backend) {
        let app = TestApp::spawn_on(TestDb::empty(backend)).await;
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM tenants"), 1);
        let body = json_of(app.get("/api/public/tenant-meta").await, "application/json").await;
        assert_eq!(body["tenant_id"], "default");
    }

    async fn existing_default_tenant_is_left_as_it_is(backend) {
        let db = TestApp::spawn(backend).await.stop().await;
        db.execute("UPDATE tenants SET name = 'Renamed By The Owner' WHERE id = 'default'");
        let app = TestApp::spawn_on(db).await;
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM tenants"), 1);
        let body = json_of(app.get("/api/public/tenant-meta").await, "application/json").await;
        assert_eq!(body["name"], "Renamed By The Owner");
    }

    async fn configured_default_tenant_is_seeded_and_served(backend) {
        let db = TestDb::create(backend);
        let app = TestApp::spawn_with(db, &[("DEFAULT_TENANT", "acme-wash")]).await;
        let body = json_of(app.get("/api/public/tenant-meta").await, "application/json").await;
        assert_eq!(body["tenant_id"], "acme-wash");
        assert_eq!(body["name"], "Acme Wash");
    }

    async fn built_binary_serves_ready_and_tenant_meta(backend) {
        let db = TestDb::create(backend);
        let server = ServerProcess::start(&[("DATABASE_URL", db.url())]);
        let client = reqwest::Client::new();
        let ready = client.get(format!("http://{}/health/ready", server.address)).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let meta = client.get(format!("http://{}/api/public/tenant-meta", server.address)).send().await.unwrap();
        assert_eq!(meta.status(), 200);
        assert_eq!(json_of(meta, "application/json").await["tenant_id"], "default");
        assert!(server.log.iter().all(serde_json::Value::is_object), "every log line is JSON: {:?}", server.log);
        assert!(
            server.log.iter().any(|line| line["message"] == "Startup: created missing default tenant 'default'"),
            "the seeding line is logged: {:?}", server.log
        );
        server.stop();
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn two_replicas_starting_at_once_both_come_up_with_one_default_tenant() {
    let db = TestDb::empty(Backend::Postgres);
    let start = || Application::build(settings(&[("DATABASE_URL", db.url()), ("PORT", "0")]));
    // Both replicas' database set-up runs on blocking threads, so the two really overlap.
    let (first, second) = tokio::join!(start(), start());
    let (first, second) = (
        first.expect("first replica"),
        second.expect("second replica"),
    );
    assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM tenants"), 1);
    db.assert_each_migration_applied_once();
    for replica in [first, second] {
        let address = replica.address();
        let handle = replica.handle();
        actix_web::rt::spawn(replica.run_until_stopped());
        let ready = reqwest::get(format!("http://{address}/health/ready"))
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(
            ready.json::<serde_json::Value>().await.unwrap(),
            json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok"}})
        );
        handle.stop(true).await;
    }
}

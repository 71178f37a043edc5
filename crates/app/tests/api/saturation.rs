//! A saturated or stuck database: requests that cannot get a connection in time, or whose
//! statement waits on a lock too long, are answered 503 `database_unavailable` with
//! `Retry-After`, write nothing, and readiness keeps answering from its own connection.

use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, TestApp, TestDb, quick_program};

/// Waits until `busy` requests hold the pool: on Postgres until they wait on the row lock (the
/// server says so); on SQLite, which cannot tell, for a while.
pub(crate) async fn until_waiting_on_lock(app: &TestApp, backend: Backend, busy: i64) {
    match backend {
        Backend::Postgres => {
            for _ in 0..200 {
                let waiting = app.db.scalar(
                    "SELECT COUNT(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                );
                if waiting >= busy {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("the requests never waited on the lock");
        }
        Backend::Sqlite => tokio::time::sleep(Duration::from_millis(1500)).await,
    }
}

on_both_backends! {
    async fn a_full_pool_answers_503_and_readiness_still_200(backend) {
        let app = TestApp::spawn_with(TestDb::create(backend), &[
            ("DATABASE_POOL_SIZE", "2"),
            ("DATABASE_POOL_TIMEOUT_MS", "300"),
            ("DATABASE_LOCK_TIMEOUT_MS", "20000"),
            ("DATABASE_STATEMENT_TIMEOUT_MS", "20000"),
        ]).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let customer = app.enrol(&acme.staff, json!({"email": "held@example.com"})).await;

        let lock = app.db.lock_customer(&customer);
        let visits_path = format!("/api/v1/customers/{customer}/visits");
        let hold = |key: &'static str| app.call("POST", &visits_path, &acme.staff, Some(key), Some(json!({})));
        let refused = async {
            until_waiting_on_lock(&app, backend, 2).await;
            let purchase = app.send(
                "POST", &format!("/api/v1/customers/{customer}/purchases"), &acme.staff,
                Some("refused-1"), Some(json!({"amount_minor": 500, "currency": "EUR"})),
            ).await;
            let retry_after = purchase.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let status = purchase.status().as_u16();
            let problem: serde_json::Value = purchase.json().await.unwrap();
            let ready = app.get("/health/ready").await.status().as_u16();
            drop(lock);
            (status, problem, retry_after, ready)
        };
        let (first, second, (status, problem, retry_after, ready)) =
            tokio::join!(hold("held-1"), hold("held-2"), refused);

        assert_eq!((status, problem["code"].as_str()), (503, Some("database_unavailable")), "{problem}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(ready, 200, "readiness has a connection of its own");
        for (status, body) in [first, second] {
            // Postgres waits out the lock; SQLite's busy timeout may end the wait first.
            let unavailable = status == 503 && body["code"] == "database_unavailable";
            assert!(status == 201 || unavailable, "{status} {body}");
        }
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'purchase'"), 0, "the refused purchase wrote nothing");
        let (status, _) = app.call("POST", &format!("/api/v1/customers/{customer}/purchases"), &acme.staff,
            Some("refused-1"), Some(json!({"amount_minor": 500, "currency": "EUR"}))).await;
        assert_eq!(status, 201, "the same request goes through once the database is free");
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn a_statement_held_by_a_row_lock_times_out_as_503() {
    let app = TestApp::spawn_with(
        TestDb::create(Backend::Postgres),
        &[("DATABASE_LOCK_TIMEOUT_MS", "200")],
    )
    .await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    let customer = app
        .enrol(&acme.staff, json!({"email": "stuck@example.com"}))
        .await;
    let path = format!("/api/v1/customers/{customer}/visits");

    let lock = app.db.lock_customer(&customer);
    let response = app
        .send("POST", &path, &acme.staff, Some("stuck-1"), Some(json!({})))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "database_unavailable");
    assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), 0);
    assert_eq!(
        app.db.scalar("SELECT COUNT(*) AS n FROM idempotency_keys"),
        0,
        "the key was not kept"
    );

    drop(lock);
    let (status, body) = app
        .call("POST", &path, &acme.staff, Some("stuck-1"), Some(json!({})))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn pooled_connections_the_server_ended_are_replaced_without_a_failed_request() {
    let app = TestApp::spawn_with(
        TestDb::create(Backend::Postgres),
        &[("DATABASE_POOL_SIZE", "2")],
    )
    .await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(3)).await;
    let customer = app
        .enrol(&acme.staff, json!({"email": "regular@example.com"}))
        .await;
    // The pool holds open connections now; the server ends every one (a restart, a failover).
    app.db.cut_off(false);
    app.db.cut_off(true);
    for n in 0..4 {
        let (status, body) = app
            .call(
                "GET",
                &format!("/api/v1/customers/{customer}"),
                &acme.staff,
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "read {n}: {body}");
        let (status, body) = app
            .call(
                "POST",
                &format!("/api/v1/customers/{customer}/visits"),
                &acme.staff,
                Some(&format!("after-restart-{n}")),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 201, "write {n}: {body}");
    }
}

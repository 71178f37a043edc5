//! Scale-out: three replicas of the built binary on one PostgreSQL through PgBouncer in
//! transaction pooling mode (no session state between transactions, no prepared statements
//! kept). The loyalty core's concurrency scenario spread over the replicas, replicas migrating
//! and sweeping at the same time, the job lock, and the time limits, all as they run there.

use std::time::{Duration, Instant};

use crate::concurrency::keep_every_invariant;
use crate::replicas::{PgBouncer, behind_pgbouncer};
use crate::support::{Backend, TestDb, quick_program};
use loyalty_persistence::{Database, DatabaseUrl, JobLock, PoolSettings};
use serde_json::json;

#[actix_web::test]
#[ignore = "needs PostgreSQL and PgBouncer: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn three_replicas_behind_pgbouncer_keep_every_invariant() {
    let db = TestDb::create(Backend::Postgres);
    let direct = db.url().to_owned();
    // Migrations go straight to the server, as an operator behind a pooler would set it up.
    let app = behind_pgbouncer(db, 3, &[("DATABASE_MIGRATION_URL", &direct)], true);
    keep_every_invariant(app).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL and PgBouncer: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn three_replicas_migrate_once_and_sweep_each_voucher_once_through_pgbouncer() {
    // An empty database and no migration URL: all three migrate through the pooler at once.
    let app = behind_pgbouncer(
        TestDb::empty(Backend::Postgres),
        3,
        &[("EXPIRY_SWEEP_INTERVAL_SECS", "1")],
        false,
    );
    app.db.assert_each_migration_applied_once();
    assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM tenants"), 1);

    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(3)).await;
    let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
    let grant = json!({"points": 1000, "reason": "grant"});
    let adjustments = format!("/api/v1/customers/{customer}/adjustments");
    app.created(&adjustments, &acme.admin, Some("grant"), grant)
        .await;
    let coffee = app
        .reward(
            &acme.admin,
            json!({"name": "Coffee", "cost_points": 10, "valid_days": 1}),
        )
        .await;
    let vouchers = 30;
    for n in 0..vouchers {
        let path = format!("/api/v1/customers/{customer}/redemptions");
        let body = json!({"reward_id": coffee});
        app.created(&path, &acme.staff, Some(&format!("buy-{n}")), body)
            .await;
    }
    assert_eq!(app.balance(&acme.staff, &customer).await, 700);

    // Every voucher falls due at once; each replica's sweep runs every second.
    app.db.execute(
        "UPDATE redemptions SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 minute'",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while app
        .db
        .scalar("SELECT COUNT(*) AS n FROM redemptions WHERE status = 'expired'")
        < vouchers
    {
        assert!(
            Instant::now() < deadline,
            "the sweeps never expired them all"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    // More sweeps on every replica find nothing left to do.
    actix_web::rt::time::sleep(Duration::from_millis(2500)).await;

    assert_eq!(
        app.db
            .scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'refund'"),
        vouchers,
        "one refund per voucher"
    );
    assert_eq!(
        app.db.scalar(
            "SELECT COUNT(*) AS n FROM (SELECT redemption_id FROM ledger_entries \
             WHERE kind = 'refund' GROUP BY redemption_id HAVING COUNT(*) > 1) twice"
        ),
        0
    );
    assert_eq!(app.balance(&acme.staff, &customer).await, 1000);
    assert_eq!(
        app.db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> \
             (SELECT COALESCE(SUM(e.points), 0) FROM ledger_entries e WHERE e.customer_id = c.id) \
             OR c.balance <> (SELECT COALESCE(SUM(l.remaining), 0) FROM point_lots l \
             WHERE l.customer_id = c.id)"
        ),
        0
    );
}

#[actix_web::test]
#[ignore = "needs PostgreSQL and PgBouncer: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn a_job_lock_through_pgbouncer_has_one_holder_and_is_released_after() {
    let db = TestDb::create(Backend::Postgres);
    let bouncer = PgBouncer::start();
    let pooled = DatabaseUrl::parse(&bouncer.url_for(db.url())).unwrap();
    let settings = PoolSettings {
        statement_cache: false,
        ..PoolSettings::default()
    };
    let (one, other) = (
        Database::connect(&pooled, settings).unwrap(),
        Database::connect(&pooled, settings).unwrap(),
    );
    let lock = JobLock(0x7465_7374_6c6f_636b);
    // Many rounds: a lock left behind on one of PgBouncer's server connections would show in one.
    for round in 0..20 {
        let inside = one
            .exclusively(lock, || other.exclusively(lock, || ()).unwrap())
            .unwrap();
        assert_eq!(inside, Some(None), "round {round}: held by one at a time");
        assert_eq!(
            other.exclusively(lock, || round).unwrap(),
            Some(round),
            "round {round}: free once the work is done"
        );
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn a_job_lock_is_released_when_its_work_fails_or_panics() {
    let db = TestDb::create(Backend::Postgres);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let (one, other) = (
        Database::connect(&url, PoolSettings::default()).unwrap(),
        Database::connect(&url, PoolSettings::default()).unwrap(),
    );
    let lock = JobLock(0x6661_696c_6c6f_636b);
    let failed = one
        .exclusively(lock, || Err::<(), &str>("the sweep failed"))
        .unwrap();
    assert_eq!(failed, Some(Err("the sweep failed")));
    assert_eq!(
        other.exclusively(lock, || 1).unwrap(),
        Some(1),
        "free after a failure"
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        one.exclusively(lock, || panic!("the sweep panicked"))
    }));
    assert!(panicked.is_err());
    // A panic leaves the transaction open on its connection, which the pool then discards: the
    // server drops the lock once it has seen that connection close, a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut free = other.exclusively(lock, || 2).unwrap();
    while free.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        free = other.exclusively(lock, || 2).unwrap();
    }
    assert_eq!(free, Some(2), "free after a panic");
}

#[actix_web::test]
#[ignore = "needs PostgreSQL and PgBouncer: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn a_lock_wait_through_pgbouncer_times_out_as_503() {
    let app = behind_pgbouncer(
        TestDb::create(Backend::Postgres),
        3,
        &[("DATABASE_LOCK_TIMEOUT_MS", "300")],
        false,
    );
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
    let _held = app.db.lock_customer(&customer);
    // Each replica in turn: every one of them runs its transactions under the limit.
    for n in 0..3 {
        let response = app
            .send(
                "POST",
                &format!("/api/v1/customers/{customer}/visits"),
                &acme.staff,
                Some(&format!("visit-{n}")),
                Some(json!({})),
            )
            .await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "database_unavailable");
    }
}

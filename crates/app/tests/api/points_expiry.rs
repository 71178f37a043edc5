use std::sync::Arc;

use crate::support;
use crate::support::{ManualClock, Tenant, TestApp, TestDb, quick_program};
use chrono::Duration;
use loyalty_domain::ids::{CustomerId, VoucherId};
use loyalty_domain::service::SweptItem;
use serde_json::{Value, json};

async fn setup(backend: support::Backend) -> (TestApp, Arc<ManualClock>, Tenant, String) {
    let clock = ManualClock::new();
    let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    let mut program = quick_program(3);
    program["points_expire_after_days"] = json!(30);
    app.program(&acme.admin, program).await;
    let customer = app
        .enrol(&acme.staff, json!({"email": "zoe@example.com"}))
        .await;
    (app, clock, acme, customer)
}

/// Records a purchase of `amount` minor units of EUR.
async fn buy(app: &TestApp, acme: &Tenant, customer: &str, amount: i64, key: &str) -> Value {
    let path = format!("/api/v1/customers/{customer}/purchases");
    let body = json!({"amount_minor": amount, "currency": "EUR"});
    app.created(&path, &acme.staff, Some(key), body).await
}

/// Takes `points` off the balance with an adjustment.
async fn spend(app: &TestApp, acme: &Tenant, customer: &str, points: i64, key: &str) {
    let path = format!("/api/v1/customers/{customer}/adjustments");
    let body = json!({"points": -points, "reason": "spent"});
    app.created(&path, &acme.admin, Some(key), body).await;
}

/// The lots hold exactly the balance.
fn assert_lots_match(app: &TestApp) {
    assert_eq!(app.db.scalar(
        "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(l.remaining), 0) \
         FROM point_lots l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)"), 0);
}

on_both_backends! {
    async fn unspent_points_expire_and_spending_draws_the_oldest_first(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        buy(&app, &acme, &customer, 10_000, "p1").await; // 100 points, expiring after day 30
        clock.advance(Duration::days(10));
        buy(&app, &acme, &customer, 5_000, "p2").await; // 50 points, expiring after day 40
        spend(&app, &acme, &customer, 60, "s1").await; // drawn from the first lot: 40 left there
        assert_eq!(app.balance(&acme.staff, &customer).await, 90);
        assert_lots_match(&app);

        clock.advance(Duration::days(21)); // day 31: the first lot's day has ended
        let loyalty = support::service(&app.db, clock.clone());
        let report = loyalty.sweep_expired().unwrap();
        assert_eq!(report.expired_points, 40, "only the unspent rest of the older lot");
        assert_eq!(loyalty.sweep_expired().unwrap().expired_points, 0, "once");
        assert_eq!(app.balance(&acme.staff, &customer).await, 50);
        let (_, ledger) = app.call("GET", &format!("/api/v1/customers/{customer}/ledger?limit=1"), &acme.staff, None, None).await;
        let entry = &ledger["items"][0];
        assert_eq!((entry["kind"].as_str(), entry["points"].as_i64(), entry["balance_after"].as_i64()), (Some("expiry"), Some(-40), Some(50)));
        assert_eq!(entry["actor"], "system:expiry");
        assert_lots_match(&app);

        clock.advance(Duration::days(10));
        assert_eq!(loyalty.sweep_expired().unwrap().expired_points, 50);
        assert_eq!(app.balance(&acme.staff, &customer).await, 0);
        assert_lots_match(&app);
    }

    async fn points_past_their_expiry_are_not_spendable_before_the_sweep(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        buy(&app, &acme, &customer, 10_000, "p1").await; // 100 points, expiring after day 30
        let reward = app
            .reward(&acme.admin, json!({"name": "Wash", "cost_points": 80, "valid_days": 60}))
            .await;
        let (_, shown) = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await;
        let card = format!("/api/public/cards/{}", shown["card_token"].as_str().unwrap());
        assert_eq!(app.get(&card).await.json::<Value>().await.unwrap()["affordable_rewards"][0]["id"], reward.as_str());

        clock.advance(Duration::days(31)); // past the expiry; no sweep has run
        assert_eq!(app.balance(&acme.staff, &customer).await, 0, "a read takes the clock into account");
        let (_, listed) = app.call("GET", "/api/v1/customers", &acme.staff, None, None).await;
        assert_eq!(listed["items"][0]["balance"], 0);
        let (_, found) = app.call("GET", "/api/v1/customers?email=zoe@example.com", &acme.staff, None, None).await;
        assert_eq!(found["items"][0]["balance"], 0, "{found}");
        let shown_card = app.get(&card).await.json::<Value>().await.unwrap();
        assert_eq!((shown_card["balance"].as_i64(), shown_card["affordable_rewards"].as_array().map(Vec::len)), (Some(0), Some(0)));

        let (status, problem) = app.call("POST", &format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, Some("r1"),
            Some(json!({"reward_id": reward}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_points")), "{problem}");
        let (status, problem) = app.call("POST", &format!("/api/v1/customers/{customer}/adjustments"), &acme.admin, Some("a1"),
            Some(json!({"points": -50, "reason": "spent at the counter"}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_points")), "nor can an adjustment: {problem}");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 0, "the refused redemption wrote nothing");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind <> 'purchase'"), 0);

        // The next change records the expiry first, under the system's name, then itself.
        let bought = buy(&app, &acme, &customer, 2_000, "p2").await;
        assert_eq!(bought["account"]["balance"], 20, "{bought}");
        let (_, ledger) = app.call("GET", &format!("/api/v1/customers/{customer}/ledger?limit=2"), &acme.staff, None, None).await;
        let kinds: Vec<_> = ledger["items"].as_array().unwrap().iter()
            .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["points"].as_i64().unwrap(), e["actor"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(kinds[1], ("expiry".to_owned(), -100, "system:expiry".to_owned()), "{ledger}");
        assert_eq!((kinds[0].0.as_str(), kinds[0].1), ("purchase", 20));
        assert_eq!(app.db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(e.points), 0) \
             FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)"), 0);
        assert_lots_match(&app);
        assert_eq!(support::service(&app.db, clock.clone()).sweep_expired().unwrap().expired_points, 0, "nothing left to sweep");
        assert_eq!(app.balance(&acme.staff, &customer).await, 20);
    }

    async fn refunds_go_back_to_the_lots_they_came_from(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        buy(&app, &acme, &customer, 10_000, "p1").await;
        let (status, reward) = app.call("POST", "/api/v1/rewards", &acme.admin, None,
            Some(json!({"name": "Wash", "cost_points": 80, "valid_days": 60}))).await;
        assert_eq!(status, 201);
        let (status, voucher) = app.call("POST", &format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, Some("r1"),
            Some(json!({"reward_id": reward["id"]}))).await;
        assert_eq!(status, 201, "{voucher}");
        clock.advance(Duration::days(5));
        buy(&app, &acme, &customer, 3_000, "p2").await; // 30 points in a later lot
        let cancel = format!("/api/v1/redemptions/{}/cancel", voucher["id"].as_str().unwrap());
        assert_eq!(app.call("POST", &cancel, &acme.staff, None, None).await.0, 200);
        assert_eq!(app.balance(&acme.staff, &customer).await, 130);
        assert_lots_match(&app);
        // The refunded 80 kept the first lot's expiry: they leave with it.
        clock.advance(Duration::days(26));
        let report = support::service(&app.db, clock.clone()).sweep_expired().unwrap();
        assert_eq!(report.expired_points, 100);
        assert_eq!(app.balance(&acme.staff, &customer).await, 30);
        assert_lots_match(&app);
    }

    async fn a_refunded_purchase_takes_its_own_points_back_first(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        buy(&app, &acme, &customer, 5_000, "p1").await; // 50, the older lot
        clock.advance(Duration::days(3));
        let second = buy(&app, &acme, &customer, 2_000, "p2").await; // 20, a later lot
        let entry = second["ledger_entry_id"].as_str().unwrap();
        let (status, _) = app.call("POST", &format!("/api/v1/ledger/{entry}/reversal"), &acme.staff, Some("rev"),
            Some(json!({"reason": "returned"}))).await;
        assert_eq!(status, 201);
        assert_eq!(app.balance(&acme.staff, &customer).await, 50);
        // The older lot is untouched: all 50 expire with it.
        clock.advance(Duration::days(28));
        assert_eq!(support::service(&app.db, clock.clone()).sweep_expired().unwrap().expired_points, 50);
        assert_lots_match(&app);
    }

    async fn points_without_an_expiry_never_expire(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(3)).await;
        let customer = app.enrol(&acme.staff, json!({"email": "z@example.com"})).await;
        buy(&app, &acme, &customer, 10_000, "p1").await;
        clock.advance(Duration::days(3650));
        assert_eq!(support::service(&app.db, clock.clone()).sweep_expired().unwrap().expired_points, 0);
        assert_eq!(app.balance(&acme.staff, &customer).await, 100);
        let mut program = quick_program(3);
        program["points_expire_after_days"] = json!(0);
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program)).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("points_expire_after_days")));
    }
}

on_both_backends! {
    async fn a_record_the_sweep_cannot_handle_is_skipped_and_the_pass_goes_on(backend) {
        let (app, clock, acme, zoe) = setup(backend).await;
        let reward = app
            .reward(&acme.admin, json!({"name": "Coffee", "cost_points": 20, "valid_days": 1}))
            .await;
        let bob = app.enrol(&acme.staff, json!({"email": "bob@example.com"})).await;
        let mut vouchers = Vec::new();
        for (customer, key) in [(&zoe, "z"), (&bob, "b")] {
            buy(&app, &acme, customer, 5_000, &format!("{key}-buy")).await; // 50 points each
            let path = format!("/api/v1/customers/{customer}/redemptions");
            let voucher = app
                .created(&path, &acme.staff, Some(&format!("{key}-redeem")), json!({"reward_id": reward}))
                .await;
            vouchers.push(voucher["id"].as_str().unwrap().to_owned());
        }
        // Zoë's account no longer matches her lots: her refund and her expiry must fail.
        app.db.execute(&format!("UPDATE customers SET balance = balance + 1 WHERE id = '{zoe}'"));

        clock.advance(Duration::days(40));
        let loyalty = support::service(&app.db, clock.clone());
        let report = loyalty.sweep_expired().unwrap();
        let skipped: Vec<_> = report.failures.iter().map(|f| (f.tenant.as_str(), f.item.clone())).collect();
        assert_eq!(skipped, vec![
            ("acme", SweptItem::Voucher(VoucherId::parse(&vouchers[0]).unwrap())),
            ("acme", SweptItem::PointsOf(CustomerId::parse(&zoe).unwrap())),
        ]);
        assert_eq!(report.expired, 1, "Bob's voucher expired all the same");
        assert_eq!(report.expired_points, 50, "and his points, refund included");
        assert_eq!(app.balance(&acme.staff, &bob).await, 0);
        let (_, zoes) = app.call("GET", &format!("/api/v1/redemptions/{}", vouchers[0]), &acme.admin, None, None).await;
        assert_eq!(zoes["status"], "expired", "read through the clock");
        assert_eq!(app.db.scalar(&format!("SELECT COUNT(*) AS n FROM redemptions WHERE id = '{}' AND status = 'issued'", vouchers[0])), 1, "still due");

        // The operator's run (on the real clock, days before the test's: the voucher is made due
        // for it) reports the record it skips and fails, so a cron job notices.
        app.db.execute(&format!("UPDATE redemptions SET expires_at = '2000-01-01 00:00:00' WHERE id = '{}'", vouchers[0]));
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(["jobs", "run-expiry"])
            .env("DATABASE_URL", app.db.url())
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("voucher {}", vouchers[0])), "{stderr}");
    }
}

//! Races the rewards module is judged by: one code fulfilled by many tills at once, many
//! redemptions against a balance or a stock that covers only a few, and the expiry sweep racing
//! the counter.

use std::rc::Rc;
use std::sync::Arc;

use crate::support;
use crate::support::{ManualClock, Tenant, TestApp, TestDb, quick_program};
use chrono::Duration;
use serde_json::{Value, json};

async fn setup(backend: support::Backend) -> (Rc<TestApp>, Arc<ManualClock>, Tenant) {
    let clock = ManualClock::new();
    let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(3)).await;
    (Rc::new(app), clock, acme)
}

/// Enrols customer `C-{n}` with `points` granted, and returns its id.
async fn customer_with(app: &TestApp, acme: &Tenant, n: usize, points: i64) -> String {
    let customer = app
        .enrol(&acme.staff, json!({"external_id": format!("C-{n}")}))
        .await;
    let path = format!("/api/v1/customers/{customer}/adjustments");
    let grant = json!({"points": points, "reason": "grant"});
    app.created(&path, &acme.admin, Some(&format!("grant-{n}")), grant)
        .await;
    customer
}

/// Sends `requests` all at once and returns their statuses and bodies.
async fn all_at_once(
    app: &Rc<TestApp>,
    requests: impl IntoIterator<Item = (String, String, Option<String>, Value)>,
) -> Vec<(u16, Value)> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(path, key, idempotency, body)| {
            let app = app.clone();
            actix_web::rt::spawn(async move {
                app.call("POST", &path, &key, idempotency.as_deref(), Some(body))
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

fn count(results: &[(u16, Value)], status: u16) -> usize {
    results.iter().filter(|(s, _)| *s == status).count()
}

fn assert_ledger_consistent(app: &TestApp) {
    assert_eq!(app.db.scalar(
        "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(e.points), 0) \
         FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)"), 0);
    assert_eq!(
        app.db
            .scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE balance_after < 0"),
        0
    );
}

on_both_backends! {
    async fn thirty_two_tills_fulfil_one_code_and_exactly_one_wins(backend) {
        let (app, _, acme) = setup(backend).await;
        let customer = customer_with(&app, &acme, 0, 100).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10})).await;
        let (_, voucher) = app.call("POST", &format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, Some("r"),
            Some(json!({"reward_id": coffee}))).await;
        let code = voucher["code"].as_str().unwrap().to_owned();
        let requests = (0..32)
            .map(|_| ("/api/v1/redemptions/fulfill".to_owned(), acme.staff.clone(), None, json!({"code": code})));
        let results = all_at_once(&app, requests).await;
        assert_eq!(count(&results, 200), 1, "{results:?}");
        assert_eq!(count(&results, 409), 31);
        assert!(results.iter().filter(|(s, _)| *s == 409).all(|(_, b)| b["code"] == "already_fulfilled"));
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions WHERE status = 'fulfilled'"), 1);
    }

    async fn a_balance_for_three_buys_exactly_three(backend) {
        let (app, _, acme) = setup(backend).await;
        let customer = customer_with(&app, &acme, 0, 95).await;
        let wash = app.reward(&acme.admin, json!({"name": "Wash", "cost_points": 30})).await;
        let requests = (0..32)
            .map(|n| (format!("/api/v1/customers/{customer}/redemptions"), acme.staff.clone(), Some(format!("buy-{n}")), json!({"reward_id": wash})));
        let results = all_at_once(&app, requests).await;
        assert_eq!(count(&results, 201), 3, "{results:?}");
        assert_eq!(count(&results, 422), 29);
        let (_, account) = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await;
        assert_eq!(account["balance"], 5);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 3);
        assert_ledger_consistent(&app);
    }

    async fn a_stock_of_five_sells_exactly_five(backend) {
        let (app, _, acme) = setup(backend).await;
        let mut customers = Vec::new();
        for n in 0..10 {
            customers.push(customer_with(&app, &acme, n, 1000).await);
        }
        let limited = app.reward(&acme.admin, json!({"name": "Towel", "cost_points": 10, "stock": 5})).await;
        let requests = (0..50)
            .map(|n| (format!("/api/v1/customers/{}/redemptions", customers[n % 10]), acme.staff.clone(), Some(format!("towel-{n}")), json!({"reward_id": limited})));
        let results = all_at_once(&app, requests).await;
        assert_eq!(count(&results, 201), 5, "{results:?}");
        assert_eq!(count(&results, 409), 45);
        assert!(results.iter().filter(|(s, _)| *s == 409).all(|(_, b)| b["code"] == "out_of_stock"));
        assert_eq!(app.db.scalar("SELECT stock AS n FROM rewards"), 0);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 5);
        assert_ledger_consistent(&app);
    }

    async fn the_sweep_racing_the_counter_leaves_one_outcome_per_voucher(backend) {
        let (app, clock, acme) = setup(backend).await;
        let customer = customer_with(&app, &acme, 0, 1000).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10, "valid_days": 1})).await;
        let mut codes = Vec::new();
        for n in 0..20 {
            let (status, voucher) = app.call("POST", &format!("/api/v1/customers/{customer}/redemptions"), &acme.staff,
                Some(&format!("buy-{n}")), Some(json!({"reward_id": coffee}))).await;
            assert_eq!(status, 201);
            codes.push(voucher["code"].as_str().unwrap().to_owned());
        }
        // The counter's clock is a second before expiry; the sweeping replica's a second after.
        clock.advance(Duration::days(1) - Duration::seconds(1));
        let sweeper_clock = ManualClock::new();
        sweeper_clock.advance(Duration::days(1) + Duration::seconds(1));
        let sweeper = support::service(&app.db, sweeper_clock);
        let sweep = tokio::task::spawn_blocking(move || sweeper.sweep_expired().unwrap());
        let requests = codes
            .iter()
            .map(|code| ("/api/v1/redemptions/fulfill".to_owned(), acme.staff.clone(), None, json!({"code": code})));
        let results = all_at_once(&app, requests).await;
        let report = sweep.await.unwrap();
        let fulfilled = count(&results, 200) as i64;
        assert_eq!(fulfilled + report.expired as i64, 20, "every voucher ended one way: {results:?} {report:?}");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions WHERE status = 'fulfilled'"), fulfilled);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions WHERE status = 'expired'"), report.expired as i64);
        // Never both: no fulfilled voucher got a refund, every expired one exactly one.
        assert_eq!(app.db.scalar(
            "SELECT COUNT(*) AS n FROM redemptions r JOIN ledger_entries e ON e.redemption_id = r.id AND e.kind = 'refund' \
             WHERE r.status = 'fulfilled'"), 0);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'refund'"), report.expired as i64);
        assert_eq!(report.refunded_points, report.expired as i64 * 10);
        assert_ledger_consistent(&app);
    }
}

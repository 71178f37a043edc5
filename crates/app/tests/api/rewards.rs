use std::process::Command;

use crate::support;
use crate::support::{ManualClock, Tenant, TestApp, TestDb, quick_program};
use chrono::Duration;
use serde_json::{Value, json};

/// A tenant, a program with a 100-point welcome, a customer, and a clock the test moves.
async fn setup(
    backend: support::Backend,
) -> (TestApp, std::sync::Arc<ManualClock>, Tenant, String) {
    let clock = ManualClock::new();
    let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(3)).await;
    let customer = app
        .enrol(
            &acme.staff,
            json!({"name": "Zoë", "email": "zoe@example.com"}),
        )
        .await;
    grant(&app, &acme, &customer, 100, "welcome").await;
    (app, clock, acme, customer)
}

/// Gives the customer `points` with an adjustment.
async fn grant(app: &TestApp, tenant: &Tenant, customer: &str, points: i64, key: &str) {
    let path = format!("/api/v1/customers/{customer}/adjustments");
    let body = json!({"points": points, "reason": "test grant"});
    app.created(&path, &tenant.admin, Some(key), body).await;
}

async fn redeem(
    app: &TestApp,
    tenant: &Tenant,
    customer: &str,
    reward: &str,
    key: &str,
) -> (u16, Value) {
    app.call(
        "POST",
        &format!("/api/v1/customers/{customer}/redemptions"),
        &tenant.staff,
        Some(key),
        Some(json!({"reward_id": reward})),
    )
    .await
}

async fn fulfil(app: &TestApp, tenant: &Tenant, body: Value) -> (u16, Value) {
    app.call(
        "POST",
        "/api/v1/redemptions/fulfill",
        &tenant.staff,
        None,
        Some(body),
    )
    .await
}

on_both_backends! {
    async fn the_catalog_is_written_by_admins_and_read_by_staff(backend) {
        let (app, _, acme, _) = setup(backend).await;
        let (status, created) = app.call("POST", "/api/v1/rewards", &acme.admin, None,
            Some(json!({"name": "Free wash", "cost_points": 50, "stock": 3}))).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!((created["active"].as_bool(), created["valid_days"].as_i64(), created["stock"].as_i64()), (Some(true), Some(10), Some(3)));
        let id = created["id"].as_str().unwrap();
        let (status, problem) = app.call("POST", "/api/v1/rewards", &acme.staff, None, Some(json!({"name": "x", "cost_points": 1}))).await;
        assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
        let (status, problem) = app.call("POST", "/api/v1/rewards", &acme.admin, None, Some(json!({"name": "x", "cost_points": 0, "valid_days": 0}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["cost_points", "valid_days"]);

        let (status, updated) = app.call("PATCH", &format!("/api/v1/rewards/{id}"), &acme.admin, None,
            Some(json!({"active": false, "stock": null, "description": "One exterior wash"}))).await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!((updated["active"].as_bool(), updated["stock"].is_null()), (Some(false), true));
        app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 20})).await;
        let (_, active) = app.call("GET", "/api/v1/rewards?active=true", &acme.staff, None, None).await;
        assert_eq!(active["items"].as_array().unwrap().len(), 1);
        let (_, all) = app.call("GET", "/api/v1/rewards?limit=1", &acme.staff, None, None).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 1);
        assert!(all["next_cursor"].is_string());
        let (status, shown) = app.call("GET", &format!("/api/v1/rewards/{id}"), &acme.staff, None, None).await;
        assert_eq!((status, shown["description"].as_str()), (200, Some("One exterior wash")));
        let (status, problem) = app.call("GET", "/api/v1/rewards/nothing", &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("reward_not_found")));
    }

    async fn redeeming_spends_points_and_issues_a_voucher(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let wash = app.reward(&acme.admin, json!({"name": "Free wash", "cost_points": 60, "stock": 2, "valid_days": 7})).await;
        let (status, voucher) = redeem(&app, &acme, &customer, &wash, "r1").await;
        assert_eq!(status, 201, "{voucher}");
        assert_eq!(voucher["status"], "issued");
        assert_eq!(voucher["points_spent"], 60);
        assert_eq!(voucher["reward"], json!({"id": wash, "name": "Free wash"}));
        assert_eq!(voucher["account"]["balance"], 40);
        let code = voucher["code"].as_str().unwrap();
        assert_eq!(code.len(), 8);
        assert!(code.chars().all(|c| "ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(c)), "{code}");
        let qr = voucher["qr_payload"].as_str().unwrap();
        assert!(qr.len() >= 22 && !qr.contains(code) && !qr.contains(&customer));
        // A retry with the key returns the same voucher, not a second one.
        let (_, again) = redeem(&app, &acme, &customer, &wash, "r1").await;
        assert_eq!(again["id"], voucher["id"]);
        assert_eq!(app.balance(&acme.staff, &customer).await, 40);

        let (status, problem) = redeem(&app, &acme, &customer, &wash, "r2").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_points")));
        grant(&app, &acme, &customer, 200, "g2").await;
        assert_eq!(redeem(&app, &acme, &customer, &wash, "r3").await.0, 201);
        let (status, problem) = redeem(&app, &acme, &customer, &wash, "r4").await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("out_of_stock")));
        let inactive = app.reward(&acme.admin, json!({"name": "Old", "cost_points": 1, "active": false})).await;
        let (status, problem) = redeem(&app, &acme, &customer, &inactive, "r5").await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("reward_inactive")));
        let (status, problem) = redeem(&app, &acme, &customer, "nothing", "r6").await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("reward_not_found")));
        let (status, _) = app.call("POST", &format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, None,
            Some(json!({"reward_id": wash}))).await;
        assert_eq!(status, 400, "an Idempotency-Key is required");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 2);
        assert_eq!(app.db.scalar("SELECT COALESCE(MIN(stock), -1) AS n FROM rewards WHERE name = 'Free wash'"), 0);
    }

    async fn a_voucher_is_fulfilled_exactly_once_by_code_or_qr(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10})).await;
        let (_, first) = redeem(&app, &acme, &customer, &coffee, "r1").await;
        let (_, second) = redeem(&app, &acme, &customer, &coffee, "r2").await;
        let typed = first["code"].as_str().unwrap().to_lowercase();
        let typed = format!("{}-{}", &typed[..4], &typed[4..]);
        let (status, done) = fulfil(&app, &acme, json!({"code": typed})).await;
        assert_eq!((status, done["status"].as_str()), (200, Some("fulfilled")), "{done}");
        assert_eq!(done["id"], first["id"]);
        let (status, problem) = fulfil(&app, &acme, json!({"code": first["code"]})).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("already_fulfilled")));
        let (status, done) = fulfil(&app, &acme, json!({"qr_payload": second["qr_payload"]})).await;
        assert_eq!((status, done["id"].as_str()), (200, second["id"].as_str()));
        let (status, _) = fulfil(&app, &acme, json!({"code": "X", "qr_payload": "Y"})).await;
        assert_eq!(status, 422);
        // Another tenant's code is unknown here.
        let platform = app.platform_key();
        let beta = app.tenant(&platform, "beta").await;
        let (status, problem) = app.call("POST", "/api/v1/redemptions/fulfill", &beta.staff, None,
            Some(json!({"code": second["code"]}))).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("redemption_not_found")));
        let (_, listed) = app.call("GET", &format!("/api/v1/redemptions?status=fulfilled&customer_id={customer}"), &acme.staff, None, None).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        let (status, _) = app.call("GET", "/api/v1/redemptions?status=lost", &acme.staff, None, None).await;
        assert_eq!(status, 400);
        let (status, shown) = app.call("GET", &format!("/api/v1/redemptions/{}", first["id"].as_str().unwrap()), &acme.staff, None, None).await;
        assert_eq!((status, shown["status"].as_str()), (200, Some("fulfilled")));
        assert!(shown["closed_at"].is_string());
    }

    async fn wrong_codes_are_throttled_per_key(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10})).await;
        let (_, voucher) = redeem(&app, &acme, &customer, &coffee, "r1").await;
        for n in 0..10 {
            let (status, _) = fulfil(&app, &acme, json!({"code": format!("WRONG{n:03}")})).await;
            assert_eq!(status, 404, "wrong code {n}");
        }
        let response = app.send("POST", "/api/v1/redemptions/fulfill", &acme.staff, None, Some(json!({"code": "WRONG999"}))).await;
        assert_eq!(response.status(), 429);
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after));
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "rate_limited");
        // Even the right code waits now; another key is not affected.
        let (status, _) = fulfil(&app, &acme, json!({"code": voucher["code"]})).await;
        assert_eq!(status, 429);
        let (status, _) = app.call("POST", "/api/v1/redemptions/fulfill", &acme.admin, None, Some(json!({"code": voucher["code"]}))).await;
        assert_eq!(status, 200);
    }

    async fn minting_keys_does_not_lift_the_tenants_wrong_code_allowance(backend) {
        let (app, _, acme, _) = setup(backend).await;
        // Fifty wrong codes a minute per tenant: five fresh keys with ten each use it up.
        for k in 0..5 {
            let (_, issued) = app.call("POST", "/api/v1/api-keys", &acme.admin, None, Some(json!({"role": "staff"}))).await;
            let key = issued["key"].as_str().unwrap();
            for n in 0..10 {
                let (status, _) = app.call("POST", "/api/v1/redemptions/fulfill", key, None,
                    Some(json!({"code": format!("WRONG{k}{n:02}")}))).await;
                assert_eq!(status, 404, "key {k}, wrong code {n}");
            }
        }
        let (_, issued) = app.call("POST", "/api/v1/api-keys", &acme.admin, None, Some(json!({"role": "staff"}))).await;
        let (status, problem) = app.call("POST", "/api/v1/redemptions/fulfill", issued["key"].as_str().unwrap(), None,
            Some(json!({"code": "WRONG999"}))).await;
        assert_eq!((status, problem["code"].as_str()), (429, Some("rate_limited")), "{problem}");
    }

    async fn cancelling_refunds_once_and_restocks(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let wash = app.reward(&acme.admin, json!({"name": "Wash", "cost_points": 30, "stock": 1})).await;
        let (_, voucher) = redeem(&app, &acme, &customer, &wash, "r1").await;
        assert_eq!(app.balance(&acme.staff, &customer).await, 70);
        let path = format!("/api/v1/redemptions/{}/cancel", voucher["id"].as_str().unwrap());
        let (status, cancelled) = app.call("POST", &path, &acme.staff, None, None).await;
        assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
        assert_eq!(cancelled["account"]["balance"], 100);
        let (status, problem) = app.call("POST", &path, &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("redemption_cancelled")));
        let (status, problem) = fulfil(&app, &acme, json!({"code": voucher["code"]})).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("redemption_cancelled")));
        assert_eq!(app.balance(&acme.staff, &customer).await, 100, "refunded once");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'refund'"), 1);
        assert_eq!(redeem(&app, &acme, &customer, &wash, "r2").await.0, 201, "the stock came back");
    }

    async fn vouchers_expire_by_the_clock_and_the_sweep_refunds_once(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 25, "valid_days": 2, "stock": 5})).await;
        let (_, kept) = redeem(&app, &acme, &customer, &coffee, "r1").await;
        let (_, lapsed) = redeem(&app, &acme, &customer, &coffee, "r2").await;
        assert_eq!(app.balance(&acme.staff, &customer).await, 50);
        assert_eq!(fulfil(&app, &acme, json!({"code": kept["code"]})).await.0, 200);

        clock.advance(Duration::days(2));
        // Expired by the clock before any sweep: fulfil refuses, reads say expired.
        let (status, problem) = fulfil(&app, &acme, json!({"code": lapsed["code"]})).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("redemption_expired")));
        let id = lapsed["id"].as_str().unwrap();
        let (_, shown) = app.call("GET", &format!("/api/v1/redemptions/{id}"), &acme.staff, None, None).await;
        assert_eq!(shown["status"], "expired");
        let (status, problem) = app.call("POST", &format!("/api/v1/redemptions/{id}/cancel"), &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("redemption_expired")));
        assert_eq!(app.balance(&acme.staff, &customer).await, 50, "no refund before the sweep");

        // The sweep, run as the operator would (its clock is real time, days before ours: nothing
        // is due for it yet), then as the server does with the test clock.
        let output = Command::new(env!("CARGO_BIN_EXE_loyalty")).args(["jobs", "run-expiry"])
            .env("DATABASE_URL", app.db.url()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "expired 0 voucher(s); refunded 0 point(s); expired 0 unspent point(s); forgot 0 idempotency key(s) and 0 event(s)\n");
        let loyalty = support::service(&app.db, clock.clone());
        let report = loyalty.sweep_expired().unwrap();
        assert_eq!((report.expired, report.refunded_points, report.expired_points), (1, 25, 0));
        assert!(!loyalty.sweep_expired().unwrap().did_anything(), "idempotent");
        assert_eq!(app.balance(&acme.staff, &customer).await, 75);
        let (_, kept_now) = app.call("GET", &format!("/api/v1/redemptions/{}", kept["id"].as_str().unwrap()), &acme.staff, None, None).await;
        assert_eq!(kept_now["status"], "fulfilled", "a fulfilled voucher never expires");
        assert_eq!(app.db.scalar("SELECT stock AS n FROM rewards"), 4, "the expired voucher's item is back");
    }

    async fn expired_vouchers_keep_their_points_when_the_program_says_so(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        let mut program = quick_program(3);
        program["refund_expired_vouchers"] = json!(false);
        app.program(&acme.admin, program).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 25, "valid_days": 1})).await;
        redeem(&app, &acme, &customer, &coffee, "r1").await;
        clock.advance(Duration::days(1));
        let loyalty = support::service(&app.db, clock.clone());
        assert_eq!(loyalty.sweep_expired().unwrap().expired, 1);
        assert_eq!(app.balance(&acme.staff, &customer).await, 75);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions WHERE status = 'expired'"), 1);
    }

    async fn completed_cards_earn_the_milestone_reward_once(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        let wash = app.reward(&acme.admin, json!({"name": "Free wash", "cost_points": 500, "valid_days": 1})).await;
        let mut program = quick_program(2);
        program["milestone_reward_id"] = json!(wash);
        app.program(&acme.admin, program.clone()).await;
        program["milestone_reward_id"] = json!("no-such-reward");
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program)).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("milestone_reward_id")));

        let visits = format!("/api/v1/customers/{customer}/visits");
        let (_, first) = app.call("POST", &visits, &acme.staff, Some("v1"), Some(json!({}))).await;
        assert!(first["voucher"].is_null());
        let (_, second) = app.call("POST", &visits, &acme.staff, Some("v2"), Some(json!({}))).await;
        assert_eq!(second["milestone_reached"], true);
        let voucher = &second["voucher"];
        assert_eq!((voucher["points_spent"].as_i64(), voucher["milestone_visit_number"].as_i64()), (Some(0), Some(2)));
        assert_eq!(second["account"]["balance"], 110, "free: only the visit points moved");
        // The retried visit replays; it does not issue another voucher.
        let (_, replay) = app.call("POST", &visits, &acme.staff, Some("v2"), Some(json!({}))).await;
        assert_eq!(replay["voucher"]["id"], voucher["id"]);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 1);

        // Expired and swept, the milestone's voucher is not issued again.
        clock.advance(Duration::days(1));
        support::service(&app.db, clock.clone()).sweep_expired().unwrap();
        app.call("POST", &visits, &acme.staff, Some("v3"), Some(json!({}))).await;
        let (_, fourth) = app.call("POST", &visits, &acme.staff, Some("v4"), Some(json!({}))).await;
        assert_eq!(fourth["voucher"]["milestone_visit_number"], 4);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions WHERE milestone_visit_number = 2"), 1);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 2);
    }

    async fn the_card_shows_live_vouchers_and_affordable_rewards(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 40})).await;
        app.reward(&acme.admin, json!({"name": "Wash", "cost_points": 500})).await;
        app.reward(&acme.admin, json!({"name": "Gone", "cost_points": 1, "stock": 0})).await;
        let (_, voucher) = redeem(&app, &acme, &customer, &coffee, "r1").await;
        let token = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await.1["card_token"].as_str().unwrap().to_owned();
        let card: Value = app.get(&format!("/api/public/cards/{token}")).await.json().await.unwrap();
        assert_eq!(card["balance"], 60);
        assert_eq!(card["vouchers"].as_array().unwrap().len(), 1);
        assert_eq!(card["vouchers"][0]["code"], voucher["code"]);
        assert_eq!(card["vouchers"][0]["qr_payload"], voucher["qr_payload"]);
        assert_eq!(card["vouchers"][0]["reward_name"], "Coffee");
        let affordable: Vec<&str> = card["affordable_rewards"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(affordable, ["Coffee"]);
        fulfil(&app, &acme, json!({"code": voucher["code"]})).await;
        let card: Value = app.get(&format!("/api/public/cards/{token}")).await.json().await.unwrap();
        assert_eq!(card["vouchers"], json!([]), "a fulfilled voucher leaves the card");
    }

    async fn the_card_shows_at_most_twenty_live_vouchers_soonest_first(backend) {
        let (app, clock, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 4, "valid_days": 30})).await;
        let mut codes = Vec::new();
        for n in 0..21 {
            let (_, voucher) = redeem(&app, &acme, &customer, &coffee, &format!("r{n}")).await;
            codes.push(voucher["code"].as_str().unwrap().to_owned());
            clock.advance(Duration::minutes(1));
        }
        let token = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await.1["card_token"].as_str().unwrap().to_owned();
        let card: Value = app.get(&format!("/api/public/cards/{token}")).await.json().await.unwrap();
        let shown: Vec<&str> = card["vouchers"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
        assert_eq!(shown, codes[..20], "the twenty expiring soonest, soonest first");
    }

    async fn fulfil_and_cancel_retried_with_their_key_answer_as_the_first_time(backend) {
        let (app, _, acme, customer) = setup(backend).await;
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10})).await;
        let (_, first) = redeem(&app, &acme, &customer, &coffee, "r1").await;
        let (_, second) = redeem(&app, &acme, &customer, &coffee, "r2").await;
        let body = json!({"code": first["code"]});
        let (status, done) = app.call("POST", "/api/v1/redemptions/fulfill", &acme.staff, Some("till-9"), Some(body.clone())).await;
        assert_eq!(status, 200);
        let retry = app.send("POST", "/api/v1/redemptions/fulfill", &acme.staff, Some("till-9"), Some(body)).await;
        assert_eq!(retry.status(), 200, "not already_fulfilled: the same request");
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<Value>().await.unwrap(), done);

        let cancel = format!("/api/v1/redemptions/{}/cancel", second["id"].as_str().unwrap());
        let (status, cancelled) = app.call("POST", &cancel, &acme.staff, Some("cancel-1"), None).await;
        assert_eq!((status, cancelled["account"]["balance"].as_i64()), (200, Some(90)));
        let (status, again) = app.call("POST", &cancel, &acme.staff, Some("cancel-1"), None).await;
        assert_eq!((status, &again), (200, &cancelled));
        assert_eq!(app.balance(&acme.staff, &customer).await, 90, "refunded once");
    }
}

on_both_backends! {
    async fn staff_see_a_vouchers_code_only_when_it_is_issued(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let reward = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 5})).await;
        let enrolled = app.created("/api/v1/customers", &acme.staff, None, json!({"external_id": "C-1"})).await;
        let customer = enrolled["id"].as_str().unwrap();
        for key in ["v-1", "v-2"] {
            app.created(&format!("/api/v1/customers/{customer}/visits"), &acme.staff, Some(key), json!({})).await;
        }
        let redeem = format!("/api/v1/customers/{customer}/redemptions");
        let issued = app.created(&redeem, &acme.staff, Some("r-1"), json!({"reward_id": reward})).await;
        let code = issued["code"].as_str().unwrap();
        let qr = issued["qr_payload"].as_str().unwrap();
        assert!(!code.contains('*') && !qr.contains('*'), "the issuing answer shows them: {issued}");
        let masked = |text: &str| format!("{}{}", "*".repeat(text.len() - 2), &text[text.len() - 2..]);
        let id = issued["id"].as_str().unwrap();

        let (_, shown) = app.call("GET", &format!("/api/v1/redemptions/{id}"), &acme.staff, None, None).await;
        assert_eq!((shown["code"].as_str(), shown["qr_payload"].as_str()), (Some(masked(code).as_str()), Some(masked(qr).as_str())));
        let (_, listed) = app.call("GET", "/api/v1/redemptions", &acme.staff, None, None).await;
        assert_eq!(listed["items"][0]["code"], masked(code));
        let (_, by_admin) = app.call("GET", &format!("/api/v1/redemptions/{id}"), &acme.admin, None, None).await;
        assert_eq!(by_admin["code"], code, "a tenant admin sees the code");
        let card = app.get(&format!("/api/public/cards/{}", enrolled["card_token"].as_str().unwrap())).await;
        let card: Value = card.json().await.unwrap();
        assert_eq!(card["vouchers"][0]["code"], code, "the customer's own card shows it");

        // A masked code redeems nothing; the real one, once, and the answer is masked.
        let fulfil = "/api/v1/redemptions/fulfill";
        let (status, _) = app.call("POST", fulfil, &acme.staff, None, Some(json!({"code": masked(code)}))).await;
        assert_eq!(status, 404);
        let (status, fulfilled) = app.call("POST", fulfil, &acme.staff, None, Some(json!({"code": code}))).await;
        assert_eq!((status, fulfilled["code"].as_str()), (200, Some(masked(code).as_str())));
    }
}

on_both_backends! {
    async fn the_refund_look_up_by_voucher_has_an_index(backend) {
        let app = TestApp::spawn(backend).await;
        let indexed = match backend {
            support::Backend::Postgres => app.db.scalar(
                "SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = 'ledger_entries' \
                 AND indexdef LIKE '%(tenant_id, redemption_id)%'",
            ),
            support::Backend::Sqlite => app.db.scalar(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = 'ledger_entries' AND sql LIKE '%(tenant_id, redemption_id)%'",
            ),
        };
        assert_eq!(indexed, 1);
    }
}

use crate::support::{Backend, Tenant, TestApp, quick_program};
use serde_json::{Value, json};

/// An app with tenant acme on a quick program and one customer, Zoë.
async fn setup(backend: Backend, visits_per_reward: i64) -> (TestApp, Tenant, String) {
    let app = TestApp::spawn(backend).await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(visits_per_reward))
        .await;
    let customer = app
        .enrol(
            &acme.staff,
            json!({"name": "Zoë", "email": "zoe@example.com"}),
        )
        .await;
    (app, acme, customer)
}

async fn post(app: &TestApp, key: &str, path: &str, idem: &str, body: Value) -> (u16, Value) {
    app.call("POST", path, key, Some(idem), Some(body)).await
}

/// The ledger holds `entries` entries (of `kind`, if given), and every customer's balance equals
/// its ledger's sum (invariant 1 in docs/architecture.md).
fn assert_ledger(app: &TestApp, kind: Option<&str>, entries: i64) {
    let of_kind = kind
        .map(|kind| format!(" WHERE kind = '{kind}'"))
        .unwrap_or_default();
    let counted = app.db.scalar(&format!(
        "SELECT COUNT(*) AS n FROM ledger_entries{of_kind}"
    ));
    assert_eq!(counted, entries, "ledger entries{of_kind}");
    let unbalanced = app.db.scalar(
        "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> \
         (SELECT COALESCE(SUM(e.points), 0) FROM ledger_entries e \
          WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)",
    );
    assert_eq!(unbalanced, 0, "every balance equals its ledger sum");
}

on_both_backends! {
    async fn visits_earn_points_and_milestones_exactly_once(backend) {
        let (app, acme, customer) = setup(backend, 3).await;
        let path = format!("/api/v1/customers/{customer}/visits");
        let mut milestones = Vec::new();
        for n in 1..=7 {
            let (status, visit) = post(&app, &acme.staff, &path, &format!("visit-{n}"), json!({})).await;
            assert_eq!(status, 201, "{visit}");
            assert_eq!(visit["visit_count"], n);
            assert_eq!(visit["points_earned"], 5);
            assert_eq!(visit["account"]["balance"], 5 * n);
            milestones.push(visit["milestone_reached"].as_bool().unwrap());
        }
        assert_eq!(milestones, [false, false, true, false, false, true, false]);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'milestone'"), 2);
        // A retried visit is not a new visit.
        let (status, again) = post(&app, &acme.staff, &path, "visit-3", json!({})).await;
        assert_eq!((status, again["visit_count"].as_i64()), (201, Some(3)));
        assert_ledger(&app, Some("visit"), 7);
    }

    async fn visits_inside_the_window_are_too_soon(backend) {
        let (app, acme, customer) = setup(backend, 10).await;
        let mut program = quick_program(10);
        program["min_minutes_between_visits"] = json!(30);
        app.program(&acme.admin, program).await;
        let path = format!("/api/v1/customers/{customer}/visits");
        let ago = |minutes: i64| (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339();
        // An offline till records a visit two hours late; then one now, outside the window.
        assert_eq!(post(&app, &acme.staff, &path, "v1", json!({"note": "wash & wax", "occurred_at": ago(120)})).await.0, 201);
        assert_eq!(post(&app, &acme.staff, &path, "v2", json!({})).await.0, 201);
        let (status, problem) = post(&app, &acme.staff, &path, "v3", json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("visit_too_soon")));
        assert!(problem["next_allowed_at"].is_string());
        // Backdating past the last visit does not get around the window.
        let (status, problem) = post(&app, &acme.staff, &path, "v4", json!({"occurred_at": ago(60)})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("visit_too_soon")));
        let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let (status, problem) = post(&app, &acme.staff, &path, "v5", json!({"occurred_at": future})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        let (status, problem) = post(&app, &acme.staff, &path, "v6", json!({"occurred_at": ago(8 * 24 * 60)})).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("occurred_at")));
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), 2);
    }

    async fn purchases_earn_floored_points_in_the_tenant_currency(backend) {
        let (app, acme, customer) = setup(backend, 10).await;
        let mut program = quick_program(10);
        program["spend_rule"] = json!({"points": 1, "per_amount_minor": 1000});
        program["min_purchase_minor"] = json!(500);
        app.program(&acme.admin, program).await;
        let path = format!("/api/v1/customers/{customer}/purchases");
        let (status, bought) = post(&app, &acme.staff, &path, "p1", json!({"amount_minor": 10500, "currency": "EUR", "reference": "R-1"})).await;
        assert_eq!(status, 201, "{bought}");
        assert_eq!(bought["points_earned"], 10, "105.00 at 1 point per 10.00");
        assert_eq!(bought["account"]["balance"], 10);
        let (_, small) = post(&app, &acme.staff, &path, "p2", json!({"amount_minor": 499, "currency": "eur"})).await;
        assert_eq!(small["points_earned"], 0, "under the minimum purchase");

        let (status, problem) = post(&app, &acme.staff, &path, "p3", json!({"amount_minor": 1000, "currency": "USD"})).await;
        assert_eq!((status, problem["code"].as_str(), problem["expected_currency"].as_str()), (422, Some("currency_mismatch"), Some("EUR")));
        for amount in [json!(0), json!(-5), json!(1_000_000_000_001_i64)] {
            let (status, problem) = post(&app, &acme.staff, &path, "p4", json!({"amount_minor": amount, "currency": "EUR"})).await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{amount}");
        }
        let (status, problem) = post(&app, &acme.staff, &path, "p5", json!({"amount_minor": 1.5, "currency": "EUR"})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_body")), "never a float");
        let (status, problem) = post(&app, &acme.staff, "/api/v1/customers/nobody/purchases", "p6", json!({"amount_minor": 100, "currency": "EUR"})).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("customer_not_found")));
        assert_ledger(&app, None, 2);
    }

    async fn adjustments_never_overdraw_unless_told(backend) {
        let (app, acme, customer) = setup(backend, 10).await;
        let path = format!("/api/v1/customers/{customer}/adjustments");
        let (status, adjusted) = post(&app, &acme.admin, &path, "a1", json!({"points": 50, "reason": "welcome bonus"})).await;
        assert_eq!((status, adjusted["account"]["balance"].as_i64()), (201, Some(50)));
        let (status, problem) = post(&app, &acme.admin, &path, "a2", json!({"points": -80, "reason": "correction"})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_points")));
        assert_eq!(problem["balance"], 50);
        let (status, overdrawn) = post(&app, &acme.admin, &path, "a3", json!({"points": -80, "reason": "chargeback", "allow_negative": true})).await;
        assert_eq!((status, overdrawn["account"]["balance"].as_i64()), (201, Some(-30)));
        for bad in [json!({"points": 0, "reason": "x"}), json!({"points": 5, "reason": ""}), json!({"points": 5_000_000_000_i64, "reason": "x"})] {
            let (status, problem) = post(&app, &acme.admin, &path, "a4", bad.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{bad}");
        }
        let (status, problem) = post(&app, &acme.admin, &path, "a5", json!({"points": 5})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_body")), "reason is required");
        assert_ledger(&app, None, 2);
    }

    async fn reversals_undo_a_purchase_once(backend) {
        let (app, acme, customer) = setup(backend, 10).await;
        let (_, bought) = post(&app, &acme.staff, &format!("/api/v1/customers/{customer}/purchases"), "p1", json!({"amount_minor": 4000, "currency": "EUR"})).await;
        assert_eq!(bought["points_earned"], 40);
        let (_, spent) = post(&app, &acme.admin, &format!("/api/v1/customers/{customer}/adjustments"), "a1", json!({"points": -30, "reason": "gift card"})).await;
        assert_eq!(spent["account"]["balance"], 10);

        let entry = bought["ledger_entry_id"].as_str().unwrap();
        let path = format!("/api/v1/ledger/{entry}/reversal");
        let (status, reversed) = post(&app, &acme.staff, &path, "r1", json!({"reason": "returned"})).await;
        assert_eq!(status, 201, "{reversed}");
        assert_eq!(reversed["points"], -40);
        assert_eq!(reversed["reversed_entry_id"], entry);
        assert_eq!(reversed["balance_negative"], true, "the points were already spent");
        assert_eq!(reversed["account"]["balance"], -30);
        assert_eq!(reversed["account"]["lifetime_points"], 0);

        let (status, problem) = post(&app, &acme.staff, &path, "r2", json!({"reason": "again"})).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("already_reversed")));
        assert_eq!(problem["reversal_id"], reversed["ledger_entry_id"]);
        let adjustment = spent["ledger_entry_id"].as_str().unwrap();
        let (status, problem) = post(&app, &acme.staff, &format!("/api/v1/ledger/{adjustment}/reversal"), "r3", json!({"reason": "no"})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("not_reversible")));
        let (status, problem) = post(&app, &acme.staff, "/api/v1/ledger/nothing/reversal", "r4", json!({"reason": "no"})).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("ledger_entry_not_found")));
        assert_ledger(&app, Some("reversal"), 1);
    }

    async fn idempotency_keys_replay_refuse_reuse_and_are_required(backend) {
        let (app, acme, customer) = setup(backend, 10).await;
        let path = format!("/api/v1/customers/{customer}/purchases");
        let body = json!({"amount_minor": 2500, "currency": "EUR", "reference": "R-9"});
        let first = app.send("POST", &path, &acme.staff, Some("till-1/tx-9"), Some(body.clone())).await;
        assert_eq!(first.status(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();
        // The same data in another key order and spacing is the same request.
        let reordered: Value = serde_json::from_str(r#"{"reference":"R-9",  "currency":"EUR","amount_minor":2500}"#).unwrap();
        let retry = app.send("POST", &path, &acme.staff, Some("till-1/tx-9"), Some(reordered)).await;
        assert_eq!(retry.status(), 201);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<Value>().await.unwrap(), first, "the first response, as it was");

        let (status, problem) = post(&app, &acme.staff, &path, "till-1/tx-9", json!({"amount_minor": 9999, "currency": "EUR"})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
        let (status, problem) = post(&app, &acme.staff, &format!("/api/v1/customers/{customer}/visits"), "till-1/tx-9", json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")), "another route");

        let (status, problem) = app.call("POST", &path, &acme.staff, None, Some(body.clone())).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("idempotency_key_required")));
        let (status, problem) = app.call("POST", &path, &acme.staff, Some(&"k".repeat(256)), Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_idempotency_key")));
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), 1);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM idempotency_keys"), 1);

        // Keys belong to a tenant: another tenant may use the same one.
        let platform = app.platform_key();
        let beta = app.tenant(&platform, "beta").await;
        let other = app.enrol(&beta.staff, json!({"email": "b@example.com"})).await;
        let (status, _) = post(&app, &beta.staff, &format!("/api/v1/customers/{other}/purchases"), "till-1/tx-9", json!({"amount_minor": 100, "currency": "EUR"})).await;
        assert_eq!(status, 201);
    }

    async fn ledger_lists_newest_first_with_provenance(backend) {
        let (app, acme, customer) = setup(backend, 2).await;
        let visits = format!("/api/v1/customers/{customer}/visits");
        post(&app, &acme.staff, &visits, "v1", json!({})).await;
        let response = app.client.post(app.url(&visits)).bearer_auth(&acme.staff)
            .header("Idempotency-Key", "v2").header("X-Request-ID", "till-7-req-1")
            .json(&json!({"note": "second"})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        post(&app, &acme.staff, &format!("/api/v1/customers/{customer}/purchases"), "p1", json!({"amount_minor": 300, "currency": "EUR"})).await;

        let (status, page) = app.call("GET", &format!("/api/v1/customers/{customer}/ledger?limit=2"), &acme.staff, None, None).await;
        assert_eq!(status, 200);
        let kinds: Vec<&str> = page["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["purchase", "milestone"]);
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = app.call("GET", &format!("/api/v1/customers/{customer}/ledger?after={cursor}"), &acme.staff, None, None).await;
        let rest = rest["items"].as_array().unwrap();
        assert_eq!(rest.len(), 2);
        let second_visit = &rest[0];
        assert_eq!(second_visit["kind"], "visit");
        assert_eq!(second_visit["visit_number"], 2);
        assert_eq!(second_visit["reason"], "second");
        assert_eq!(second_visit["request_id"], "till-7-req-1");
        assert_eq!(second_visit["balance_after"], 10);
        assert!(second_visit["actor"].as_str().unwrap().len() > 10, "the staff key's id");
        let (status, problem) = app.call("GET", "/api/v1/customers/nobody/ledger", &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("customer_not_found")));
    }

    async fn the_public_card_shows_the_customers_own_view(backend) {
        let (app, acme, customer) = setup(backend, 3).await;
        post(&app, &acme.staff, &format!("/api/v1/customers/{customer}/visits"), "v1", json!({})).await;
        let (_, shown) = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await;
        let token = shown["card_token"].as_str().unwrap();
        let card = app.get(&format!("/api/public/cards/{token}")).await;
        assert_eq!(card.status(), 200);
        assert_eq!(card.headers()["cache-control"], "no-store");
        assert_eq!(card.json::<Value>().await.unwrap(), json!({
            "tenant_name": "Tenant acme", "first_name": "Zoë", "balance": 5, "visits": 1,
            "visits_to_next_milestone": 2, "vouchers": [], "affordable_rewards": []
        }));
        let missing = app.get("/api/public/cards/not-a-token").await;
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.json::<Value>().await.unwrap()["code"], "card_not_found");
        let by_id = app.get(&format!("/api/public/cards/{customer}")).await;
        assert_eq!(by_id.status(), 404, "the customer id is not a card token");
    }
}

on_both_backends! {
    async fn purchases_are_bounded_by_the_program_and_never_overflow_silently(backend) {
        let (app, acme, customer) = setup(backend, 5).await;
        let purchase = format!("/api/v1/customers/{customer}/purchases");
        let entries = || app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries");
        let before = entries();
        let (status, problem) = app
            .call("POST", &purchase, &acme.staff, Some("big"),
                Some(json!({"amount_minor": 10_000_001, "currency": "EUR"})))
            .await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{problem}");
        assert_eq!(problem["errors"][0]["field"], "amount_minor");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("10000000"), "{problem}");

        let mut program = quick_program(5);
        program["min_purchase_minor"] = json!(100);
        program["max_purchase_minor"] = json!(99);
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program.clone())).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("max_purchase_minor")));
        program["max_purchase_minor"] = json!(5_000);
        let (status, saved) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program)).await;
        assert_eq!((status, saved["max_purchase_minor"].as_i64()), (200, Some(5_000)));
        let (status, _) = app
            .call("POST", &purchase, &acme.staff, Some("over"), Some(json!({"amount_minor": 5_001, "currency": "EUR"})))
            .await;
        assert_eq!(status, 422);
        assert_eq!(entries(), before, "nothing refused was written");
        let (status, _) = app
            .call("POST", &purchase, &acme.staff, Some("at"), Some(json!({"amount_minor": 5_000, "currency": "EUR"})))
            .await;
        assert_eq!(status, 201);

        // A program whose arithmetic leaves the points' range: refused, not clamped.
        let mut generous = quick_program(5);
        generous["spend_rule"] = json!({"points": 1_000_000, "per_amount_minor": 1});
        generous["max_purchase_minor"] = json!(1_000_000_000_000_i64);
        generous["tiers"] = json!([{"name": "Max", "min_lifetime_points": 0, "multiplier_percent": 1000}]);
        let (status, saved) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(generous)).await;
        assert_eq!(status, 200, "{saved}");
        let (status, problem) = app
            .call("POST", &purchase, &acme.staff, Some("huge"),
                Some(json!({"amount_minor": 1_000_000_000_000_i64, "currency": "EUR"})))
            .await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("points_overflow")), "{problem}");
        assert_eq!(app.balance(&acme.staff, &customer).await, 50);
    }
}

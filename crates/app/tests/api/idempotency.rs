//! Idempotency keys over time and across tills: scoped to the API key that sent them, kept for
//! `IDEMPOTENCY_TTL_HOURS`, then a new request, and deleted by the expiry sweep.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ManualClock, TestApp, TestDb, quick_program};

/// A second staff key for the tenant, as a second till would have.
async fn second_till(app: &TestApp, admin: &str) -> String {
    let issued = app
        .created("/api/v1/api-keys", admin, None, json!({"role": "staff"}))
        .await;
    issued["key"].as_str().unwrap().to_owned()
}

/// POSTs a visit with `idempotency_key`; returns status, whether it was a replay, and the body.
async fn visit(
    app: &TestApp,
    key: &str,
    customer: &str,
    idempotency_key: &str,
    body: Value,
) -> (u16, bool, Value) {
    let path = format!("/api/v1/customers/{customer}/visits");
    let response = app
        .send("POST", &path, key, Some(idempotency_key), Some(body))
        .await;
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (status, replayed, response.json().await.unwrap())
}

on_both_backends! {
    async fn two_tills_sending_the_same_key_make_two_visits_and_each_replays_its_own(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let till_b = second_till(&app, &acme.admin).await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;

        let (status_a, replayed_a, first_a) =
            visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        let (status_b, replayed_b, first_b) =
            visit(&app, &till_b, &customer, "visit-1", json!({})).await;
        assert_eq!((status_a, replayed_a, status_b, replayed_b), (201, false, 201, false));
        assert_ne!(first_a["ledger_entry_id"], first_b["ledger_entry_id"]);
        assert_eq!(first_b["visit_count"], 2, "two tills, two visits");

        let (status, replayed, again_a) =
            visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        assert_eq!((status, replayed), (201, true));
        assert_eq!(again_a, first_a, "till A gets its own first response");
        let (_, replayed, again_b) = visit(&app, &till_b, &customer, "visit-1", json!({})).await;
        assert!(replayed);
        assert_eq!(again_b, first_b, "till B gets its own");

        let (status, _, problem) =
            visit(&app, &till_b, &customer, "visit-1", json!({"note": "other"})).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
        assert_eq!(app.balance(&acme.staff, &customer).await, 10);
    }

    async fn a_key_older_than_its_time_to_live_is_a_new_request_and_the_sweep_deletes_it(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(
            TestDb::create(backend),
            &[("IDEMPOTENCY_TTL_HOURS", "1"), ("EXPIRY_SWEEP_INTERVAL_SECS", "1")],
            clock.clone(),
        )
        .await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;

        let (_, replayed, first) = visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        assert!(!replayed);
        clock.advance(chrono::Duration::minutes(59));
        let (_, replayed, again) = visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        assert!(replayed, "within the hour the key still answers");
        assert_eq!(again, first);

        clock.advance(chrono::Duration::minutes(2));
        let (status, replayed, fresh) =
            visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        assert_eq!((status, replayed), (201, false), "past the hour it is a new request");
        assert_eq!(fresh["visit_count"], 2);

        clock.advance(chrono::Duration::hours(2));
        let mut left = i64::MAX;
        for _ in 0..50 {
            left = app.db.scalar("SELECT COUNT(*) AS n FROM idempotency_keys");
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0, "the sweep deleted every record past its time to live");
        assert_eq!(app.balance(&acme.staff, &customer).await, 10);
    }

    async fn a_record_from_before_keys_were_scoped_still_answers_any_key_of_its_tenant(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let till_b = second_till(&app, &acme.admin).await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let (_, _, first) = visit(&app, &acme.staff, &customer, "visit-1", json!({})).await;
        // As the migration leaves a record made before it: no API key.
        app.db.execute("UPDATE idempotency_keys SET api_key_id = ''");

        let (status, replayed, again) = visit(&app, &till_b, &customer, "visit-1", json!({})).await;
        assert_eq!((status, replayed), (201, true));
        assert_eq!(again, first, "a retry across the upgrade is not applied twice");
        assert_eq!(app.balance(&acme.staff, &customer).await, 5);
    }
}

on_both_backends! {
    async fn kept_responses_hold_the_card_token_only_where_the_answer_introduced_it(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        let reward = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 5})).await;
        let enrolled = app
            .created("/api/v1/customers", &acme.staff, Some("enrol-1"), json!({"external_id": "C-1"}))
            .await;
        let customer = enrolled["id"].as_str().unwrap();
        let token = enrolled["card_token"].as_str().unwrap();

        let visited = app
            .created(&format!("/api/v1/customers/{customer}/visits"), &acme.staff, Some("v-1"), json!({}))
            .await;
        assert_eq!(visited["account"]["balance"], 5);
        assert!(visited["account"].get("card_token").is_none(), "{visited}");
        app.created(&format!("/api/v1/customers/{customer}/purchases"), &acme.staff, Some("p-1"),
            json!({"amount_minor": 500, "currency": "EUR"})).await;
        let redeemed = app
            .created(&format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, Some("r-1"),
                json!({"reward_id": reward}))
            .await;
        assert!(redeemed["account"].get("card_token").is_none());
        let (_, read) = app.call("GET", &format!("/api/v1/customers/{customer}"), &acme.staff, None, None).await;
        assert_eq!(read["card_token"], token, "reading the customer still shows it");

        let kept = |pattern: &str| {
            app.db.scalar(&format!(
                "SELECT COUNT(*) AS n FROM idempotency_keys WHERE response_body LIKE '%{pattern}%'"
            ))
        };
        assert_eq!(kept(token), 1, "only the enrolment's kept answer holds the token");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM idempotency_keys"), 4);
    }
}

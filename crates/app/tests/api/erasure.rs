//! Erasure and access: a customer who asks to be forgotten is, everywhere the service keeps
//! them, while the tenant's totals stay; before that, they can have a copy of everything held.

use serde_json::{Value, json};

use crate::events::read_feed;
use crate::support::{TestApp, quick_program};

const NAME: &str = "Zoë Müller";
const EMAIL: &str = "zoe@example.com";
const PHONE: &str = "+4915123456789";
const EXTERNAL_ID: &str = "POS-77";

/// Rows of `table` whose `column` holds `text`.
fn rows_holding(app: &TestApp, table: &str, column: &str, text: &str) -> i64 {
    app.db.scalar(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE '%{text}%'"
    ))
}

on_both_backends! {
    async fn an_erased_customer_is_forgotten_everywhere_and_the_totals_stay(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let reward = app.reward(&acme.admin, json!({"name": "Free wash", "cost_points": 5})).await;
        let mut program = quick_program(2);
        program["milestone_reward_id"] = json!(reward);
        app.program(&acme.admin, program).await;
        let enrolment = json!({"name": NAME, "email": EMAIL, "phone": PHONE, "external_id": EXTERNAL_ID});
        let created = app.created("/api/v1/customers", &acme.staff, Some("enrol-1"), enrolment.clone()).await;
        let customer = created["id"].as_str().unwrap().to_owned();
        let card_token = created["card_token"].as_str().unwrap().to_owned();
        let at = |path: &str| format!("/api/v1/customers/{customer}{path}");
        for key in ["v1", "v2"] {
            app.created(&at("/visits"), &acme.staff, Some(key), json!({})).await;
        }
        app.created(&at("/purchases"), &acme.staff, Some("p1"), json!({"amount_minor": 2_500, "currency": "EUR"})).await;
        app.created(&at("/redemptions"), &acme.staff, Some("r1"), json!({"reward_id": reward})).await;

        // Access first: everything held, in one document.
        let (status, export) = app.call("GET", &at("/export"), &acme.admin, None, None).await;
        assert_eq!(status, 200, "{export}");
        assert_eq!((export["customer"]["email"].as_str(), export["customer"]["card_token"].as_str()), (Some(EMAIL), Some(card_token.as_str())));
        let kinds: Vec<&str> = export["ledger"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["redemption", "purchase", "milestone", "visit", "visit"], "newest first: {export}");
        assert_eq!(export["vouchers"].as_array().unwrap().len(), 2, "the milestone's and the redeemed one");
        let held: i64 = export["point_lots"].as_array().unwrap().iter().map(|l| l["remaining"].as_i64().unwrap()).sum();
        assert_eq!(held, export["customer"]["balance"].as_i64().unwrap());
        assert_eq!(app.call("GET", &at("/export"), &acme.staff, None, None).await.0, 403);

        let points_before = app.db.scalar("SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) AS n FROM ledger_entries");
        let balance_before = app.db.scalar("SELECT CAST(SUM(balance) AS BIGINT) AS n FROM customers");
        let vouchers_before = app.db.scalar("SELECT COUNT(*) AS n FROM redemptions");
        assert!(rows_holding(&app, "idempotency_keys", "response_body", EMAIL) > 0, "the enrolment's answer was stored");

        assert_eq!(app.call("DELETE", &at(""), &acme.staff, None, None).await.0, 403, "tenant admins erase");
        assert_eq!(app.call("DELETE", &at(""), &acme.admin, None, None).await.0, 204);
        assert_eq!(app.call("DELETE", &at(""), &acme.admin, None, None).await.0, 204, "again: nothing to do");

        for (method, path, body) in [
            ("GET", at(""), None),
            ("PATCH", at(""), Some(json!({"name": "Back"}))),
            ("GET", at("/ledger"), None),
            ("GET", at("/export"), None),
            ("POST", at("/visits"), Some(json!({}))),
            ("POST", at("/redemptions"), Some(json!({"reward_id": reward}))),
        ] {
            let key = (method == "POST").then_some("after-erasure");
            let (status, problem) = app.call(method, &path, &acme.admin, key, body).await;
            assert_eq!((status, problem["code"].as_str()), (404, Some("customer_erased")), "{method} {path}");
        }
        let card = app.get(&format!("/api/public/cards/{card_token}")).await;
        assert_eq!(card.status(), 404, "the card's URL stops working");
        let (_, found) = app.call("GET", &format!("/api/v1/customers?email={EMAIL}"), &acme.staff, None, None).await;
        assert_eq!(found["items"], json!([]));
        let (_, listed) = app.call("GET", "/api/v1/customers", &acme.staff, None, None).await;
        assert_eq!(listed["items"], json!([]), "lists leave erased customers out");

        // Nothing about the person is left in any table.
        for text in [NAME, EMAIL, PHONE, EXTERNAL_ID, card_token.as_str()] {
            for (table, column) in [("customers", "name"), ("customers", "email"), ("customers", "phone"),
                ("customers", "external_id"), ("customers", "card_token"),
                ("idempotency_keys", "response_body"), ("events", "data")] {
                assert_eq!(rows_holding(&app, table, column, text), 0, "{text} in {table}.{column}");
            }
        }
        // A retried enrolment is refused: it neither brings the person back nor replays them.
        let (status, replayed) = app.call("POST", "/api/v1/customers", &acme.staff, Some("enrol-1"), Some(enrolment)).await;
        assert_eq!((status, replayed["code"].as_str()), (422, Some("idempotency_key_reused")), "{replayed}");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM customers"), 1, "not enrolled again");

        // The ledger and vouchers stay, with their amounts.
        assert_eq!(app.db.scalar("SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) AS n FROM ledger_entries"), points_before);
        assert_eq!(app.db.scalar("SELECT CAST(SUM(balance) AS BIGINT) AS n FROM customers"), balance_before);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM redemptions"), vouchers_before);

        // The feed tells integrations, and its earlier events forget the person too.
        let feed = read_feed(&app, &acme.admin, &format!("&customer_id={customer}")).await;
        let erased: Vec<&Value> = feed.iter().filter(|e| e["type"] == "customer.erased").collect();
        assert_eq!(erased.len(), 1, "{feed:#?}");
        assert_eq!((erased[0]["data"]["id"].as_str(), &erased[0]["data"]["email"]), (Some(customer.as_str()), &Value::Null));
        let created = feed.iter().find(|e| e["type"] == "customer.created").unwrap();
        assert_eq!((&created["data"]["name"], &created["data"]["balance"]), (&Value::Null, &json!(0)));
    }
}

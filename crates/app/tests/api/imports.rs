//! Importing customers from CSV: all or nothing with every problem's line, conflicts skipped or
//! refused, opening balances on the ledger with lots that expire, the export imported back, and
//! the same from the command line.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::{Value, json};

use crate::cli::{loyalty, stderr, stdout};
use crate::support::{ManualClock, TestApp, TestDb, quick_program};

/// POSTs a CSV body to the import; returns status and JSON body.
async fn import(
    app: &TestApp,
    key: &str,
    query: &str,
    idempotency_key: Option<&str>,
    csv: &str,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/imports/customers{query}")))
        .bearer_auth(key)
        .header("Content-Type", "text/csv; charset=utf-8")
        .body(csv.to_owned());
    if let Some(idempotency_key) = idempotency_key {
        request = request.header("Idempotency-Key", idempotency_key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn customer_count(app: &TestApp, key: &str) -> usize {
    app.call("GET", "/api/v1/customers?limit=200", key, None, None)
        .await
        .1["items"]
        .as_array()
        .unwrap()
        .len()
}

/// The customers export's rows, without the header.
async fn exported(app: &TestApp, admin: &str) -> BTreeSet<Vec<String>> {
    let body = app
        .send("GET", "/api/v1/exports/customers", admin, None, None)
        .await
        .bytes()
        .await
        .unwrap();
    csv::Reader::from_reader(&body[..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

on_both_backends! {
    async fn a_file_with_problems_imports_nothing_and_lists_each(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let csv = "name,phone,email,opening_points\n\
                   Ann,+4915100000001,ann@example.com,10\n\
                   Bob,+4915100000002,not-an-email,5\n\
                   Cem,+4915100000003,cem@example.com,many\n\
                   Dan,0151 00000001,dan@example.com,0\n\
                   Eve,,,3\n\
                   Fay,+4915100000006,fay@example.com,1\n";
        let (status, body) = import(&app, &acme.admin, "", Some("bad-1"), csv).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "import_invalid");
        let problems: Vec<(i64, Option<&str>, &str)> = body["problems"].as_array().unwrap().iter()
            .map(|p| (p["line"].as_i64().unwrap(), p["column"].as_str(), p["code"].as_str().unwrap()))
            .collect();
        assert_eq!(problems, [
            (3, Some("email"), "invalid_value"),
            (4, Some("opening_points"), "invalid_number"),
            (5, Some("phone"), "duplicate_in_file"),
            (6, None, "missing_identifier"),
        ], "{body}");
        assert_eq!(customer_count(&app, &acme.staff).await, 0, "nothing was imported");

        let (status, body) = import(&app, &acme.admin, "", Some("bad-2"), "name,shoe_size\nAnn,42\n").await;
        assert_eq!((status, body["problems"][0]["code"].as_str()), (422, Some("unknown_column")), "{body}");
        assert_eq!(import(&app, &acme.staff, "", Some("k"), csv).await.0, 403);
        assert_eq!(import(&app, &acme.admin, "", None, csv).await.0, 400, "a key is required");
        assert_eq!(import(&app, &acme.admin, "?on_conflict=maybe", Some("k"), csv).await.0, 400);
        let response = app.client.post(app.url("/api/v1/imports/customers")).bearer_auth(&acme.admin)
            .header("Idempotency-Key", "json").json(&json!({"name": "Ann"})).send().await.unwrap();
        assert_eq!(response.status(), 415);
    }

    async fn opening_balances_are_ledger_entries_with_expiring_lots(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let wash = app.reward(&acme.admin, json!({"name": "Free wash", "cost_points": 10, "valid_days": 30})).await;
        let mut program = quick_program(5);
        program["milestone_reward_id"] = json!(wash);
        program["points_expire_after_days"] = json!(30);
        app.program(&acme.admin, program).await;
        let existing = app.enrol(&acme.staff, json!({"name": "Old", "email": "old@example.com"})).await;
        // A byte order mark, semicolons, a quoted name with the separator in it.
        let csv = "\u{feff}Name;Email;External_ID;Opening_Points;Opening_Visits\n\
                   \"Müller; Zoë\";zoe@example.com;Z-1;120;4\n\
                   Old Again;OLD@example.com;;50;0\n\
                   Ben;;B-2;;\n";
        let (status, body) = import(&app, &acme.admin, "", Some("conflict"), csv).await;
        assert_eq!(status, 422, "fails on the existing customer by default: {body}");
        assert_eq!(body["problems"][0]["line"], 3);
        assert_eq!(body["problems"][0]["code"], "customer_exists");
        assert_eq!(customer_count(&app, &acme.staff).await, 1);

        let (status, body) = import(&app, &acme.admin, "?on_conflict=skip", Some("import-1"), csv).await;
        assert_eq!((status, &body), (200, &json!({"created": 2, "skipped": 1})));
        let (status, replay) = import(&app, &acme.admin, "?on_conflict=skip", Some("import-1"), csv).await;
        assert_eq!((status, replay), (200, body), "a retry gets the first answer");
        assert_eq!(customer_count(&app, &acme.staff).await, 3, "and imports nothing twice");
        let (status, _) = import(&app, &acme.admin, "?on_conflict=skip", Some("import-1"), "email\nx@example.com\n").await;
        assert_eq!(status, 422, "the same key with another file");

        let (_, found) = app.call("GET", "/api/v1/customers?external_id=Z-1", &acme.staff, None, None).await;
        let zoe = &found["items"][0];
        assert_eq!(zoe["name"], "Müller; Zoë");
        assert_eq!((zoe["balance"].as_i64(), zoe["visits"].as_i64()), (Some(120), Some(4)));
        let zoe_id = zoe["id"].as_str().unwrap().to_owned();
        let (_, ledger) = app.call("GET", &format!("/api/v1/customers/{zoe_id}/ledger"), &acme.staff, None, None).await;
        assert_eq!(ledger["items"][0]["kind"], "opening_balance");
        assert_eq!(ledger["items"][0]["points"], 120);
        assert_eq!(app.balance(&acme.staff, &existing).await, 0, "the skipped row left the existing customer alone");
        let (_, found) = app.call("GET", "/api/v1/customers?q=zoe", &acme.staff, None, None).await;
        assert_eq!(found["items"][0]["id"], zoe_id.as_str(), "imported customers are searchable");

        // The fifth visit, ten days on, completes the card the first four started elsewhere.
        clock.advance(Duration::days(10));
        let (status, visit) = app.call("POST", &format!("/api/v1/customers/{zoe_id}/visits"), &acme.staff, Some("v5"), Some(json!({}))).await;
        assert_eq!(status, 201, "{visit}");
        let (_, vouchers) = app.call("GET", &format!("/api/v1/redemptions?customer_id={zoe_id}"), &acme.staff, None, None).await;
        assert_eq!(vouchers["items"].as_array().unwrap().len(), 1, "{vouchers}");

        // The opening points expire with the program's lots, the visit's points later.
        clock.advance(Duration::days(22));
        assert_eq!(app.balance(&acme.staff, &zoe_id).await, 5, "only the visit's points are left");
        let invariant = app.db.scalar("SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(points), 0) FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)");
        assert_eq!(invariant, 0, "balances equal their ledgers");
    }

    async fn the_export_imports_back_into_another_tenant(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(10)).await;
        for n in 0..25 {
            let id = app.enrol(&acme.staff, json!({"name": format!("Kunde, Nr. \"{n}\""), "phone": format!("+49151000{n:05}"), "email": format!("k{n}@example.com"), "external_id": format!("K-{n}")})).await;
            for v in 0..(n % 4) {
                app.created(&format!("/api/v1/customers/{id}/visits"), &acme.staff, Some(&format!("v-{n}-{v}")), json!({})).await;
            }
        }
        let original = exported(&app, &acme.admin).await;
        assert_eq!(original.len(), 25);
        let body = app.send("GET", "/api/v1/exports/customers", &acme.admin, None, None).await.text().await.unwrap();

        let beta = app.tenant(&platform, "beta").await;
        let (status, imported) = import(&app, &beta.admin, "", Some("round-trip"), &body).await;
        assert_eq!((status, imported), (200, json!({"created": 25, "skipped": 0})));
        assert_eq!(exported(&app, &beta.admin).await, original, "the same customers, balances and visits");
    }

    async fn the_command_line_imports_and_lists_problems(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "email,opening_points\nann@example.com,1\nnot-mail,2\n").unwrap();
        let env = [("DATABASE_URL", app.db.url())];
        let refused = loyalty(&["import", "customers", "--tenant", "acme", bad.to_str().unwrap()], &env).await;
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("line 3, email:"), "{}", stderr(&refused));
        assert_eq!(customer_count(&app, &acme.staff).await, 0);

        let good = dir.path().join("good.csv");
        let rows: String = (0..1500).map(|n| format!("C-{n},{n}\n")).collect();
        std::fs::write(&good, format!("external_id,opening_points\n{rows}")).unwrap();
        let done = loyalty(&["import", "customers", "--tenant", "acme", good.to_str().unwrap()], &env).await;
        assert!(done.status.success(), "{}", stderr(&done));
        assert!(stdout(&done).contains("imported 1500 customer(s)"), "{}", stdout(&done));
        let total = app.db.scalar("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS n FROM customers WHERE tenant_id = 'acme'");
        assert_eq!(total, (0..1500).sum::<i64>());
        let again = loyalty(&["import", "customers", "--tenant", "acme", "--on-conflict", "skip", good.to_str().unwrap()], &env).await;
        assert!(stdout(&again).contains("imported 0 customer(s); skipped 1500"), "{}", stdout(&again));
    }

    async fn an_import_over_the_size_limit_is_refused(backend) {
        let app = TestApp::spawn_with(TestDb::create(backend), &[("IMPORT_MAX_BYTES", "1000")]).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let rows: String = (0..1000).map(|n| format!("C-{n}\n")).collect();
        let (status, body) = import(&app, &acme.admin, "", Some("big"), &format!("external_id\n{rows}")).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")), "{body}");
        assert_eq!(customer_count(&app, &acme.staff).await, 0);
    }

    async fn an_import_far_larger_than_a_json_body_is_taken(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        // About 400 KB with a Content-Length, over the 64 KiB every other body is held to; blank
        // rows of separators in between are skipped.
        let rows: String = (0..8000).map(|n| format!("Customer with a long name number {n},C-{n:06},{n}\n,,\n")).collect();
        let csv = format!("name,external_id,opening_points\n{rows}");
        assert!(csv.len() > 300_000);
        let (status, body) = import(&app, &acme.admin, "", Some("large"), &csv).await;
        assert_eq!((status, body), (200, json!({"created": 8000, "skipped": 0})));
        let total = app.db.scalar("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS n FROM customers WHERE tenant_id = 'acme'");
        assert_eq!(total, (0..8000).sum::<i64>());
    }
}

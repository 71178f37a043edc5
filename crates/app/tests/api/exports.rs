//! CSV exports: every customer (in the import's columns) and the ledger over the tenant's local
//! days, streamed page by page.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::support::{ManualClock, TestApp, TestDb};

/// The rows of a CSV answer (header first), after checking it is one.
async fn csv_rows(app: &TestApp, path: &str, key: &str) -> Vec<Vec<String>> {
    let response = app.send("GET", path, key, None, None).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.bytes().await.unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&body[..])
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

on_both_backends! {
    async fn customers_export_in_the_imports_columns_across_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        const COUNT: usize = 230;
        for n in 0..COUNT {
            app.enrol(&acme.staff, json!({"external_id": format!("C-{n:03}")})).await;
        }
        let tricky = app.enrol(&acme.staff, json!({"name": "Smith, \"Jo\"", "email": "jo@example.com", "phone": "+4915123456789"})).await;
        app.created(&format!("/api/v1/customers/{tricky}/adjustments"), &acme.admin, Some("a1"), json!({"points": 40, "reason": "welcome"})).await;
        let gone = app.enrol(&acme.staff, json!({"external_id": "GONE"})).await;
        assert_eq!(app.call("DELETE", &format!("/api/v1/customers/{gone}"), &acme.admin, None, None).await.0, 204);

        let rows = csv_rows(&app, "/api/v1/exports/customers", &acme.admin).await;
        assert_eq!(rows[0], ["name", "phone", "email", "external_id", "opening_points", "opening_visits"]);
        assert_eq!(rows.len(), 1 + COUNT + 1, "every customer once, the erased one left out");
        assert_eq!(rows[1], ["Smith, \"Jo\"", "+4915123456789", "jo@example.com", "", "40", "0"], "newest first, quoted as CSV");
        let mut ids: Vec<&str> = rows[2..].iter().map(|row| row[3].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), COUNT);
        assert!(!ids.contains(&"GONE"));
        assert_eq!(app.send("GET", "/api/v1/exports/customers", &acme.staff, None, None).await.status(), 403);
        let other = app.tenant(&platform, "other").await;
        assert_eq!(csv_rows(&app, "/api/v1/exports/customers", &other.admin).await.len(), 1, "another tenant's: only the header");
    }

    async fn the_ledger_export_covers_the_tenants_local_days(backend) {
        // 23:30 on 28 March 2026 in Berlin, an hour before its midnight.
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 3, 28, 22, 30, 0).unwrap());
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, _) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None, Some(json!({"time_zone": "Europe/Berlin"}))).await;
        assert_eq!(status, 200);
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let adjust = |key: &'static str| {
            let path = format!("/api/v1/customers/{customer}/adjustments");
            let admin = acme.admin.clone();
            let app = &app;
            async move { app.created(&path, &admin, Some(key), json!({"points": 5, "reason": "tick, \"quoted\""})).await }
        };
        let saturday = adjust("sat").await;
        clock.advance(chrono::Duration::hours(1)); // 00:30 on Sunday in Berlin, still Saturday in UTC
        let sunday = adjust("sun").await;

        let sat = csv_rows(&app, "/api/v1/exports/ledger?from=2026-03-28&to=2026-03-28", &acme.admin).await;
        assert_eq!(sat[0][..4], ["id", "customer_id", "kind", "points"]);
        assert_eq!(sat.len(), 2, "{sat:?}");
        assert_eq!((sat[1][0].as_str(), sat[1][2].as_str(), sat[1][3].as_str()), (saturday["ledger_entry_id"].as_str().unwrap(), "adjustment", "5"));
        assert_eq!(sat[1][9], "tick, \"quoted\"");
        let sun = csv_rows(&app, "/api/v1/exports/ledger?from=2026-03-29&to=2026-03-29", &acme.admin).await;
        assert_eq!(sun.len(), 2, "{sun:?}");
        assert_eq!(sun[1][0], sunday["ledger_entry_id"].as_str().unwrap());
        let both = csv_rows(&app, "/api/v1/exports/ledger?from=2026-03-01&to=2026-03-31", &acme.admin).await;
        assert_eq!(both.len(), 3, "oldest first: {both:?}");
        assert_eq!(both[1][0], sat[1][0]);

        for (query, status) in [("from=2026-03-29&to=2026-03-28", 422), ("from=yesterday&to=2026-03-28", 400), ("to=2026-03-28", 400),
            ("from=0001-01-01&to=9998-12-31", 200), ("from=2026-01-01&to=9999-12-31", 400),
            ("from=2026-01-01&to=+262143-12-31", 400)] {
            let response = app.send("GET", &format!("/api/v1/exports/ledger?{query}"), &acme.admin, None, None).await;
            assert_eq!(response.status(), status, "{query}");
        }
        assert_eq!(app.send("GET", "/api/v1/exports/ledger?from=2026-03-01&to=2026-03-31", &acme.staff, None, None).await.status(), 403);
    }
}

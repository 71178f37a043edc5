//! A tenant's days are its local days: points expire at its own midnight, also across the
//! changes to and from daylight saving time.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::support::{Backend, ManualClock, TestApp, TestDb, quick_program};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Earns 10 points at `earned_at` for a tenant in `zone` whose points expire one day after the
/// day they were earned, and checks they are there until `expires_at` and gone from then on.
async fn points_expire_at(
    backend: Backend,
    zone: &str,
    earned_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) {
    let clock = ManualClock::at(earned_at);
    let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
    let platform = app.platform_key();
    let body = json!({"id": "shop", "name": "Shop", "vertical": "cafe", "country": "DE",
        "currency": "EUR", "time_zone": zone});
    let (status, created) = app
        .call("POST", "/api/v1/tenants", &platform, None, Some(body))
        .await;
    assert_eq!(
        (status, created["time_zone"].as_str()),
        (201, Some(zone)),
        "{created}"
    );
    let shop = app.tenant_keys(&platform, "shop").await;
    let mut program = quick_program(10);
    program["points_expire_after_days"] = json!(1);
    app.program(&shop.admin, program).await;
    let customer = app.enrol(&shop.staff, json!({"external_id": "C-1"})).await;
    let path = format!("/api/v1/customers/{customer}/adjustments");
    app.created(
        &path,
        &shop.admin,
        Some("earn"),
        json!({"points": 10, "reason": "welcome"}),
    )
    .await;

    clock.set(expires_at - chrono::Duration::seconds(1));
    assert_eq!(
        app.balance(&shop.staff, &customer).await,
        10,
        "{zone}: still there a second before"
    );
    clock.set(expires_at);
    assert_eq!(
        app.balance(&shop.staff, &customer).await,
        0,
        "{zone}: gone at its midnight"
    );
}

on_both_backends! {
    async fn berlin_points_expire_at_midnight_after_the_spring_change(backend) {
        // 23:30 on Saturday 28 March 2026 in Berlin (CET). Sunday 29 March has 23 hours; its
        // end is midnight CEST, 22:00 UTC (a UTC tenant's would end two hours later).
        points_expire_at(backend, "Europe/Berlin", utc(2026, 3, 28, 22, 30), utc(2026, 3, 29, 22, 0)).await;
    }

    async fn los_angeles_points_expire_at_midnight_after_the_spring_change(backend) {
        // 20:00 on Saturday 7 March 2026 in Los Angeles (PST), already 8 March in UTC. Sunday 8
        // March (clocks forward at 02:00) ends at midnight PDT, 07:00 UTC on 9 March.
        points_expire_at(backend, "America/Los_Angeles", utc(2026, 3, 8, 4, 0), utc(2026, 3, 9, 7, 0)).await;
    }

    async fn los_angeles_points_expire_at_midnight_after_the_autumn_change(backend) {
        // 20:00 on Saturday 31 October 2026 (PDT). Sunday 1 November has 25 hours and ends at
        // midnight PST, 08:00 UTC on 2 November.
        points_expire_at(backend, "America/Los_Angeles", utc(2026, 11, 1, 3, 0), utc(2026, 11, 2, 8, 0)).await;
    }

    async fn a_tenant_without_a_zone_keeps_utc_days(backend) {
        points_expire_at(backend, "UTC", utc(2026, 3, 28, 22, 30), utc(2026, 3, 30, 0, 0)).await;
    }

    async fn the_zone_is_an_iana_name_set_on_create_or_change(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        app.tenant(&platform, "acme").await;
        let (_, shown) = app.call("GET", "/api/v1/tenants/acme", &platform, None, None).await;
        assert_eq!(shown["time_zone"], "UTC", "UTC unless set: {shown}");
        for bad in ["Berlin", "europe/berlin", "CET+1", "", "Mars/Olympus"] {
            let (status, problem) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
                Some(json!({"time_zone": bad}))).await;
            assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("time_zone")), "{bad}: {problem}");
        }
        let (status, changed) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
            Some(json!({"time_zone": "America/Los_Angeles"}))).await;
        assert_eq!((status, changed["time_zone"].as_str()), (200, Some("America/Los_Angeles")), "{changed}");
    }
}

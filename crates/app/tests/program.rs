#![allow(clippy::unwrap_used)] // In tests a panic is the failure report.

mod support;

use serde_json::json;
use support::{TestApp, quick_program};

on_both_backends! {
    async fn tenants_start_with_the_default_program_and_admins_replace_it(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, program) = app.call("GET", "/api/v1/program", &acme.staff, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(program, json!({
            "visits_per_reward": 10, "points_per_visit": 10,
            "spend_rule": {"points": 1, "per_amount_minor": 100},
            "min_purchase_minor": 0, "min_minutes_between_visits": 60,
            "milestone_reward_id": null, "refund_expired_vouchers": true
        }));
        let (status, saved) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(quick_program(5))).await;
        assert_eq!((status, &saved), (200, &quick_program(5)));
        let (_, read) = app.call("GET", "/api/v1/program", &acme.staff, None, None).await;
        assert_eq!(read, quick_program(5));
        // Replacing again is an update, not a second row.
        app.program(&acme.admin, quick_program(7)).await;
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM programs"), 1);
    }

    async fn absurd_programs_are_refused_naming_each_field(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let bad = json!({
            "visits_per_reward": 0, "points_per_visit": -5,
            "spend_rule": {"points": 1, "per_amount_minor": 0},
            "min_purchase_minor": -1, "min_minutes_between_visits": 1000000
        });
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(bad)).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["visits_per_reward", "points_per_visit", "spend_rule.per_amount_minor", "min_purchase_minor", "min_minutes_between_visits"]);

        let mut missing = quick_program(5);
        missing["spend_rule"].as_object_mut().unwrap().remove("points");
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(missing)).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_body")));
        assert!(problem["detail"].as_str().unwrap().contains("spend_rule"), "the path names the field: {problem}");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM programs"), 0, "nothing written");
    }
}

use crate::support::{TestApp, quick_program};
use serde_json::json;

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
            "min_purchase_minor": 0, "max_purchase_minor": 10_000_000,
            "min_minutes_between_visits": 60, "milestone_reward_id": null, "refund_expired_vouchers": true, "tiers": [],
        "points_expire_after_days": null
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

    async fn tiers_follow_lifetime_points_and_multiply_purchase_points(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let mut program = quick_program(5);
        program["tiers"] = json!([
            {"name": "Gold", "min_lifetime_points": 500, "multiplier_percent": 200},
            {"name": "Silver", "min_lifetime_points": 100, "multiplier_percent": 150}
        ]);
        let (status, saved) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program.clone())).await;
        assert_eq!(status, 200, "{saved}");
        let names: Vec<&str> = saved["tiers"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Silver", "Gold"], "kept lowest first");

        let (_, customer) = app.call("POST", "/api/v1/customers", &acme.staff, None, Some(json!({"email": "t@example.com"}))).await;
        assert!(customer["tier"].is_null());
        assert_eq!(customer["points_to_next_tier"], 100);
        let id = customer["id"].as_str().unwrap();
        let purchase = format!("/api/v1/customers/{id}/purchases");
        let (_, first) = app.call("POST", &purchase, &acme.staff, Some("p1"), Some(json!({"amount_minor": 10000, "currency": "EUR"}))).await;
        assert_eq!(first["points_earned"], 100, "no tier yet: the spend rule's points");
        assert_eq!(first["account"]["tier"], "Silver");
        assert_eq!(first["account"]["points_to_next_tier"], 400);
        let (_, second) = app.call("POST", &purchase, &acme.staff, Some("p2"), Some(json!({"amount_minor": 1099, "currency": "EUR"}))).await;
        assert_eq!(second["points_earned"], 15, "10 points at 150%, floored");
        // Spending does not lower the tier: it follows lifetime points, not the balance.
        let (_, spent) = app.call("POST", &format!("/api/v1/customers/{id}/adjustments"), &acme.admin, Some("a1"),
            Some(json!({"points": -100, "reason": "gift"}))).await;
        assert_eq!((spent["account"]["balance"].as_i64(), spent["account"]["tier"].as_str()), (Some(15), Some("Silver")));

        program["tiers"] = json!([
            {"name": "A", "min_lifetime_points": 10, "multiplier_percent": 99},
            {"name": "A", "min_lifetime_points": 10, "multiplier_percent": 1001}
        ]);
        let (status, problem) = app.call("PUT", "/api/v1/program", &acme.admin, None, Some(program)).await;
        assert_eq!(status, 422);
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["tiers[0].multiplier_percent", "tiers[1].multiplier_percent", "tiers", "tiers"]);
    }
}

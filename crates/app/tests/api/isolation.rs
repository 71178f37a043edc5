use crate::support::{TestApp, quick_program};
use serde_json::json;

on_both_backends! {
    async fn a_tenants_key_finds_nothing_of_another_tenant(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let a = app.tenant(&platform, "tenant-a").await;
        let b = app.tenant(&platform, "tenant-b").await;
        app.program(&b.admin, quick_program(5)).await;
        let b_customer = app.enrol(&b.staff, json!({"email": "b@example.com", "external_id": "B-1"})).await;
        let (_, bought) = app.call("POST", &format!("/api/v1/customers/{b_customer}/purchases"), &b.staff, Some("b-p1"),
            Some(json!({"amount_minor": 1000, "currency": "EUR"}))).await;
        let b_entry = bought["ledger_entry_id"].as_str().unwrap().to_owned();
        let (_, b_keys) = app.call("GET", "/api/v1/api-keys", &b.admin, None, None).await;
        let b_key_id = b_keys["items"][0]["id"].as_str().unwrap().to_owned();

        let not_found = [
            ("GET", format!("/api/v1/customers/{b_customer}"), a.staff.clone(), None, "customer_not_found"),
            ("PATCH", format!("/api/v1/customers/{b_customer}"), a.staff.clone(), Some(json!({"name": "Mallory"})), "customer_not_found"),
            ("GET", format!("/api/v1/customers/{b_customer}/ledger"), a.staff.clone(), None, "customer_not_found"),
            ("POST", format!("/api/v1/customers/{b_customer}/visits"), a.staff.clone(), Some(json!({})), "customer_not_found"),
            ("POST", format!("/api/v1/customers/{b_customer}/purchases"), a.staff.clone(), Some(json!({"amount_minor": 100, "currency": "EUR"})), "customer_not_found"),
            ("POST", format!("/api/v1/customers/{b_customer}/adjustments"), a.admin.clone(), Some(json!({"points": 100, "reason": "steal"})), "customer_not_found"),
            ("POST", format!("/api/v1/ledger/{b_entry}/reversal"), a.staff.clone(), Some(json!({"reason": "steal"})), "ledger_entry_not_found"),
            ("DELETE", format!("/api/v1/api-keys/{b_key_id}"), a.admin.clone(), None, "api_key_not_found"),
        ];
        for (n, (method, path, key, body, code)) in not_found.into_iter().enumerate() {
            let (status, problem) = app.call(method, &path, &key, Some(&format!("iso-{n}")), body).await;
            assert_eq!((status, problem["code"].as_str()), (404, Some(code)), "{method} {path}");
            assert!(!problem.to_string().contains("b@example.com"), "no data of tenant B leaks");
        }
        // Lookups and lists only see the caller's own customers.
        let (_, found) = app.call("GET", "/api/v1/customers?email=b@example.com", &a.staff, None, None).await;
        assert_eq!(found["items"], json!([]));
        let (_, listed) = app.call("GET", "/api/v1/customers", &a.staff, None, None).await;
        assert_eq!(listed["items"], json!([]));
        let (_, a_keys) = app.call("GET", "/api/v1/api-keys", &a.admin, None, None).await;
        assert!(a_keys["items"].as_array().unwrap().iter().all(|k| k["tenant_id"] == "tenant-a"));

        // Nothing of B changed.
        let (_, customer) = app.call("GET", &format!("/api/v1/customers/{b_customer}"), &b.staff, None, None).await;
        assert_eq!((customer["balance"].as_i64(), customer["name"].as_str()), (Some(10), None));
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), 1);
        assert_eq!(app.call("GET", "/api/v1/program", &b.staff, None, None).await.0, 200);
        assert_eq!(app.call("GET", "/api/v1/program", &b.admin, None, None).await.1, app.call("GET", "/api/v1/program", &b.staff, None, None).await.1);
        assert_eq!(app.call("GET", "/api/v1/program", &a.staff, None, None).await.1["visits_per_reward"], 10, "A keeps its own program");
    }
}

//! The audit trail: every kind of change that is not a ledger posting is recorded with its key,
//! its time and the fields it changed, personal data masked; read newest first, by key.

use serde_json::{Value, json};

use crate::support::{TestApp, quick_program};

/// The whole trail, newest first, read three entries a page.
async fn trail(app: &TestApp, admin: &str, filter: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = format!("/api/v1/audit?limit=3{filter}");
    loop {
        let (status, page) = app.call("GET", &path, admin, None, None).await;
        assert_eq!(status, 200, "{page}");
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/audit?limit=3{filter}&after={cursor}"),
            None => return entries,
        }
    }
}

fn change<'a>(entry: &'a Value, field: &str) -> (&'a Value, &'a Value) {
    let found = entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("{field} in {entry}"));
    (&found["before"], &found["after"])
}

on_both_backends! {
    async fn every_kind_of_change_is_in_the_trail_with_its_key(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (_, keys) = app.call("GET", "/api/v1/api-keys", &acme.admin, None, None).await;
        let key_id = |role: &str| keys["items"].as_array().unwrap().iter().find(|k| k["role"] == role).unwrap()["id"].as_str().unwrap().to_owned();
        let (admin_id, staff_id) = (key_id("tenant_admin"), key_id("staff"));

        let (status, _) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None, Some(json!({"name": "Acme Wash"}))).await;
        assert_eq!(status, 200);
        let coffee = app.reward(&acme.admin, json!({"name": "Coffee", "cost_points": 10, "valid_days": 30})).await;
        let (status, _) = app.call("PATCH", &format!("/api/v1/rewards/{coffee}"), &acme.admin, None, Some(json!({"cost_points": 20}))).await;
        assert_eq!(status, 200);
        app.program(&acme.admin, quick_program(3)).await;
        let issued = app.created("/api/v1/api-keys", &acme.admin, None, json!({"role": "staff", "label": "till 2"})).await;
        let issued_id = issued["key"]["id"].as_str().or(issued["id"].as_str()).unwrap().to_owned();
        assert_eq!(app.call("DELETE", &format!("/api/v1/api-keys/{issued_id}"), &acme.admin, None, None).await.0, 204);

        let zoe = app.enrol(&acme.staff, json!({"name": "Zoë Müller", "email": "zoe@example.com"})).await;
        let (status, _) = app.call("PATCH", &format!("/api/v1/customers/{zoe}"), &acme.staff, None, Some(json!({"name": "Zoë Schmidt", "email": "zoe.schmidt@example.com"}))).await;
        assert_eq!(status, 200);
        assert_eq!(app.call("POST", &format!("/api/v1/customers/{zoe}/card-token"), &acme.staff, None, None).await.0, 200);
        app.created(&format!("/api/v1/customers/{zoe}/adjustments"), &acme.admin, Some("a1"), json!({"points": 50, "reason": "welcome"})).await;
        // Redeemed by the admin, who sees the whole code (staff see it masked).
        let first = app.created(&format!("/api/v1/customers/{zoe}/redemptions"), &acme.admin, Some("r1"), json!({"reward_id": coffee})).await;
        let second = app.created(&format!("/api/v1/customers/{zoe}/redemptions"), &acme.admin, Some("r2"), json!({"reward_id": coffee})).await;
        let first_id = first["voucher"]["id"].as_str().or(first["id"].as_str()).unwrap().to_owned();
        let code = first["voucher"]["code"].as_str().or(first["code"].as_str()).unwrap().to_owned();
        let second_id = second["voucher"]["id"].as_str().or(second["id"].as_str()).unwrap().to_owned();
        let (status, fulfilled) = app.call("POST", "/api/v1/redemptions/fulfill", &acme.staff, Some("f1"), Some(json!({"code": code}))).await;
        assert_eq!(status, 200, "{fulfilled}");
        let (_, voucher) = app.call("GET", &format!("/api/v1/redemptions/{first_id}"), &acme.admin, None, None).await;
        assert_eq!(voucher["fulfilled_by_key_id"], staff_id.as_str(), "the fulfilling key is kept on the voucher");
        let (status, _) = app.call("POST", &format!("/api/v1/redemptions/{second_id}/cancel"), &acme.admin, Some("c1"), None).await;
        assert_eq!(status, 200);
        let response = app.client.post(app.url("/api/v1/imports/customers")).bearer_auth(&acme.admin)
            .header("Idempotency-Key", "i1").header("Content-Type", "text/csv").body("email\nnew@example.com\n").send().await.unwrap();
        assert_eq!(response.status(), 200);
        let before_erasure = trail(&app, &acme.admin, "").await;
        let updated = before_erasure.iter().find(|e| e["action"] == "customer.updated").unwrap();
        assert_eq!(change(updated, "name"), (&json!("Z***er"), &json!("Z***dt")), "names masked");
        assert_eq!(change(updated, "email"), (&json!("z***om"), &json!("z***om")));
        assert_eq!(app.call("DELETE", &format!("/api/v1/customers/{zoe}"), &acme.admin, None, None).await.0, 204);

        let entries = trail(&app, &acme.admin, "").await;
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, [
            "customer.erased", "customers.imported", "voucher.cancelled", "voucher.fulfilled",
            "customer.card_token_rotated", "customer.updated", "api_key.revoked", "api_key.issued",
            "program.replaced", "reward.updated", "reward.created", "tenant.updated",
            "api_key.issued", "api_key.issued", "tenant.created",
        ], "newest first, ledger postings and enrolments left out; the first keys by the platform admin");
        let by = |action: &str| entries.iter().find(|e| e["action"] == action).unwrap();

        assert_eq!(change(by("tenant.updated"), "name"), (&json!("Tenant acme"), &json!("Acme Wash")));
        assert_eq!(by("reward.updated")["subject_id"], coffee.as_str());
        assert_eq!(change(by("reward.updated"), "cost_points"), (&json!(10), &json!(20)));
        assert_eq!(by("reward.updated")["changes"].as_array().unwrap().len(), 1, "only what changed");
        assert_eq!(change(by("program.replaced"), "visits_per_reward").1, &json!(3));
        assert_eq!(by("api_key.issued")["subject_id"], issued_id.as_str(), "the newest issue is the admin's");
        assert_eq!(change(by("api_key.issued"), "label"), (&Value::Null, &json!("till 2")));
        assert!(change(by("api_key.revoked"), "revoked_at").1.is_string());
        assert_eq!(change(by("customer.updated"), "name"), (&json!("***"), &json!("***")), "the erasure scrubbed even the masks");
        assert_eq!(change(by("customer.updated"), "email"), (&json!("***"), &json!("***")));
        assert_eq!(by("customer.updated")["changes"].as_array().unwrap().len(), 2);
        assert!(change(by("customer.card_token_rotated"), "card_token").0.as_str().unwrap().contains("***"));
        assert_eq!(change(by("voucher.fulfilled"), "status"), (&json!("issued"), &json!("fulfilled")));
        assert_eq!(change(by("voucher.fulfilled"), "fulfilled_by_key_id").1, &json!(staff_id));
        assert_eq!(change(by("voucher.cancelled"), "status"), (&json!("issued"), &json!("cancelled")));
        assert_eq!(change(by("customers.imported"), "created").1, &json!(1));
        assert_eq!(change(by("customer.erased"), "name"), (&json!("***"), &Value::Null));

        for entry in &entries {
            let actor = entry["actor_key_id"].as_str().unwrap();
            let first_keys = [admin_id.as_str(), staff_id.as_str()].contains(&entry["subject_id"].as_str().unwrap());
            let expected = match entry["action"].as_str().unwrap() {
                "tenant.created" | "tenant.updated" => None,
                "api_key.issued" if first_keys => None,
                "customer.updated" | "customer.card_token_rotated" | "voucher.fulfilled" => Some(&staff_id),
                _ => Some(&admin_id),
            };
            match expected {
                Some(id) => assert_eq!(actor, id, "{entry}"),
                None => assert!(actor != admin_id && actor != staff_id && !actor.is_empty(), "the platform key: {entry}"),
            }
            assert!(entry["created_at"].is_string());
        }
        let text = serde_json::to_string(&entries).unwrap();
        for personal in ["Zoë", "Müller", "zoe@example.com", "zoe.schmidt", "Z***", "z***"] {
            assert!(!text.contains(personal), "{personal} is masked everywhere");
        }

        let staffs = trail(&app, &acme.admin, &format!("&actor_key_id={staff_id}")).await;
        let actions: Vec<&str> = staffs.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["voucher.fulfilled", "customer.card_token_rotated", "customer.updated"]);
        assert_eq!(app.call("GET", "/api/v1/audit", &acme.staff, None, None).await.0, 403);
        let (status, page) = app.call("GET", "/api/v1/audit?actor_key_id=%00", &acme.admin, None, None).await;
        assert_eq!((status, page["items"].as_array().map(Vec::len)), (200, Some(0)), "no key has that id");
        let beta = app.tenant(&platform, "beta").await;
        let others = trail(&app, &beta.admin, "").await;
        let actions: Vec<&str> = others.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["api_key.issued", "api_key.issued", "tenant.created"], "another tenant's trail holds only its own");
    }
}

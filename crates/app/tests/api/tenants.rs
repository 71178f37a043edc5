use crate::support::{TestApp, json_of};
use serde_json::json;

fn acme() -> serde_json::Value {
    json!({
        "id": "acme-wash", "name": "Acme Wash", "vertical": "car_wash", "country": "de",
        "currency": "eur", "primary_domain": "Rewards.Acme-Wash.com", "subdomain": "acme",
        "branding": {"primary_color": "#ff0000"}, "features": {"referrals": true}
    })
}

on_both_backends! {
    async fn create_show_list_and_update_tenants(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let (status, created) = app.call("POST", "/api/v1/tenants", &platform, None, Some(acme())).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["id"], "acme-wash");
        assert_eq!(created["country"], "DE");
        assert_eq!(created["currency"], "EUR");
        assert_eq!(created["loyalty_type"], "hybrid");
        assert_eq!(created["primary_domain"], "rewards.acme-wash.com");
        assert_eq!(created["branding"], json!({"primary_color": "#ff0000"}));

        let (status, shown) = app.call("GET", "/api/v1/tenants/acme-wash", &platform, None, None).await;
        assert_eq!((status, &shown), (200, &created));

        // The public documents see it by its domain at once.
        let meta = app.client.get(app.url("/api/public/tenant-meta"))
            .header("Host", "rewards.acme-wash.com").send().await.unwrap();
        assert_eq!(json_of(meta, "application/json").await["tenant_id"], "acme-wash");

        let (status, page) = app.call("GET", "/api/v1/tenants?limit=1", &platform, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(page["items"][0]["id"], "acme-wash");
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = app.call("GET", &format!("/api/v1/tenants?limit=1&after={cursor}"), &platform, None, None).await;
        assert_eq!(rest["items"][0]["id"], "default");
        assert!(rest["next_cursor"].is_null());

        let (status, updated) = app.call("PATCH", "/api/v1/tenants/acme-wash", &platform, None,
            Some(json!({"name": "Acme Car Wash", "primary_domain": null, "loyalty_type": "points"}))).await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["name"], "Acme Car Wash");
        assert_eq!(updated["loyalty_type"], "points");
        assert!(updated["primary_domain"].is_null(), "null clears");
        assert_eq!(updated["subdomain"], "acme", "absent keeps");
        assert_eq!(updated["created_at"], created["created_at"]);
    }

    async fn duplicates_conflict_and_bad_fields_are_named(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        assert_eq!(app.call("POST", "/api/v1/tenants", &platform, None, Some(acme())).await.0, 201);

        let (status, problem) = app.call("POST", "/api/v1/tenants", &platform, None, Some(acme())).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("tenant_exists")));
        let mut same_domain = acme();
        same_domain["id"] = json!("other");
        same_domain["subdomain"] = json!("other");
        let (status, problem) = app.call("POST", "/api/v1/tenants", &platform, None, Some(same_domain)).await;
        assert_eq!((status, problem["code"].as_str(), problem["field"].as_str()), (409, Some("domain_taken"), Some("primary_domain")));
        let mut same_subdomain = acme();
        same_subdomain["id"] = json!("other");
        same_subdomain["primary_domain"] = json!(null);
        let (status, problem) = app.call("POST", "/api/v1/tenants", &platform, None, Some(same_subdomain)).await;
        assert_eq!((status, problem["field"].as_str()), (409, Some("subdomain")));
        let (status, _) = app.call("PATCH", "/api/v1/tenants/default", &platform, None, Some(json!({"subdomain": "acme"}))).await;
        assert_eq!(status, 409, "a PATCH cannot take another tenant's subdomain");

        let bad = json!({"id": "Bad Id", "name": " ", "vertical": "car_wash", "country": "XX", "currency": "EURO",
            "branding": {"primary_color": "red"}});
        let (status, problem) = app.call("POST", "/api/v1/tenants", &platform, None, Some(bad)).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["id", "name", "country", "currency", "branding.primary_color"]);

        let (status, problem) = app.call("GET", "/api/v1/tenants/nobody", &platform, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("tenant_not_found")));
        let (status, _) = app.call("POST", "/api/v1/tenants/nobody/api-keys", &platform, None, Some(json!({"role": "staff"}))).await;
        assert_eq!(status, 404);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM tenants"), 2, "default and acme-wash only");
    }

    async fn platform_issues_tenant_keys_once(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let (status, issued) = app.call("POST", "/api/v1/tenants/default/api-keys", &platform, None,
            Some(json!({"role": "tenant_admin", "label": "Owner"}))).await;
        assert_eq!(status, 201);
        assert_eq!(issued["tenant_id"], "default");
        let key = issued["key"].as_str().unwrap();
        let stored = app.db.scalar(&format!("SELECT COUNT(*) AS n FROM api_keys WHERE secret_hash LIKE '%{}%'", &key[key.len() - 20..]));
        assert_eq!(stored, 0, "only a hash of the secret is stored");
        assert_eq!(app.call("GET", "/api/v1/api-keys", key, None, None).await.0, 200);
        let (status, problem) = app.call("POST", "/api/v1/tenants/default/api-keys", &platform, None,
            Some(json!({"role": "platform_admin"}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    }
}

on_both_backends! {
    async fn if_match_refuses_a_change_made_against_an_old_version(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        app.tenant(&platform, "acme").await;
        let read = app.send("GET", "/api/v1/tenants/acme", &platform, None, None).await;
        let etag = read.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let patch = |if_match: &str, name: &str| {
            app.client
                .patch(app.url("/api/v1/tenants/acme"))
                .bearer_auth(&platform)
                .header("If-Match", if_match)
                .json(&json!({"name": name}))
                .send()
        };
        let changed = patch(&etag, "Acme One").await.unwrap();
        assert_eq!(changed.status(), 200);
        let newer = changed.headers()["etag"].to_str().unwrap().to_owned();
        assert_ne!(newer, etag, "a change makes a new version");

        for stale in [etag.as_str(), "\"0\"", "W/\"0\"", "not-a-tag"] {
            let refused = patch(stale, "Acme Two").await.unwrap();
            assert_eq!(refused.status(), 412, "{stale}");
            let problem: serde_json::Value = refused.json().await.unwrap();
            assert_eq!(problem["code"], "precondition_failed");
        }
        let (_, tenant) = app.call("GET", "/api/v1/tenants/acme", &platform, None, None).await;
        assert_eq!(tenant["name"], "Acme One", "a refused change wrote nothing");

        assert_eq!(patch(&format!("\"x\", {newer}"), "Acme Three").await.unwrap().status(), 200);
        assert_eq!(patch("*", "Acme Four").await.unwrap().status(), 200);
    }

    async fn concurrent_changes_of_different_fields_are_all_kept(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        app.tenant(&platform, "acme").await;
        for round in 0..20 {
            let name = format!("Acme {round}");
            let color = format!("#0000{round:02}");
            let (renamed, rebranded) = tokio::join!(
                app.call("PATCH", "/api/v1/tenants/acme", &platform, None, Some(json!({"name": name}))),
                app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
                    Some(json!({"branding": {"primary_color": color}}))),
            );
            assert_eq!((renamed.0, rebranded.0), (200, 200));
            let (_, tenant) = app.call("GET", "/api/v1/tenants/acme", &platform, None, None).await;
            assert_eq!(
                (tenant["name"].as_str(), tenant["branding"]["primary_color"].as_str()),
                (Some(name.as_str()), Some(color.as_str())),
                "round {round}: neither change lost the other"
            );
        }
    }
}

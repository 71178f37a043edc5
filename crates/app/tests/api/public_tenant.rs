use crate::support::{TestApp, json_of};
use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde_json::json;

/// Two more tenants beside the seeded default: one with a domain, subdomain and branding.
fn add_tenants(app: &TestApp) {
    app.db.execute(
        "INSERT INTO tenants (id, name, vertical, loyalty_type, primary_domain, subdomain, \
             features, branding, created_at, updated_at) VALUES \
         ('acme-wash', 'Acme Car Wash Downtown', 'car_wash', 'stamps', 'rewards.acme-wash.com', \
             'acme', '{\"referrals\":true}', \
             '{\"primary_color\":\"#ff0000\",\"logo_url\":\"https://cdn.acme-wash.com/logo.png\"}', \
             CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), \
         ('bean-cafe', 'Bean Cafe', 'cafe', 'points', NULL, 'bean', '{}', '{}', \
             CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    );
}

async fn meta_with(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url("/api/public/tenant-meta"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn tenant_id_for(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let response = meta_with(app, headers).await;
    assert_eq!(response.status(), 200, "headers {headers:?}");
    json_of(response, "application/json").await["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both_backends! {
    async fn default_tenant_meta_with_cache_headers(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.get("/api/public/tenant-meta").await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let etag = headers[ETAG].to_str().unwrap();
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10, "strong quoted ETag: {etag}");
        assert_eq!(headers["cache-control"], "public, max-age=60");
        // The document depends on the host and X-Tenant-ID; its CORS headers on the Origin.
        assert_eq!(
            headers["vary"],
            "Host, X-Tenant-ID, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        assert_eq!(
            json_of(response, "application/json").await,
            json!({
                "tenant_id": "default", "name": "Default", "vertical": "other",
                "loyalty_type": "hybrid", "features": {}, "branding": {}
            })
        );
    }

    async fn explicit_tenant_header_is_exact(backend) {
        let app = TestApp::spawn(backend).await;
        add_tenants(&app);
        let response = meta_with(&app, &[("X-Tenant-ID", "acme-wash")]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            json_of(response, "application/json").await,
            json!({
                "tenant_id": "acme-wash", "name": "Acme Car Wash Downtown", "vertical": "car_wash",
                "loyalty_type": "stamps", "features": {"referrals": true},
                "branding": {"primary_color": "#ff0000", "logo_url": "https://cdn.acme-wash.com/logo.png"}
            })
        );
        // The header beats the host, and an unknown id never falls back.
        assert_eq!(tenant_id_for(&app, &[("X-Tenant-ID", "bean-cafe"), ("Host", "rewards.acme-wash.com")]).await, "bean-cafe");
        for unknown in ["nobody", "ACME-WASH", ""] {
            let response = meta_with(&app, &[("X-Tenant-ID", unknown), ("X-Request-ID", "req-42")]).await;
            assert_eq!(response.status(), 404, "X-Tenant-ID {unknown:?}");
            let body = json_of(response, "application/problem+json").await;
            assert_eq!(body["code"], "tenant_not_found");
            assert_eq!(body["status"], 404);
            assert_eq!(body["request_id"], "req-42");
        }
    }

    async fn host_resolution_branches(backend) {
        let app = TestApp::spawn(backend).await;
        add_tenants(&app);
        for (host, expected) in [
            ("rewards.acme-wash.com", "acme-wash"),
            ("WWW.Rewards.Acme-Wash.com:8443", "acme-wash"),
            ("api.rewards.acme-wash.com", "acme-wash"),
            ("acme.loyalty.example", "acme-wash"),
            ("bean.loyalty.example", "bean-cafe"),
            ("api.bean.loyalty.example", "bean-cafe"),
            ("unknown.example.org", "default"),
            ("localhost", "default"),
        ] {
            assert_eq!(tenant_id_for(&app, &[("Host", host)]).await, expected, "Host: {host}");
        }
    }

    async fn if_none_match_answers_304(backend) {
        let app = TestApp::spawn(backend).await;
        let first = app.get("/api/public/tenant-meta").await;
        let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
        let weak = format!("W/{etag}");
        let listed = format!("\"something-else\", {etag}");
        for candidate in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
            let response = meta_with(&app, &[("If-None-Match", candidate)]).await;
            assert_eq!(response.status(), 304, "If-None-Match: {candidate}");
            assert_eq!(response.headers()[ETAG].to_str().unwrap(), etag);
            assert_eq!(response.headers()["cache-control"], "public, max-age=60");
            assert!(response.bytes().await.unwrap().is_empty(), "a 304 has no body");
        }
        let stale = meta_with(&app, &[("If-None-Match", "\"stale\"")]).await;
        assert_eq!(stale.status(), 200);

        // Another tenant's representation has another tag.
        add_tenants(&app);
        let other = meta_with(&app, &[("X-Tenant-ID", "bean-cafe"), (IF_NONE_MATCH.as_str(), &etag)]).await;
        assert_eq!(other.status(), 200);
        assert_ne!(other.headers()[ETAG].to_str().unwrap(), etag);
    }

    async fn theme_fills_gaps_with_fallbacks(backend) {
        let app = TestApp::spawn(backend).await;
        add_tenants(&app);
        let response = app.get("/api/public/tenant-theme").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            json_of(response, "application/json").await,
            json!({
                "tenant_id": "default", "name": "Default", "primary_color": "#2563eb",
                "secondary_color": "#0f172a", "background_color": "#ffffff",
                "text_color": "#111827", "logo_url": null
            })
        );
        let response = app.client.get(app.url("/api/public/tenant-theme"))
            .header("Host", "acme.loyalty.example").send().await.unwrap();
        let body = json_of(response, "application/json").await;
        assert_eq!(body["primary_color"], "#ff0000");
        assert_eq!(body["secondary_color"], "#0f172a");
        assert_eq!(body["logo_url"], "https://cdn.acme-wash.com/logo.png");

        let missing = app.client.get(app.url("/api/public/tenant-theme"))
            .header("X-Tenant-ID", "nobody").send().await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(json_of(missing, "application/problem+json").await["code"], "tenant_not_found");
    }

    async fn manifest_is_a_web_app_manifest(backend) {
        let app = TestApp::spawn(backend).await;
        add_tenants(&app);
        let response = app.client.get(app.url("/api/public/tenant-manifest"))
            .header("X-Tenant-ID", "acme-wash").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key(ETAG));
        assert_eq!(
            json_of(response, "application/manifest+json").await,
            json!({
                "name": "Acme Car Wash Downtown", "short_name": "Acme Car Was",
                "start_url": "/", "scope": "/", "display": "standalone",
                "theme_color": "#ff0000", "background_color": "#ffffff",
                "icons": [{"src": "https://cdn.acme-wash.com/logo.png", "sizes": "any", "purpose": "any"}]
            })
        );
        let default = json_of(app.get("/api/public/tenant-manifest").await, "application/manifest+json").await;
        assert_eq!(default["icons"], json!([]));
        assert_eq!(default["short_name"], "Default");
        let missing = app.client.get(app.url("/api/public/tenant-manifest"))
            .header("X-Tenant-ID", "nobody").send().await.unwrap();
        assert_eq!(missing.status(), 404);
    }
}

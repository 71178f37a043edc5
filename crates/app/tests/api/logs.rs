//! What `loyalty serve` logs as JSON over a whole run: each request's line carries its id,
//! method, route template, status, latency and (once authenticated) tenant; no secret ever
//! appears: API keys, the database password, card tokens, Authorization headers.

use std::time::Duration;

use crate::replicas::one_process;
use crate::support::{Backend, TestDb, quick_program};
use serde_json::{Value, json};

const PASSWORD: &str = "hunter2-never-logged";

on_both_backends! {
    async fn a_whole_run_logs_tenants_and_routes_and_no_secret(backend) {
        let db = TestDb::create(backend);
        // PostgreSQL here trusts local connections, so any password gets in: one in the URL
        // must still never be logged. SQLite has none.
        let url = match backend {
            Backend::Postgres => {
                let mut url = url::Url::parse(db.url()).unwrap();
                url.set_password(Some(PASSWORD)).unwrap();
                url.query_pairs_mut().append_pair("password", PASSWORD);
                url.to_string()
            }
            Backend::Sqlite => db.url().to_owned(),
        };
        let app = one_process(db, &[("DATABASE_URL", &url), ("RUST_LOG", "info")]);
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(3)).await;
        let (status, customer) = app.call("POST", "/api/v1/customers", &acme.staff, Some("enrol-1"),
            Some(json!({"external_id": "C-1"}))).await;
        assert_eq!(status, 201, "{customer}");
        let card_token = customer["card_token"].as_str().unwrap().to_owned();
        let id = customer["id"].as_str().unwrap();
        app.created(&format!("/api/v1/customers/{id}/visits"), &acme.staff, Some("visit-1"), json!({})).await;
        assert_eq!(app.get(&format!("/api/public/cards/{card_token}")).await.status(), 200);
        // The token percent-encoded, and a wrong key that looks like a real one.
        let encoded: String = card_token.chars().map(|c| format!("%{:02X}", c as u32)).collect();
        assert_eq!(app.get(&format!("/api/public/cards/{encoded}")).await.status(), 200);
        let wrong_key = format!("{}x", acme.staff);
        assert_eq!(app.call("GET", "/api/v1/program", &wrong_key, None, None).await.0, 401);
        assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;

        let lines = app.processes()[0].log_lines();
        let secret_of = |key: &str| key.rsplit('_').next().unwrap().to_owned();
        let secrets = [
            platform.clone(), secret_of(&platform), acme.admin.clone(), secret_of(&acme.admin),
            acme.staff.clone(), secret_of(&acme.staff), wrong_key.clone(), card_token.clone(),
            encoded.clone(), PASSWORD.to_owned(),
        ];
        for line in &lines {
            for secret in &secrets {
                assert!(!line.contains(secret.as_str()), "a secret in the logs: {line}");
            }
            assert!(!line.to_ascii_lowercase().contains("bearer"), "an Authorization header: {line}");
        }

        let finished: Vec<Value> = lines.iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["message"] == "request finished")
            .collect();
        let program_read = finished.iter()
            .find(|entry| entry["span"]["route"] == "/api/v1/program" && entry["span"]["method"] == "GET"
                && entry["status"] == 200)
            .unwrap_or_else(|| panic!("no line for the program read: {finished:?}"));
        let span = &program_read["span"];
        assert_eq!(span["tenant_id"], "acme");
        assert_eq!(span["method"], "GET");
        assert!(span["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(program_read["latency_ms"].is_u64());
        let visit = finished.iter()
            .find(|entry| entry["span"]["route"] == "/api/v1/customers/{id}/visits")
            .unwrap_or_else(|| panic!("no line for the visit: {finished:?}"));
        assert_eq!((visit["span"]["tenant_id"].as_str(), visit["status"].as_u64()), (Some("acme"), Some(201)));
        let refused = finished.iter()
            .find(|entry| entry["span"]["route"] == "/api/v1/program" && entry["status"] == 401)
            .unwrap_or_else(|| panic!("no line for the refused key: {finished:?}"));
        assert!(refused["span"]["tenant_id"].is_null(), "an unauthenticated request names no tenant");
        assert!(finished.iter().all(|entry| entry["span"]["path"].as_str()
            .is_some_and(|path| !path.contains(&card_token))));
    }
}

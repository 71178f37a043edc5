use chrono::Duration;
use loyalty_domain::Clock;
use loyalty_domain::auth::{Principal, Role};
use loyalty_domain::tenant::TenantId;
use serde_json::{Value, json};

use crate::support::{self, ManualClock, TestApp, TestDb, quick_program};

on_both_backends! {
    async fn missing_malformed_wrong_and_revoked_keys_get_401(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;

        let bare = app.client.get(app.url("/api/v1/program")).send().await.unwrap();
        assert_eq!(bare.status(), 401);
        assert_eq!(bare.headers()["www-authenticate"], "Bearer");
        let body: Value = bare.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");

        let (prefix_and_secret, _) = acme.staff.rsplit_once('_').unwrap();
        let wrong_secret = format!("{prefix_and_secret}_{}", "a".repeat(52));
        for key in ["nonsense", "lk_", "lk_abc_def", wrong_secret.as_str()] {
            let (status, body) = app.call("GET", "/api/v1/program", key, None, None).await;
            assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{key}");
        }
        let basic = app.client.get(app.url("/api/v1/program"))
            .header("Authorization", format!("Basic {}", acme.staff)).send().await.unwrap();
        assert_eq!(basic.status(), 401);

        // Revoked keys stop at once.
        assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 200);
        let (_, keys) = app.call("GET", "/api/v1/api-keys", &acme.admin, None, None).await;
        let staff_key = keys["items"].as_array().unwrap().iter()
            .find(|k| k["role"] == "staff").unwrap()["id"].as_str().unwrap().to_owned();
        let (status, _) = app.call("DELETE", &format!("/api/v1/api-keys/{staff_key}"), &acme.admin, None, None).await;
        assert_eq!(status, 204);
        let (status, _) = app.call("GET", "/api/v1/program", &acme.staff, None, None).await;
        assert_eq!(status, 401);
        // Revoking again is harmless.
        let (status, _) = app.call("DELETE", &format!("/api/v1/api-keys/{staff_key}"), &acme.admin, None, None).await;
        assert_eq!(status, 204);
    }

    async fn wrong_role_gets_403(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"email": "a@example.com"})).await;
        let tenant_body = json!({"id": "x", "name": "X", "vertical": "cafe", "country": "DE", "currency": "EUR"});
        let cases = [
            ("POST", "/api/v1/tenants".to_owned(), acme.admin.clone(), Some(tenant_body.clone())),
            ("GET", "/api/v1/tenants".to_owned(), acme.staff.clone(), None),
            ("GET", "/api/v1/tenants/acme".to_owned(), acme.admin.clone(), None),
            ("PUT", "/api/v1/program".to_owned(), acme.staff.clone(), Some(quick_program(5))),
            ("GET", "/api/v1/api-keys".to_owned(), acme.staff.clone(), None),
            ("POST", "/api/v1/api-keys".to_owned(), acme.staff.clone(), Some(json!({"role": "staff"}))),
            ("GET", "/api/v1/customers".to_owned(), platform.clone(), None),
            ("GET", "/api/v1/program".to_owned(), platform.clone(), None),
        ];
        for (method, path, key, body) in cases {
            let (status, problem) = app.call(method, &path, &key, None, body).await;
            assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
        }
        let (status, problem) = app.call(
            "POST", &format!("/api/v1/customers/{customer}/adjustments"), &acme.staff, Some("adj-1"),
            Some(json!({"points": 5, "reason": "goodwill"})),
        ).await;
        assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")), "adjustments are for tenant admins");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), 0);
    }

    async fn tenant_admin_manages_its_own_keys(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, issued) = app.call("POST", "/api/v1/api-keys", &acme.admin, None,
            Some(json!({"role": "staff", "label": "Till 2"}))).await;
        assert_eq!(status, 201, "{issued}");
        assert_eq!(issued["role"], "staff");
        assert_eq!(issued["label"], "Till 2");
        assert_eq!(issued["tenant_id"], "acme");
        let key = issued["key"].as_str().unwrap();
        assert!(key.starts_with(&format!("lk_{}_", issued["prefix"].as_str().unwrap())));
        assert_eq!(app.call("GET", "/api/v1/program", key, None, None).await.0, 200);

        let (status, problem) = app.call("POST", "/api/v1/api-keys", &acme.admin, None,
            Some(json!({"role": "platform_admin"}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
        let (status, problem) = app.call("POST", "/api/v1/api-keys", &acme.admin, None,
            Some(json!({"role": "owner"}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_body")));

        let (status, list) = app.call("GET", "/api/v1/api-keys?limit=2", &acme.admin, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        let next = list["next_cursor"].as_str().unwrap();
        let (_, rest) = app.call("GET", &format!("/api/v1/api-keys?limit=2&after={next}"), &acme.admin, None, None).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert!(rest["next_cursor"].is_null());
        let listed = format!("{list}{rest}");
        assert!(!listed.contains(key), "a key's secret is shown once, never listed");
        assert!(!listed.contains("secret_hash"));

        let (status, problem) = app.call("DELETE", "/api/v1/api-keys/no-such-key", &acme.admin, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("api_key_not_found")));
    }
}

/// The operator's commands, through the built binary.
mod cli {
    use std::process::Command;

    use crate::support::{Backend, TestDb};

    fn loyalty(db: &TestDb, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("LOG_FORMAT", "json")
            .output()
            .unwrap()
    }

    fn check(backend: Backend) {
        let db = TestDb::empty(backend);
        let before = loyalty(&db, &["tenant", "create", "--id", "acme", "--name", "Acme"]);
        assert!(
            !before.status.success(),
            "refuses to work on an unmigrated database"
        );
        assert!(String::from_utf8_lossy(&before.stderr).contains("loyalty migrate run"));
        assert!(loyalty(&db, &["migrate", "run"]).status.success());

        let created = loyalty(
            &db,
            &[
                "tenant",
                "create",
                "--id",
                "acme",
                "--name",
                "Acme Wash",
                "--country",
                "DE",
                "--currency",
                "EUR",
            ],
        );
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&created.stdout),
            "created tenant acme (Acme Wash)\n"
        );
        let again = loyalty(&db, &["tenant", "create", "--id", "acme", "--name", "Acme"]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("a tenant with this id exists"));

        let platform = loyalty(&db, &["api-key", "create", "--role", "platform_admin"]);
        assert!(platform.status.success());
        let platform_key = String::from_utf8_lossy(&platform.stdout).trim().to_owned();
        assert!(platform_key.starts_with("lk_"), "{platform_key}");
        let staff = loyalty(
            &db,
            &[
                "api-key", "create", "--tenant", "acme", "--role", "staff", "--label", "till",
            ],
        );
        assert!(staff.status.success());
        let staff_key = String::from_utf8_lossy(&staff.stdout).trim().to_owned();
        assert_eq!(
            db.scalar("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL"),
            2
        );

        for bad in [
            vec!["api-key", "create", "--role", "staff"],
            vec![
                "api-key",
                "create",
                "--tenant",
                "acme",
                "--role",
                "platform_admin",
            ],
            vec!["api-key", "create", "--tenant", "nobody", "--role", "staff"],
            vec!["api-key", "create", "--tenant", "acme", "--role", "owner"],
        ] {
            let output = loyalty(&db, &bad);
            assert!(!output.status.success(), "{bad:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .filter(|l| l.starts_with("loyalty: "))
                    .count(),
                1
            );
        }
        assert_eq!(
            db.scalar("SELECT COUNT(*) AS n FROM api_keys"),
            2,
            "refused commands issue nothing"
        );

        let prefix = staff_key
            .trim_start_matches("lk_")
            .split('_')
            .next()
            .unwrap();
        let revoked = loyalty(&db, &["api-key", "revoke", prefix]);
        assert!(revoked.status.success());
        assert!(String::from_utf8_lossy(&revoked.stdout).starts_with("revoked key "));
        assert_eq!(
            db.scalar("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL"),
            1
        );
        assert!(
            !loyalty(&db, &["api-key", "revoke", "nosuchprefix"])
                .status
                .success()
        );
    }

    #[test]
    fn tenant_and_key_commands_sqlite() {
        check(Backend::Sqlite);
    }

    #[test]
    #[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
    fn tenant_and_key_commands_postgres() {
        check(Backend::Postgres);
    }
}

on_both_backends! {
    async fn a_tenant_admin_mints_admins_only_where_the_tenant_allows_it(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let mint = || app.call("POST", "/api/v1/api-keys", &acme.admin, None, Some(json!({"role": "tenant_admin"})));
        let (status, problem) = mint().await;
        assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
        let keys = || app.db.scalar("SELECT COUNT(*) AS n FROM api_keys");
        let before = keys();

        let (status, _) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None,
            Some(json!({"features": {"keys_admin_can_mint_admin": true}}))).await;
        assert_eq!(status, 200);
        let (status, issued) = mint().await;
        assert_eq!((status, issued["role"].as_str()), (201, Some("tenant_admin")));
        assert_eq!(keys(), before + 1, "only the allowed one was written");
    }

    async fn the_platform_admin_lists_and_revokes_any_tenants_keys(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let other = app.tenant(&platform, "other").await;
        let (status, listed) = app.call("GET", "/api/v1/tenants/acme/api-keys", &platform, None, None).await;
        assert_eq!(status, 200, "{listed}");
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|key| key["tenant_id"] == "acme" && key.get("key").is_none()));
        let staff = items.iter().find(|key| key["role"] == "staff").unwrap();
        let staff_id = staff["id"].as_str().unwrap();

        let (status, _) = app.call("GET", "/api/v1/tenants/acme/api-keys", &acme.admin, None, None).await;
        assert_eq!(status, 403, "a tenant admin uses /api/v1/api-keys");
        let (status, _) = app.call("DELETE", &format!("/api/v1/tenants/other/api-keys/{staff_id}"), &platform, None, None).await;
        assert_eq!(status, 404, "the key is acme's, not other's");
        assert_eq!(app.call("GET", "/api/v1/program", &other.staff, None, None).await.0, 200);

        let revoke = format!("/api/v1/tenants/acme/api-keys/{staff_id}");
        assert_eq!(app.call("DELETE", &revoke, &platform, None, None).await.0, 204);
        assert_eq!(app.call("DELETE", &revoke, &platform, None, None).await.0, 204, "again is fine");
        assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 401, "revoked at once");
        let (status, _) = app.call("GET", "/api/v1/tenants/nope/api-keys", &platform, None, None).await;
        assert_eq!(status, 404);
    }

    async fn keys_record_who_issued_them_when_they_were_used_and_when_they_expire(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let key_of = |listed: &Value, role: &str| listed["items"].as_array().unwrap().iter()
            .find(|key| key["role"] == role).cloned().unwrap();
        let (_, listed) = app.call("GET", "/api/v1/tenants/acme/api-keys", &platform, None, None).await;
        let admin = key_of(&listed, "tenant_admin");
        let platform_id = admin["created_by"].as_str().unwrap();
        assert_eq!(app.db.scalar(&format!(
            "SELECT COUNT(*) AS n FROM api_keys WHERE id = '{platform_id}' AND role = 'platform_admin'")), 1,
            "the tenant's admin key names the platform key that issued it");
        let admin_id = admin["id"].as_str().unwrap();

        let in_an_hour = (clock.now() + Duration::hours(1)).to_rfc3339();
        let (status, issued) = app.call("POST", "/api/v1/api-keys", &acme.admin, None,
            Some(json!({"role": "staff", "label": "till 2", "expires_at": in_an_hour}))).await;
        assert_eq!(status, 201, "{issued}");
        assert_eq!((issued["created_by"].as_str(), issued["last_used_at"].as_null()), (Some(admin_id), Some(())));
        assert!(issued["expires_at"].is_string());
        let till = issued["key"].as_str().unwrap().to_owned();
        let till_id = issued["id"].as_str().unwrap().to_owned();
        let (status, problem) = app.call("POST", "/api/v1/api-keys", &acme.admin, None,
            Some(json!({"role": "staff", "expires_at": (clock.now() - Duration::seconds(1)).to_rfc3339()}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("expires_at")), "{problem}");

        let last_used = || async {
            let (_, listed) = app.call("GET", "/api/v1/api-keys", &acme.admin, None, None).await;
            listed["items"].as_array().unwrap().iter().find(|key| key["id"] == till_id.as_str())
                .map(|key| key["last_used_at"].clone()).unwrap()
        };
        let recorded_after = |previous: Value| async move {
            for _ in 0..100 {
                let now = last_used().await;
                if now != previous {
                    return now;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            previous
        };
        assert_eq!(app.call("GET", "/api/v1/program", &till, None, None).await.0, 200);
        let first = recorded_after(Value::Null).await;
        assert!(first.is_string(), "the use was recorded: {first}");

        // Within the minute, uses are not written again; after it, the next one is.
        clock.advance(Duration::seconds(30));
        for _ in 0..5 {
            assert_eq!(app.call("GET", "/api/v1/program", &till, None, None).await.0, 200);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(last_used().await, first, "at most one write a minute");
        // Another replica, with no memory of this one's writes, writes nothing within the minute
        // either.
        let replica = support::service(&app.db, clock.clone());
        let till_principal = Principal {
            key_id: till_id.clone(),
            tenant_id: Some(TenantId::parse("acme").unwrap()),
            role: Role::Staff,
            expires_at: None,
        };
        let at = replica.claim_key_use(&till_principal).unwrap();
        replica.record_key_use(&till_principal, at).unwrap();
        assert_eq!(last_used().await, first, "the store skips a use within the minute");
        clock.advance(Duration::seconds(31));
        assert_eq!(app.call("GET", "/api/v1/program", &till, None, None).await.0, 200);
        let later = recorded_after(first.clone()).await;
        assert!(later.as_str() > first.as_str(), "{later} after {first}");

        // A key that expires cannot issue one that outlives it.
        let in_two_hours = clock.now() + Duration::hours(2);
        let temporary_admin = app.created("/api/v1/tenants/acme/api-keys", &platform, None,
            json!({"role": "tenant_admin", "expires_at": in_two_hours.to_rfc3339()})).await;
        let temporary_admin = temporary_admin["key"].as_str().unwrap();
        let inherited = app.created("/api/v1/api-keys", temporary_admin, None, json!({"role": "staff"})).await;
        let expires = |key: &Value| chrono::DateTime::parse_from_rfc3339(key["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!(expires(&inherited).timestamp(), in_two_hours.timestamp(), "{inherited}");
        let (status, problem) = app.call("POST", "/api/v1/api-keys", temporary_admin, None,
            Some(json!({"role": "staff", "expires_at": (in_two_hours + Duration::hours(1)).to_rfc3339()}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("expires_at")), "{problem}");

        clock.advance(Duration::hours(1));
        let (status, problem) = app.call("GET", "/api/v1/program", &till, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (401, Some("unauthorized")), "an expired key");
        assert_eq!(app.call("GET", "/api/v1/program", &acme.staff, None, None).await.0, 200, "keys without an expiry go on");
    }
}

use std::process::{Command, Output};

use crate::support::{Backend, TestApp, TestDb};

/// Runs the built binary with exactly these variables (plus PATH), off the async runtime.
pub(crate) async fn loyalty(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Under coverage, the child's profile must land with the others.
            .envs(std::env::var("LLVM_PROFILE_FILE").map(|file| ("LLVM_PROFILE_FILE", file)))
            .envs(vars)
            .output()
            .expect("run the loyalty binary")
    })
    .await
    .unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The migrations this build carries, oldest first.
fn migration_names() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn lines(prefix: &str, names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("{prefix}{name}\n"))
        .collect()
}

on_both_backends! {
    async fn migrate_status_and_run_are_idempotent(backend) {
        let db = TestDb::empty(backend);
        let env = [("DATABASE_URL", db.url())];
        let names = migration_names();
        let total = names.len();

        let before = loyalty(&["migrate", "status"], &env).await;
        assert!(before.status.success(), "{}", stderr(&before));
        assert_eq!(stdout(&before), lines("pending  ", &names) + &format!("0 applied, {total} pending\n"));

        let first = loyalty(&["migrate", "run"], &env).await;
        assert!(first.status.success(), "{}", stderr(&first));
        assert_eq!(stdout(&first), lines("applied  ", &names));

        let second = loyalty(&["migrate", "run"], &env).await;
        assert!(second.status.success(), "{}", stderr(&second));
        assert_eq!(stdout(&second), "nothing pending: the schema is up to date\n");

        let after = loyalty(&["migrate", "status"], &env).await;
        assert!(after.status.success());
        assert_eq!(stdout(&after), lines("applied  ", &names) + &format!("{total} applied, 0 pending\n"));
        assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM __diesel_schema_migrations"), total as i64);
    }

    async fn migrate_revert_then_run_restores_the_schema(backend) {
        let db = TestDb::create(backend);
        let env = [("DATABASE_URL", db.url())];
        let names = migration_names();
        assert!(loyalty(&["migrate", "run"], &env).await.status.success());
        for name in names.iter().rev() {
            let reverted = loyalty(&["migrate", "revert"], &env).await;
            assert_eq!(stdout(&reverted), format!("reverted {name}\n"));
        }
        let nothing = loyalty(&["migrate", "revert"], &env).await;
        assert_eq!(stdout(&nothing), "nothing to revert\n");
        let rerun = loyalty(&["migrate", "run"], &env).await;
        assert_eq!(stdout(&rerun), lines("applied  ", &names));
        assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM tenants"), 0);
    }

    async fn smoke_passes_against_a_healthy_deployment(backend) {
        let app = TestApp::spawn(backend).await;
        let base_url = format!("http://{}", app.address);
        let output = loyalty(&["smoke", "--base-url", &base_url], &[]).await;
        assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
        let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(&format!("ok    GET {base_url}/health/ready -> 200 status=ready")), "{}", lines[0]);
        assert!(lines[1].starts_with(&format!("ok    GET {base_url}/api/public/tenant-meta -> 200 tenant_id=default")), "{}", lines[1]);
    }
}

#[actix_web::test]
async fn smoke_fails_when_readiness_is_not_200() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let url = loyalty_persistence::DatabaseUrl::parse(app.db.url()).unwrap();
    loyalty_persistence::Database::connect(&url, Default::default())
        .unwrap()
        .revert_last_migration()
        .unwrap();
    let output = loyalty(
        &["smoke", "--base-url", &format!("http://{}", app.address)],
        &[],
    )
    .await;
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("FAIL  GET") && text.contains("/health/ready -> 503"),
        "{text}"
    );
}

#[actix_web::test]
async fn smoke_fails_fast_when_nothing_listens() {
    // Bind and drop a listener to find a port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = loyalty(
        &[
            "smoke",
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "2",
        ],
        &[],
    )
    .await;
    assert!(!output.status.success());
    let text = stdout(&output);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("FAIL") && l.contains("cannot connect"))
            .count(),
        2,
        "{text}"
    );
}

#[actix_web::test]
async fn bad_configuration_stops_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("x.db").display());
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("PORT", "eighty")],
            "PORT must be an integer from 0 to 65535 (got \"eighty\")",
        ),
        (&[("PORT", "70000")], "PORT must be an integer"),
        (
            &[("ENVIRONMENT", "prod")],
            "ENVIRONMENT must be one of local, staging, production (got \"prod\")",
        ),
        (
            &[("DATABASE_URL", "mysql://db/app")],
            "DATABASE_URL is invalid: scheme \"mysql\" is not supported",
        ),
        (
            &[("ENVIRONMENT", "production")],
            "DATABASE_URL is required when ENVIRONMENT is production",
        ),
        (
            &[("ENVIRONMENT", "production"), ("DATABASE_URL", &sqlite)],
            "DATABASE_URL must be a PostgreSQL URL",
        ),
        (
            &[("DEFAULT_TENANT", "Not A Slug")],
            "DEFAULT_TENANT is invalid",
        ),
    ];
    for (vars, expected) in cases {
        let output = loyalty(&["serve"], vars).await;
        assert!(!output.status.success(), "{vars:?} must stop start-up");
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "one line for {vars:?}: {text}");
        assert!(
            text.starts_with("loyalty: ") && text.contains(expected),
            "{vars:?}: {text}"
        );
        assert!(!text.contains("panicked"), "no stack trace: {text}");
    }
}

#[actix_web::test]
async fn unreachable_postgres_stops_with_the_drivers_reason_on_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:secret@127.0.0.1:{port}/loyalty");
    let output = loyalty(&["serve"], &[("DATABASE_URL", &url)]).await;
    assert!(!output.status.success());
    let text = stderr(&output);
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("loyalty: cannot open the database at postgres://app:***@127.0.0.1"),
        "{text}"
    );
    assert!(last.contains("Connection refused"), "{text}");
    assert!(
        !text.contains("secret"),
        "the password never reaches the output: {text}"
    );
}

#[actix_web::test]
async fn legacy_alias_is_ignored_with_a_warning() {
    let db = TestDb::create(Backend::Sqlite);
    let output = loyalty(
        &["migrate", "status"],
        &[
            ("DATABASE_URL", db.url()),
            ("CA_DATABASE_URL", "postgres://old/db"),
            ("LOG_FORMAT", "json"),
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let warnings: Vec<serde_json::Value> = stderr(&output)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|entry: &serde_json::Value| entry["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0]["message"],
        "CA_DATABASE_URL is set but ignored: use DATABASE_URL"
    );
}

#[actix_web::test]
async fn help_explains_each_command() {
    let output = loyalty(&["--help"], &[]).await;
    assert!(output.status.success());
    let text = stdout(&output);
    for command in ["serve", "migrate", "smoke"] {
        assert!(text.contains(command), "{command} in {text}");
    }
    let migrate = stdout(&loyalty(&["migrate", "--help"], &[]).await);
    for command in ["status", "run", "revert"] {
        assert!(migrate.contains(command), "{command} in {migrate}");
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn migrations_give_up_on_a_held_migration_lock_with_a_clear_line() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let db = TestDb::empty(Backend::Postgres);
    // Another process's migrations, as far as this one can tell: the lock, held.
    let mut other = PgConnection::establish(db.url()).unwrap();
    other
        .batch_execute("SELECT pg_advisory_lock(21479342996214873)")
        .unwrap();
    let started = std::time::Instant::now();
    let output = loyalty(
        &["migrate", "run"],
        &[
            ("DATABASE_URL", db.url()),
            ("MIGRATION_LOCK_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "it gave up"
    );
    let text = stderr(&output);
    assert!(
        text.contains("waited 1 s for another process's migrations to finish"),
        "{text}"
    );
    drop(other);
    let output = loyalty(&["migrate", "run"], &[("DATABASE_URL", db.url())]).await;
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Reverts migrations newest first until one refuses, and returns the error it printed; each
/// one before it must revert cleanly.
async fn revert_until_refused(db: &TestDb) -> String {
    let env = [("DATABASE_URL", db.url())];
    loop {
        let reverted = loyalty(&["migrate", "revert"], &env).await;
        if !reverted.status.success() {
            return stderr(&reverted);
        }
        let said = stdout(&reverted);
        assert!(said.starts_with("reverted "), "{said}");
    }
}

/// Every balance still equals the sum of its ledger.
fn assert_balances_match_ledgers(db: &TestDb) {
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(e.points), 0) \
             FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)"
        ),
        0
    );
}

on_both_backends! {
    async fn reverts_that_would_lose_ledger_entries_or_revive_keys_refuse(backend) {
        use chrono::Duration;
        use loyalty_domain::Clock;
        use serde_json::json;

        let clock = crate::support::ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let grant = json!({"points": 50, "reason": "grant"});
        app.created(&format!("/api/v1/customers/{customer}/adjustments"), &acme.admin, Some("g"), grant).await;
        let reward = app.reward(&acme.admin, json!({"name": "Tea", "cost_points": 20, "valid_days": 30})).await;
        app.created(&format!("/api/v1/customers/{customer}/redemptions"), &acme.staff, Some("r"), json!({"reward_id": reward})).await;
        let in_a_week = (clock.now() + Duration::days(7)).to_rfc3339();
        let till = app.created("/api/v1/api-keys", &acme.admin, None, json!({"role": "staff", "expires_at": in_a_week})).await;
        let db = app.stop().await;
        let entries = db.scalar("SELECT COUNT(*) AS n FROM ledger_entries");

        let error = revert_until_refused(&db).await;
        assert!(error.contains("refusing to revert 2026-12-01-000002_api_key_lifecycle: unrevoked keys carry an expiry"), "{error}");
        db.execute(&format!("UPDATE api_keys SET revoked_at = created_at WHERE id = '{}'", till["id"].as_str().unwrap()));

        let error = revert_until_refused(&db).await;
        assert!(error.contains("refusing to revert 2026-11-28-000001_rewards: the ledger holds redemption or refund entries"), "{error}");
        assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), entries, "no entry was deleted");
        assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM redemptions"), 1);
        assert_balances_match_ledgers(&db);

        // Forward again, the data intact.
        let rerun = loyalty(&["migrate", "run"], &[("DATABASE_URL", db.url())]).await;
        assert!(rerun.status.success(), "{}", stderr(&rerun));
        assert_eq!(db.scalar("SELECT COUNT(*) AS n FROM ledger_entries"), entries);
        assert_balances_match_ledgers(&db);

        // Points that expired leave expiry entries, which the lots' revert will not delete.
        let app = TestApp::spawn_with_clock(db, &[], clock.clone()).await;
        let mut program = crate::support::quick_program(3);
        program["points_expire_after_days"] = json!(1); // the setting went with the lots' revert
        app.program(&acme.admin, program).await;
        let grant = json!({"points": 10, "reason": "grant"});
        app.created(&format!("/api/v1/customers/{customer}/adjustments"), &acme.admin, Some("g2"), grant).await;
        let db = app.stop().await;
        clock.advance(Duration::days(3));
        let swept = crate::support::service(&db, clock.clone()).sweep_expired().unwrap();
        assert_eq!(swept.expired_points, 10);
        db.execute("UPDATE api_keys SET revoked_at = created_at WHERE expires_at IS NOT NULL");
        let error = revert_until_refused(&db).await;
        assert!(error.contains("refusing to revert 2026-11-28-000003_point_lots: the ledger holds expiry entries"), "{error}");
        assert_balances_match_ledgers(&db);
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn a_ledger_migration_behind_a_long_transaction_gives_up_quickly_and_applies_nothing() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let db = TestDb::create(Backend::Postgres);
    let env = [("DATABASE_URL", db.url())];
    // Back to before the ledger's redemption index.
    let names = migration_names();
    let index = names
        .iter()
        .position(|name| name.ends_with("_ledger_redemption_index"))
        .unwrap();
    for name in names[index..].iter().rev() {
        let reverted = loyalty(&["migrate", "revert"], &env).await;
        assert_eq!(
            stdout(&reverted),
            format!("reverted {name}\n"),
            "{}",
            stderr(&reverted)
        );
    }
    // A transaction that wrote to the ledger and has not committed (a slow import, say).
    let mut writer = PgConnection::establish(db.url()).unwrap();
    writer
        .batch_execute("BEGIN; UPDATE ledger_entries SET points = points WHERE false")
        .unwrap();
    let started = std::time::Instant::now();
    let blocked = loyalty(&["migrate", "run"], &env).await;
    assert!(!blocked.status.success());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "it gave up"
    );
    let error = stderr(&blocked);
    assert!(
        error.contains("a migration gave up waiting for a table lock"),
        "{error}"
    );
    assert_eq!(
        db.scalar(&format!(
            "SELECT COUNT(*) AS n FROM __diesel_schema_migrations WHERE version >= '{}'",
            names[index].replace('-', "").split('_').next().unwrap()
        )),
        0,
        "nothing from the blocked migration on"
    );
    writer.batch_execute("COMMIT").unwrap();
    let rerun = loyalty(&["migrate", "run"], &env).await;
    assert_eq!(stdout(&rerun), lines("applied  ", &names[index..]));
}

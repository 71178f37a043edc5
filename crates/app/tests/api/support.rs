//! Test harness: a fresh database per test (a temp SQLite file, or a new Postgres database made
//! from LOYALTY_TEST_POSTGRES_URL and dropped afterwards) and the real app on port 0.

use std::collections::HashMap;
use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use loyalty_app::config::Settings;
use loyalty_app::startup::Application;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each async test body once and runs it as `NAME::sqlite` and `NAME::postgres`. The
/// Postgres variant is ignored by default and run with `--include-ignored`; there a missing
/// server fails it.
macro_rules! on_both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($backend: $crate::support::Backend) $body

                #[actix_web::test]
                async fn sqlite() {
                    run($crate::support::Backend::Sqlite).await
                }

                #[actix_web::test]
                #[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
                async fn postgres() {
                    run($crate::support::Backend::Postgres).await
                }
            }
        )*
    };
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

pub fn postgres_admin_url() -> String {
    let raw = std::env::var("LOYALTY_TEST_POSTGRES_URL").expect(
        "LOYALTY_TEST_POSTGRES_URL must point to a PostgreSQL server for the Postgres tests, \
         e.g. postgres://postgres@127.0.0.1:5432/postgres",
    );
    let mut url = url::Url::parse(&raw).expect("LOYALTY_TEST_POSTGRES_URL is a URL");
    // Test servers run on loopback: no TLS. Without it, OpenSSL's teardown at the end of a test
    // binary also cannot meet a test server's connections still closing on another thread.
    if !url.query_pairs().any(|(name, _)| name == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

impl TestDb {
    /// A database for one test.
    pub fn create(backend: Backend) -> Self {
        Self::empty(backend)
    }

    /// A database with nothing in it, not even the migrations table: for the tests that are
    /// about migrating (or refusing to work before it), where the starting state matters.
    pub fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("loyalty.db").display());
                TestDb::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("loyalty_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("cannot reach PostgreSQL at LOYALTY_TEST_POSTGRES_URL: {e}")
                });
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let mut url =
                    url::Url::parse(&admin_url).expect("LOYALTY_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDb::Postgres {
                    admin_url,
                    name,
                    url: url.to_string(),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// Runs raw SQL against the test database, for set-up the API does not offer yet.
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { url, .. } => {
                let path = url.trim_start_matches("sqlite://");
                SqliteConnection::establish(path)
                    .unwrap()
                    .batch_execute(sql)
                    .unwrap();
            }
            TestDb::Postgres { url, .. } => {
                PgConnection::establish(url)
                    .unwrap()
                    .batch_execute(sql)
                    .unwrap();
            }
        }
    }

    /// The single BIGINT `n` a query returns, e.g. `SELECT COUNT(*) AS n FROM tenants`.
    pub fn scalar(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Scalar {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let query = diesel::sql_query(sql);
        let row: Scalar = match self {
            TestDb::Sqlite { url, .. } => {
                let path = url.trim_start_matches("sqlite://");
                query.get_result(&mut SqliteConnection::establish(path).unwrap())
            }
            TestDb::Postgres { url, .. } => {
                query.get_result(&mut PgConnection::establish(url).unwrap())
            }
        }
        .unwrap();
        row.n
    }

    /// Postgres only: refuse new connections and end the open ones, as a stopped server would.
    pub fn cut_off(&self, allow: bool) {
        let TestDb::Postgres {
            admin_url, name, ..
        } = self
        else {
            panic!("only a Postgres database can be cut off");
        };
        let mut admin = PgConnection::establish(admin_url).unwrap();
        admin
            .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}"))
            .unwrap();
        if !allow {
            admin
                .batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                ))
                .unwrap();
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Settings as the process would load them, from this environment and nothing else.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::load(None, &env)
        .expect("valid test settings")
        .settings
}

/// The real application, serving on a free port of 127.0.0.1.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    handle: StopOnDrop,
}

/// Tells the server to stop when the test is done with it, so no test server outlives its test
/// (and none is still closing connections when the test binary exits).
struct StopOnDrop(ServerHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future only waits for completion.
        drop(self.0.stop(false));
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_on(TestDb::create(backend)).await
    }

    pub async fn spawn_on(db: TestDb) -> Self {
        Self::spawn_with(db, &[]).await
    }

    /// Starts on `db` with extra environment variables.
    pub async fn spawn_with(db: TestDb, vars: &[(&str, &str)]) -> Self {
        Self::spawn_with_clock(db, vars, std::sync::Arc::new(loyalty_domain::SystemClock)).await
    }

    /// Starts with a clock the test controls.
    pub async fn spawn_with_clock(
        db: TestDb,
        vars: &[(&str, &str)],
        clock: std::sync::Arc<dyn loyalty_domain::Clock>,
    ) -> Self {
        let mut all = vec![("DATABASE_URL", db.url()), ("PORT", "0")];
        all.extend_from_slice(vars);
        let settings = settings(&all);
        let application = Application::build_with_clock(settings, clock)
            .await
            .expect("application starts");
        let address = application.address();
        let handle = application.handle();
        actix_web::rt::spawn(application.run_until_stopped());
        let client = reqwest::Client::builder()
            // A guard against hangs, generous for loaded CI machines: speed is not asserted here.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        TestApp {
            address,
            client,
            db,
            handle: StopOnDrop(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn stop(self) -> TestDb {
        self.handle.0.stop(true).await;
        self.db
    }
}

/// The JSON body of a response, asserting its content type first.
pub async fn json_of(response: reqwest::Response, content_type: &str) -> serde_json::Value {
    let actual = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(actual, content_type, "content type");
    response.json().await.expect("JSON body")
}

/// A tenant and its keys, made through the API as a platform admin would.
pub struct Tenant {
    pub admin: String,
    pub staff: String,
}

impl TestApp {
    /// A platform admin key, issued straight against the database as `loyalty api-key create`
    /// does.
    pub fn platform_key(&self) -> String {
        use std::sync::Arc;

        use loyalty_domain::auth::Principal;
        use loyalty_domain::{Loyalty, SystemClock};
        use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};

        let url = DatabaseUrl::parse(self.db.url()).unwrap();
        let database = Database::connect(&url, PoolSettings::default()).unwrap();
        Loyalty::new(Arc::new(database), Arc::new(SystemClock))
            .issue_platform_key(&Principal::operator(), Some("tests"))
            .unwrap()
            .secret
    }

    /// Creates tenant `id` (Germany, EUR) and a tenant_admin and a staff key for it.
    pub async fn tenant(&self, platform: &str, id: &str) -> Tenant {
        let created = self
            .send(
                "POST",
                "/api/v1/tenants",
                platform,
                None,
                Some(serde_json::json!({
                    "id": id, "name": format!("Tenant {id}"), "vertical": "car_wash",
                    "country": "DE", "currency": "EUR"
                })),
            )
            .await;
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        let mut keys = Vec::new();
        for role in ["tenant_admin", "staff"] {
            let issued = self
                .send(
                    "POST",
                    &format!("/api/v1/tenants/{id}/api-keys"),
                    platform,
                    None,
                    Some(serde_json::json!({"role": role})),
                )
                .await;
            assert_eq!(issued.status(), 201);
            let body: serde_json::Value = issued.json().await.unwrap();
            keys.push(body["key"].as_str().unwrap().to_owned());
        }
        Tenant {
            admin: keys[0].clone(),
            staff: keys[1].clone(),
        }
    }

    /// Any request with a bearer key, an optional Idempotency-Key and an optional JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: &str,
        idempotency_key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method.parse().unwrap(), self.url(path))
            .bearer_auth(key);
        if let Some(idempotency_key) = idempotency_key {
            request = request.header("Idempotency-Key", idempotency_key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path} failed: {error:?}"))
    }

    /// Sends and returns status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        idempotency_key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let response = self.send(method, path, key, idempotency_key, body).await;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("JSON body: {bytes:?}"))
        };
        (status, json)
    }

    /// Enrols a customer and returns its id.
    pub async fn enrol(&self, staff: &str, body: serde_json::Value) -> String {
        let (status, customer) = self
            .call("POST", "/api/v1/customers", staff, None, Some(body))
            .await;
        assert_eq!(status, 201, "{customer}");
        customer["id"].as_str().unwrap().to_owned()
    }

    /// Sets the tenant's program through the API.
    pub async fn program(&self, admin: &str, program: serde_json::Value) {
        let (status, body) = self
            .call("PUT", "/api/v1/program", admin, None, Some(program))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A program with no visit interval, for tests that record visits back to back.
pub fn quick_program(visits_per_reward: i64) -> serde_json::Value {
    serde_json::json!({
        "visits_per_reward": visits_per_reward, "points_per_visit": 5,
        "spend_rule": {"points": 1, "per_amount_minor": 100},
        "min_purchase_minor": 0, "min_minutes_between_visits": 0,
        "milestone_reward_id": null, "refund_expired_vouchers": true, "tiers": [],
        "points_expire_after_days": null
    })
}

/// A clock that moves only when the test says so.
pub struct ManualClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(std::sync::Mutex::new(chrono::Utc::now())))
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl loyalty_domain::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

/// The use cases straight over the test database, with the given clock: what a job runs.
pub fn service(
    db: &TestDb,
    clock: std::sync::Arc<dyn loyalty_domain::Clock>,
) -> loyalty_domain::Loyalty {
    use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};

    let url = DatabaseUrl::parse(db.url()).unwrap();
    let database = Database::connect(&url, PoolSettings::default()).unwrap();
    loyalty_domain::Loyalty::new(std::sync::Arc::new(database), clock)
}

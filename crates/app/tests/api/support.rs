//! Test harness: a fresh database per test (a temp SQLite file, or a new Postgres database made
//! from LOYALTY_TEST_POSTGRES_URL and dropped afterwards) and the real app on port 0.
//!
//! A test's database starts from a template that the project's own migration code
//! (`Database::run_pending_migrations`) migrated once, not from nothing: copying is much cheaper
//! than running every migration for every test. The template holds the migrations only; the app
//! seeds the default tenant at start-up as it would on a new database. Tests about migrating
//! itself take `TestDb::empty` instead.
//!
//! - SQLite: once per process, migrate a file in a temp dir, checkpoint its WAL and switch it
//!   to a rollback journal (which needs every other connection closed), and keep its bytes in
//!   memory; each test writes them to its own file. The temp dir goes at once, so nothing is
//!   left behind when the process ends (statics are never dropped).
//! - PostgreSQL: each test database is `CREATE DATABASE <test> TEMPLATE loyalty_template_<hash>`,
//!   where `<hash>` is a 64-bit FNV-1a hash of the paths and contents under
//!   `migrations/postgres`: a change to the migrations gives a new template, and a run never
//!   clones a schema older than its code. The first test of a process makes sure it exists,
//!   holding a server-wide advisory lock so that concurrent test processes neither make it
//!   twice nor use it half-made. A template is complete once it refuses connections
//!   (`ALLOW_CONNECTIONS false`, set after migrating): that is the mark checked, and it keeps
//!   anyone from connecting to it, which would make `CREATE DATABASE ... TEMPLATE` fail. One left
//!   half-made by a killed run is dropped and made again.
//!   Each process also holds a shared advisory lock keyed by its template's hash for as long as
//!   it runs (on an admin connection kept open). Templates of other hashes are stale: they are
//!   dropped when an exclusive lock on their key can be taken, that is when no running process
//!   (say, another checkout with other migrations) still clones from them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use loyalty_app::config::Settings;
use loyalty_app::startup::Application;
use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};

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

/// An open transaction holding a lock; dropping it closes the connection, which rolls back.
#[allow(dead_code)] // Held for its effect on the database, never read.
pub enum HeldLock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
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
    /// A database for one test, with every migration applied: a copy of the template.
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("loyalty.db");
                std::fs::write(&path, sqlite_template()).expect("copy the SQLite template");
                let url = format!("sqlite://{}", path.display());
                TestDb::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => Self::postgres(Some(postgres_template())),
        }
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
            Backend::Postgres => Self::postgres(None),
        }
    }

    /// A new Postgres database, copied from `template` or else empty.
    fn postgres(template: Option<&str>) -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("loyalty_test_{}", uuid::Uuid::new_v4().simple());
        let template = template
            .map(|template| format!(" TEMPLATE {template}"))
            .unwrap_or_default();
        admin_connection(&admin_url)
            .batch_execute(&format!("CREATE DATABASE {name}{template}"))
            .expect("create test database");
        TestDb::Postgres {
            url: postgres_url(&admin_url, &name),
            admin_url,
            name,
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
                // The app may be writing meanwhile (a key's last use, in the background): wait
                // for its lock as the app's own connections do.
                SqliteConnection::establish(path)
                    .unwrap()
                    .batch_execute(&format!("PRAGMA busy_timeout = 5000; {sql}"))
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

    /// Holds the customer's row against writers until the returned guard is dropped, as a long
    /// transaction elsewhere would: a row lock on Postgres, the database's write lock on SQLite.
    pub fn lock_customer(&self, customer_id: &str) -> HeldLock {
        match self {
            TestDb::Sqlite { url, .. } => {
                let path = url.trim_start_matches("sqlite://");
                let mut conn = SqliteConnection::establish(path).unwrap();
                conn.batch_execute("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE")
                    .unwrap();
                HeldLock::Sqlite(conn)
            }
            TestDb::Postgres { url, .. } => {
                let mut conn = PgConnection::establish(url).unwrap();
                conn.batch_execute(&format!(
                    "BEGIN; SELECT id FROM customers WHERE id = '{customer_id}' FOR UPDATE"
                ))
                .unwrap();
                HeldLock::Postgres(conn)
            }
        }
    }

    /// Postgres only: every migration this build carries is recorded as applied, once.
    pub fn assert_each_migration_applied_once(&self) {
        let migrations = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../migrations/postgres"
        ))
        .unwrap()
        .count() as i64;
        assert_eq!(
            self.scalar("SELECT COUNT(*) AS n FROM __diesel_schema_migrations"),
            migrations,
            "each migration applied once"
        );
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

fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at LOYALTY_TEST_POSTGRES_URL: {e}"))
}

/// The URL of database `name` on the server of `admin_url`.
fn postgres_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("LOYALTY_TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

/// Applies every migration with the project's own code, and closes the connections after.
fn migrate(url: &str) {
    let url = DatabaseUrl::parse(url).expect("a database URL");
    let database = Database::connect(&url, PoolSettings::default()).expect("connect to migrate");
    database
        .run_pending_migrations()
        .expect("migrate the template");
}

/// The bytes of a migrated SQLite database, made once per process.
fn sqlite_template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("template.db");
        migrate(&format!("sqlite://{}", path.display()));
        let mut conn = SqliteConnection::establish(path.to_str().expect("a UTF-8 temp path"))
            .expect("open the SQLite template");
        // Everything into the main file, and out of WAL mode: leaving WAL needs every other
        // connection closed, so this also shows that the migration's pool is gone. The app
        // turns WAL on again when it opens its copy.
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .expect("checkpoint the SQLite template");
        drop(conn);
        assert!(
            !dir.path().join("template.db-wal").exists(),
            "the SQLite template has no WAL left"
        );
        std::fs::read(&path).expect("read the SQLite template")
    })
}

/// Serializes making and cleaning templates across test processes on one server.
const TEMPLATE_LOCK_KEY: i64 = 0x004c_5954_4d50_4c54; // "LYTMPLT" in ASCII
const TEMPLATE_PREFIX: &str = "loyalty_template_";

/// What a process keeps of its Postgres template: the name to clone, and the admin connection
/// whose session holds the shared lock that keeps other processes from dropping it.
struct PostgresTemplate {
    name: String,
    _in_use: Mutex<PgConnection>,
}

/// The name of the migrated Postgres template for this build's migrations, made once per
/// process and left with no open connection (see the module documentation).
fn postgres_template() -> &'static str {
    static TEMPLATE: OnceLock<PostgresTemplate> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let admin_url = postgres_admin_url();
            let hash = migrations_hash(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres"),
            );
            let name = format!("{TEMPLATE_PREFIX}{hash:016x}");
            let mut admin = admin_connection(&admin_url);
            advisory(&mut admin, "pg_advisory_lock", TEMPLATE_LOCK_KEY);
            // Held until this process ends: its template is in use.
            advisory(&mut admin, "pg_advisory_lock_shared", hash as i64);
            let complete: Scalar = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1 AND NOT datallowconn",
            )
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut admin)
            .expect("look for the Postgres template");
            if complete.n == 0 {
                // One statement each: neither may run inside a transaction block.
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .expect("drop a half-made Postgres template");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the Postgres template");
                migrate(&postgres_url(&admin_url, &name));
                admin
                    .batch_execute(&format!(
                        "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
                         SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}';"
                    ))
                    .expect("close the Postgres template");
            }
            drop_stale_templates(&mut admin, &name);
            advisory(&mut admin, "pg_advisory_unlock", TEMPLATE_LOCK_KEY);
            PostgresTemplate {
                name,
                _in_use: Mutex::new(admin),
            }
        })
        .name
}

/// Drops the templates of other migrations that no running process holds in use.
fn drop_stale_templates(admin: &mut PgConnection, current: &str) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query("SELECT datname FROM pg_database")
        .load(admin)
        .expect("list databases");
    for Name { datname } in names {
        let Some(hash) = datname.strip_prefix(TEMPLATE_PREFIX) else {
            continue;
        };
        let Ok(hash) = u64::from_str_radix(hash, 16) else {
            continue;
        };
        if datname == current || !try_advisory_lock(admin, hash as i64) {
            continue;
        }
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
            .expect("drop a stale template");
        advisory(admin, "pg_advisory_unlock", hash as i64);
    }
}

/// Calls one of the session advisory lock functions that take a BIGINT key.
fn advisory(admin: &mut PgConnection, function: &str, key: i64) {
    diesel::sql_query(format!("SELECT {function}($1)"))
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(admin)
        .unwrap_or_else(|e| panic!("{function}: {e}"));
}

fn try_advisory_lock(admin: &mut PgConnection, key: i64) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Acquired {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        acquired: bool,
    }
    let row: Acquired = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS acquired")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result(admin)
        .expect("pg_try_advisory_lock");
    row.acquired
}

/// FNV-1a over each file's path (relative to `dir`) and contents, in path order: stable across
/// runs, machines and toolchains.
fn migrations_hash(dir: &Path) -> u64 {
    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read the migrations") {
            let path = entry.expect("a migrations entry").path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in paths {
        let relative = path.strip_prefix(dir).expect("under the migrations");
        let contents = std::fs::read(&path).expect("read a migration");
        for part in [relative.to_string_lossy().as_bytes(), &[0], &contents, &[0]] {
            for byte in part {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    hash
}

/// A row of one BIGINT named `n`.
#[derive(diesel::QueryableByName)]
struct Scalar {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
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

/// Tests send many requests with one key from one address: the rate limits are off unless a
/// test sets them (see `rate_limits`).
pub const RATE_LIMITS_OFF: &[(&str, &str)] = &[
    ("RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE", "0"),
    ("RATE_LIMIT_CARDS_PER_MINUTE", "0"),
    ("RATE_LIMIT_API_PER_MINUTE", "0"),
];

/// The real application, serving on a free port of 127.0.0.1: in this process, or as several
/// `loyalty serve` replicas (see `replicas`) that take requests in turn.
pub struct TestApp {
    /// The first (or only) server's address.
    pub address: SocketAddr,
    addresses: Vec<SocketAddr>,
    /// Which server the next request goes to.
    next: std::cell::Cell<usize>,
    pub client: reqwest::Client,
    /// Stopped before the database is dropped (fields drop in order).
    server: Serving,
    pub db: TestDb,
    _turn: Turn,
}

/// What serves a test app.
enum Serving {
    InProcess(StopOnDrop),
    Replicas(crate::replicas::Fleet),
}

/// What a test asks of the machine while its app runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Ordinary,
    /// Many clients at once for a long time: it needs the machine to itself, as it had when it
    /// was its own test binary. Beside a stream of other tests on a small machine, SQLite writers
    /// wait out their busy timeout and answer 500.
    Stress,
}

/// Which kind of test runs now: any number of one kind at a time, never both kinds. A kind
/// waiting for its turn holds back newcomers of the other, so neither waits for long.
struct Turns {
    current: Load,
    running: usize,
    /// Tests waiting for their turn, by `Load as usize`.
    waiting: [usize; 2],
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    current: Load::Ordinary,
    running: 0,
    waiting: [0, 0],
});
static TURN_CHANGED: std::sync::Condvar = std::sync::Condvar::new();

thread_local! {
    /// Turns this thread (that is, this test) holds: a test with a second app waits for nothing.
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A test's place among the running tests, given back when its app is dropped. Not `Send`: it
/// is counted for the thread that took it.
struct Turn {
    _this_thread: std::marker::PhantomData<*const ()>,
}

impl Turn {
    fn take(load: Load) -> Self {
        if HELD.get() == 0 {
            let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
            let (mine, others) = (load as usize, 1 - load as usize);
            turns.waiting[mine] += 1;
            loop {
                if turns.running == 0 || (turns.current == load && turns.waiting[others] == 0) {
                    break;
                }
                turns = TURN_CHANGED.wait(turns).unwrap_or_else(|e| e.into_inner());
            }
            turns.waiting[mine] -= 1;
            turns.current = load;
            turns.running += 1;
        }
        HELD.set(HELD.get() + 1);
        Turn {
            _this_thread: std::marker::PhantomData,
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        HELD.set(HELD.get() - 1);
        if HELD.get() == 0 {
            let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
            turns.running -= 1;
            TURN_CHANGED.notify_all();
        }
    }
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

    /// Starts for a stress test: it waits until no ordinary test runs, and ordinary tests wait
    /// until it is done (see `Load::Stress`).
    pub async fn spawn_for_stress(backend: Backend) -> Self {
        let turn = Turn::take(Load::Stress);
        Self::start(
            TestDb::create(backend),
            &[],
            std::sync::Arc::new(loyalty_domain::SystemClock),
            turn,
        )
        .await
    }

    /// Starts with a clock the test controls.
    pub async fn spawn_with_clock(
        db: TestDb,
        vars: &[(&str, &str)],
        clock: std::sync::Arc<dyn loyalty_domain::Clock>,
    ) -> Self {
        Self::start(db, vars, clock, Turn::take(Load::Ordinary)).await
    }

    async fn start(
        db: TestDb,
        vars: &[(&str, &str)],
        clock: std::sync::Arc<dyn loyalty_domain::Clock>,
        turn: Turn,
    ) -> Self {
        let mut all = vec![("DATABASE_URL", db.url()), ("PORT", "0")];
        all.extend_from_slice(RATE_LIMITS_OFF);
        all.extend_from_slice(vars);
        let settings = settings(&all);
        let application = Application::build_with_clock(settings, clock)
            .await
            .expect("application starts");
        let address = application.address();
        let handle = application.handle();
        actix_web::rt::spawn(application.run_until_stopped());
        Self::serving(
            vec![address],
            Serving::InProcess(StopOnDrop(handle)),
            db,
            turn,
        )
    }

    /// A test app over the servers at `addresses`; requests go to each in turn.
    fn serving(addresses: Vec<SocketAddr>, server: Serving, db: TestDb, turn: Turn) -> Self {
        let client = reqwest::Client::builder()
            // A guard against hangs, generous for loaded CI machines: speed is not asserted here.
            .timeout(std::time::Duration::from_secs(60))
            // The server closes a connection idle for its keep-alive (actix's default, 5 s); a
            // client reusing one just then gets no answer (hyper's IncompleteMessage). Retiring
            // idle connections well before that keeps the client from ever racing the close.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        TestApp {
            address: addresses[0],
            addresses,
            next: std::cell::Cell::new(0),
            client,
            server,
            db,
            _turn: turn,
        }
    }

    /// Replicas of the real binary serving `db` (see `replicas`): a stress test's turn when
    /// `stress`, else an ordinary one.
    pub(crate) fn over_replicas(fleet: crate::replicas::Fleet, db: TestDb, stress: bool) -> Self {
        let turn = Turn::take(if stress { Load::Stress } else { Load::Ordinary });
        Self::serving(fleet.addresses(), Serving::Replicas(fleet), db, turn)
    }

    /// The `loyalty serve` processes serving this app; none when it runs in this process.
    pub fn processes(&self) -> &[crate::replicas::ServerProcess] {
        match &self.server {
            Serving::InProcess(_) => &[],
            Serving::Replicas(fleet) => fleet.servers(),
        }
    }

    /// The URL of `path` on the next server in turn.
    pub fn url(&self, path: &str) -> String {
        let turn = self.next.get();
        self.next.set(turn.wrapping_add(1));
        let address = self.addresses[turn % self.addresses.len()];
        format!("http://{address}{path}")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn stop(self) -> TestDb {
        match self.server {
            Serving::InProcess(handle) => handle.0.stop(true).await,
            Serving::Replicas(fleet) => drop(fleet),
        }
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

        let url = DatabaseUrl::parse(self.db.url()).unwrap();
        let database = Database::connect(&url, PoolSettings::default()).unwrap();
        Loyalty::new(
            Arc::new(database),
            Arc::new(SystemClock),
            Arc::new(loyalty_http::ApiEventRenderer),
        )
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
        self.tenant_keys(platform, id).await
    }

    /// Issues a tenant_admin and a staff key for tenant `id`, as the platform admin.
    pub async fn tenant_keys(&self, platform: &str, id: &str) -> Tenant {
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

    /// POSTs `body` and asserts 201 Created; returns the created resource.
    pub async fn created(
        &self,
        path: &str,
        key: &str,
        idempotency_key: Option<&str>,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let (status, created) = self
            .call("POST", path, key, idempotency_key, Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// The customer's balance, read as staff do.
    pub async fn balance(&self, staff: &str, customer: &str) -> i64 {
        let path = format!("/api/v1/customers/{customer}");
        self.call("GET", &path, staff, None, None).await.1["balance"]
            .as_i64()
            .unwrap()
    }

    /// Adds a reward to the catalog and returns its id.
    pub async fn reward(&self, admin: &str, body: serde_json::Value) -> String {
        let reward = self.created("/api/v1/rewards", admin, None, body).await;
        reward["id"].as_str().unwrap().to_owned()
    }

    /// Enrols a customer and returns its id.
    pub async fn enrol(&self, staff: &str, body: serde_json::Value) -> String {
        let customer = self.created("/api/v1/customers", staff, None, body).await;
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
        "min_purchase_minor": 0, "max_purchase_minor": 10_000_000, "min_minutes_between_visits": 0,
        "milestone_reward_id": null, "refund_expired_vouchers": true, "tiers": [],
        "points_expire_after_days": null
    })
}

/// A clock that moves only when the test says so.
pub struct ManualClock(Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn new() -> std::sync::Arc<Self> {
        Self::at(chrono::Utc::now())
    }

    /// A clock reading `now` until moved.
    pub fn at(now: chrono::DateTime<chrono::Utc>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(Mutex::new(now)))
    }

    /// Moves the clock to `to`, which must not be earlier than it reads.
    pub fn set(&self, to: chrono::DateTime<chrono::Utc>) {
        let mut now = self.0.lock().unwrap();
        assert!(to >= *now, "the clock only moves forward");
        *now = to;
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
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let database = Database::connect(&url, PoolSettings::default()).unwrap();
    loyalty_domain::Loyalty::new(
        std::sync::Arc::new(database),
        clock,
        std::sync::Arc::new(loyalty_http::ApiEventRenderer),
    )
}

//! Running the service as users who outgrow one process do: the built `loyalty` binary as
//! several replicas, each with its own pool and caches, on one PostgreSQL database reached
//! through a real PgBouncer in transaction pooling mode.
//!
//! PgBouncer is Debian's package (`/usr/sbin/pgbouncer`, or `LOYALTY_TEST_PGBOUNCER`); `.ci/run`
//! installs it. It refuses to run as root, so as root it is told to switch to the `postgres`
//! user (`-u`) after reading its configuration.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::{RATE_LIMITS_OFF, TestApp, TestDb, postgres_admin_url};

/// Server connections PgBouncer opens to PostgreSQL per database: fewer than the replicas'
/// pools hold together, so their transactions really share server connections.
const SERVER_CONNECTIONS: u32 = 8;

/// A PgBouncer in transaction pooling mode in front of the test server, on a free port.
pub struct PgBouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    pub fn start() -> Self {
        let server = url::Url::parse(&postgres_admin_url()).expect("a PostgreSQL URL");
        let (host, port) = (
            server.host_str().unwrap_or("127.0.0.1").to_owned(),
            server.port().unwrap_or(5432),
        );
        let user = match server.username() {
            "" => "postgres",
            named => named,
        };
        // PgBouncer logs in to the server with the password its user list gives (clients it
        // trusts): the test server's own, if its URL has one.
        let password = server.password().unwrap_or_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let listen_port = free_port();
        let userlist = dir.path().join("userlist.txt");
        std::fs::write(&userlist, format!("\"{user}\" \"{password}\"\n")).unwrap();
        let config = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n* = host={host} port={port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {listen_port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                 default_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 500\n\
                 server_reset_query =\nignore_startup_parameters = extra_float_digits\n",
                userlist.display()
            ),
        )
        .unwrap();
        let log_path = dir.path().join("pgbouncer.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(pgbouncer_binary());
        if running_as_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pgbouncer (install Debian's pgbouncer package)");
        let mut bouncer = PgBouncer {
            child,
            port: listen_port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", listen_port)).is_err() {
            let exited = bouncer.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("pgbouncer did not start ({exited:?}): {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// `database_url` with PgBouncer's address in place of the server's.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a PostgreSQL URL");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pgbouncer_binary() -> PathBuf {
    std::env::var_os("LOYALTY_TEST_PGBOUNCER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let debian = PathBuf::from("/usr/sbin/pgbouncer");
            if debian.exists() {
                debian
            } else {
                PathBuf::from("pgbouncer")
            }
        })
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|process| process.uid() == 0)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// The built `loyalty` binary serving on a free port, with its JSON log lines up to
/// "listening". What it logs after that is read as it comes (see `log_lines`), so it never blocks
/// on a full pipe.
pub struct ServerProcess {
    child: Mutex<Child>,
    pub address: SocketAddr,
    pub log: Vec<serde_json::Value>,
    /// Every line it logged after "listening", as written.
    later: std::sync::Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `loyalty serve` with `vars` (and a free port, JSON logs).
    pub fn start(vars: &[(&str, &str)]) -> Self {
        Self::listening(Self::spawn(vars))
    }

    /// Starts `count` replicas at once: their start-ups (migrations included) overlap.
    pub fn start_many(count: usize, vars: &[(&str, &str)]) -> Vec<Self> {
        let children: Vec<Child> = (0..count).map(|_| Self::spawn(vars)).collect();
        children.into_iter().map(Self::listening).collect()
    }

    fn spawn(vars: &[(&str, &str)]) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
        command
            .arg("serve")
            .env_remove("ENVIRONMENT")
            .env_remove("RUST_LOG")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json");
        for (name, value) in RATE_LIMITS_OFF.iter().chain(vars) {
            command.env(name, value);
        }
        command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the loyalty binary")
    }

    fn listening(mut child: Child) -> Self {
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut log = Vec::new();
        let mut address = None;
        for line in lines.by_ref().map_while(Result::ok) {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let listening = entry["message"] == "listening";
            address = entry["address"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .filter(|_| listening);
            log.push(entry);
            if address.is_some() {
                break;
            }
        }
        let Some(address) = address else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server never logged (as JSON) that it listens: {log:?}");
        };
        let later = std::sync::Arc::new(Mutex::new(Vec::new()));
        let kept = later.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Self {
            child: Mutex::new(child),
            address,
            log,
            later,
        }
    }

    /// Every line logged so far, start-up included, as written.
    pub fn log_lines(&self) -> Vec<String> {
        let later = self.later.lock().unwrap_or_else(|p| p.into_inner());
        self.log
            .iter()
            .map(ToString::to_string)
            .chain(later.iter().cloned())
            .collect()
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn stop(&self) {
        let mut child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends SIGTERM, as an orchestrator does to stop a replica.
    pub fn terminate(&self) {
        let pid = self.child().id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
    }

    /// How the process ended, if it did within `within`.
    pub fn exit_within(&self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child().try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Replicas of the service and the PgBouncer they share, if any; stopped in that order.
pub struct Fleet {
    servers: Vec<ServerProcess>,
    _bouncer: Option<PgBouncer>,
}

impl Fleet {
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|server| server.address).collect()
    }

    pub fn servers(&self) -> &[ServerProcess] {
        &self.servers
    }
}

/// One `loyalty serve` process on `db` with `vars`, straight to the database.
pub fn one_process(db: TestDb, vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("DATABASE_URL", db.url())];
    all.extend_from_slice(vars);
    let server = ServerProcess::start(&all);
    TestApp::over_replicas(
        Fleet {
            servers: vec![server],
            _bouncer: None,
        },
        db,
        false,
    )
}

/// `count` replicas of `loyalty serve` on `db` through a new PgBouncer, started at once, with
/// the prepared-statement cache off and `vars` besides. Requests to the app go to each replica
/// in turn; `app.db` reaches the database directly.
pub fn behind_pgbouncer(db: TestDb, count: usize, vars: &[(&str, &str)], stress: bool) -> TestApp {
    let bouncer = PgBouncer::start();
    let pooled = bouncer.url_for(db.url());
    let mut all = vec![
        ("DATABASE_URL", pooled.as_str()),
        ("DATABASE_STATEMENT_CACHE", "off"),
    ];
    all.extend_from_slice(vars);
    let servers = ServerProcess::start_many(count, &all);
    TestApp::over_replicas(
        Fleet {
            servers,
            _bouncer: Some(bouncer),
        },
        db,
        stress,
    )
}

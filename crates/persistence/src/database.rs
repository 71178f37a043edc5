use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use loyalty_domain::StoreError;
use loyalty_domain::commits::{CommitObserver, CommittedWrites};
use r2d2::{Pool, PooledConnection};

use crate::checkpoint::Checkpointer;
use crate::connection::ConnectionManager;
use crate::{Backend, DatabaseUrl, DbConnection, PersistenceError};

/// Pool sizing, waiting limits, and the limits every PostgreSQL session runs under.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: u32,
    /// Whether PostgreSQL connections keep their prepared statements for reuse. Off behind a
    /// pooler in transaction mode (PgBouncer before 1.21), where the next transaction may run on
    /// a server connection that never saw the statement prepared.
    pub statement_cache: bool,
    /// How long a request waits for a free connection before it fails.
    pub checkout_timeout: Duration,
    /// How long a readiness probe waits; kept short so a dead database answers 503 quickly.
    pub probe_timeout: Duration,
    /// How long migrations wait for another process's migrations (the PostgreSQL migration
    /// lock) before they give up.
    pub migration_lock_timeout: Duration,
    pub session: SessionLimits,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 10,
            statement_cache: true,
            checkout_timeout: Duration::from_secs(2),
            probe_timeout: Duration::from_millis(1500),
            migration_lock_timeout: Duration::from_secs(60),
            session: SessionLimits::default(),
        }
    }
}

/// Time limits on PostgreSQL work, so that no request waits on the database without end: a
/// statement running too long, a lock wait, a transaction left open, a server that does not
/// answer a connect. SQLite has its own busy timeout instead.
///
/// The first three are set on each transaction (`SET LOCAL`, sent with its `BEGIN`), not on the
/// session: behind a pooler in transaction mode a session's settings would stay on a server
/// connection that other clients use next, and a client's own next transaction may run on a
/// server connection that never had them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(3),
            idle_in_transaction_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl SessionLimits {
    /// The statements that put the limits on the transaction they run in.
    fn set_local(&self) -> String {
        format!(
            "SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}; \
             SET LOCAL idle_in_transaction_session_timeout = {}",
            self.statement_timeout.as_millis(),
            self.lock_timeout.as_millis(),
            self.idle_in_transaction_timeout.as_millis(),
        )
    }
}

/// What begins a transaction on this backend, for writing and for reading: one round trip each.
#[derive(Debug, Clone)]
pub(crate) struct Begin {
    pub(crate) writing: String,
    pub(crate) reading: String,
}

impl Begin {
    fn new(backend: Backend, limits: &SessionLimits) -> Self {
        match backend {
            // A reading transaction sees one snapshot: REPEATABLE READ (READ COMMITTED would
            // take one per query), said in its BEGIN.
            Backend::Postgres => Self {
                writing: format!("BEGIN; {}", limits.set_local()),
                reading: format!(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; {}",
                    limits.set_local()
                ),
            },
            // IMMEDIATE takes the write lock first, so two writers queue instead of one failing
            // when it upgrades from reading; a deferred transaction reads one snapshot of the WAL.
            Backend::Sqlite => Self {
                writing: "BEGIN IMMEDIATE".to_owned(),
                reading: "BEGIN".to_owned(),
            },
        }
    }
}

/// The application's database: a pool of connections to one backend.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    /// One connection of its own for readiness, so a pool saturated by traffic does not make the
    /// service look dead.
    probe_pool: Pool<ConnectionManager>,
    backend: Backend,
    begin: Begin,
    /// SQLite takes one writer at a time, and a writer that finds the file locked sleeps in
    /// growing steps before it tries again: under load most of a second is lost that way. The
    /// process's own writers therefore queue here first, so the file's lock is free whenever one
    /// of them asks, and SQLite's busy wait is left to other processes.
    sqlite_writer: Arc<Mutex<()>>,
    /// SQLite's checkpoints, off the request path; shared by the clones, stopped with the last.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// Told what each committed transaction wrote (metrics), when set.
    commit_observer: Option<Arc<dyn CommitObserver>>,
    pub(crate) migration_lock_timeout: Duration,
}

pub(crate) type Conn = PooledConnection<ConnectionManager>;

impl Database {
    /// Opens one connection straight away, so a wrong URL or a dead server fails here with the
    /// driver's own error rather than later as a pool time-out.
    pub fn connect(url: &DatabaseUrl, settings: PoolSettings) -> Result<Self, PersistenceError> {
        let manager = ConnectionManager::new(url.clone(), &settings);
        let mut first = manager.open().map_err(PersistenceError::Connect)?;
        if let DbConnection::Sqlite(sqlite) = &mut first {
            // WAL is a property of the file: setting it once lets readers run beside a writer.
            sqlite.batch_execute("PRAGMA journal_mode = WAL")?;
        }
        drop(first);
        // Connections open on demand only: a pool that keeps a minimum idle would reconnect in
        // a background thread after each checkout, and a process exiting during such a connect
        // (a CLI command finishing) can crash inside libpq's TLS teardown.
        let pool = Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(0))
            // A round trip per checkout is too dear for the request path: the store takes a
            // new connection when the first statement finds a pooled one dead.
            .test_on_check_out(false)
            .connection_timeout(settings.checkout_timeout)
            .build_unchecked(manager.clone());
        let checkpointer = match url.backend() {
            Backend::Sqlite => Some(Arc::new(
                Checkpointer::start(manager.clone()).map_err(PersistenceError::Checkpointer)?,
            )),
            Backend::Postgres => None,
        };
        let probe_pool = Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(settings.probe_timeout)
            .build_unchecked(manager);
        Ok(Self {
            pool,
            probe_pool,
            backend: url.backend(),
            begin: Begin::new(url.backend(), &settings.session),
            sqlite_writer: Arc::new(Mutex::new(())),
            _checkpointer: checkpointer,
            commit_observer: None,
            migration_lock_timeout: settings.migration_lock_timeout,
        })
    }

    /// Reports what each committed transaction wrote to `observer`.
    pub fn with_commit_observer(mut self, observer: Arc<dyn CommitObserver>) -> Self {
        self.commit_observer = Some(observer);
        self
    }

    pub(crate) fn report_commit(&self, written: &CommittedWrites) {
        if let Some(observer) = &self.commit_observer
            && !written.is_empty()
        {
            observer.committed(written);
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn conn(&self) -> Result<Conn, PersistenceError> {
        self.pool.get().map_err(PersistenceError::Pool)
    }

    /// Connections the pool holds at most.
    pub(crate) fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Runs one statement outside a transaction, again on another connection while the pooled
    /// one turns out dead (see `test_on_check_out` above): after a database restart every pooled
    /// connection is, so up to the pool's size of them are discarded before a new one opens.
    /// Only for work that is safe to run twice: reads, inserts that ignore a duplicate.
    pub(crate) fn lone_statement<T, E: From<StoreError> + StatementFailure>(
        &self,
        mut run: impl FnMut(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut dead_discarded = 0;
        loop {
            let mut conn = self.conn().map_err(StoreError::from)?;
            match run(&mut conn) {
                Err(error)
                    if error.came_from_the_database()
                        && dead_discarded < self.pool_size()
                        && conn.found_dead() =>
                {
                    dead_discarded += 1;
                }
                other => return other,
            }
        }
    }

    pub(crate) fn conn_for_probe(&self) -> Result<Conn, PersistenceError> {
        self.probe_pool.get().map_err(PersistenceError::Pool)
    }

    pub(crate) fn begin(&self) -> &Begin {
        &self.begin
    }

    /// This process's turn to write, on SQLite; on PostgreSQL writers need none.
    pub(crate) fn writer_turn(&self) -> Option<MutexGuard<'_, ()>> {
        (self.backend == Backend::Sqlite).then(|| {
            // A writer that panicked released the file's lock when its transaction ended.
            self.sqlite_writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        })
    }
}

/// Names a job that one replica at a time may run.
#[derive(Debug, Clone, Copy)]
pub struct JobLock(pub i64);

impl Database {
    /// Runs `work` unless another replica holds `lock` right now, in which case it returns
    /// `Ok(None)` at once. On PostgreSQL the lock is a transaction-scoped advisory lock, held by a
    /// transaction left open on a connection of its own while `work` runs: it works behind a
    /// pooler in transaction mode (a session lock there would stay on whichever server connection
    /// took it), and it goes with the connection if the process dies. The transaction only takes
    /// the lock and writes nothing, so it holds back no vacuum. SQLite is one process's file, and
    /// its writers already take turns.
    pub fn exclusively<T>(
        &self,
        lock: JobLock,
        work: impl FnOnce() -> T,
    ) -> Result<Option<T>, PersistenceError> {
        use diesel::sql_types::{BigInt, Bool};
        use diesel::{Connection, QueryableByName, RunQueryDsl, sql_query};

        #[derive(QueryableByName)]
        struct Acquired {
            #[diesel(sql_type = Bool)]
            acquired: bool,
        }

        let mut conn = self.conn()?;
        let DbConnection::Postgres(pg) = &mut *conn else {
            return Ok(Some(work()));
        };
        pg.transaction(|pg| {
            // The transaction stays idle while the work runs on other connections.
            pg.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")?;
            let acquired: Acquired = sql_query("SELECT pg_try_advisory_xact_lock($1) AS acquired")
                .bind::<BigInt, _>(lock.0)
                .get_result(pg)?;
            Ok(acquired.acquired.then(work))
        })
    }
}

/// A failure of work run by `lone_statement`: only one that came from the database can mean the
/// connection died (and is worth a ping to find out); a refusal of the domain's cannot.
pub(crate) trait StatementFailure {
    fn came_from_the_database(&self) -> bool;
}

impl StatementFailure for StoreError {
    fn came_from_the_database(&self) -> bool {
        true
    }
}

impl StatementFailure for loyalty_domain::LoyaltyError {
    fn came_from_the_database(&self) -> bool {
        matches!(self, loyalty_domain::LoyaltyError::Store(_))
    }
}

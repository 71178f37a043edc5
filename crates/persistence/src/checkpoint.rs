//! SQLite's write-ahead log, folded back into the database file by a thread of its own.
//!
//! By default SQLite checkpoints inside a commit once the log passes 1,000 pages: that commit
//! copies the log into the file and flushes both to disk while every other writer waits its turn
//! behind it, which showed as the p99 of SQLite writes (about 50 ms against 20 ms without). So the
//! request connections never checkpoint (`wal_autocheckpoint = 0`), and this thread runs a
//! passive checkpoint every second, which waits for no reader or writer.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::DbConnection;
use crate::connection::ConnectionManager;

/// How often the log is folded back into the file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// The checkpointing thread; dropping this stops it and waits for it, so the file has no
/// connection of this process left open once the database is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(manager: ConnectionManager) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                let open = || {
                    manager
                        .open()
                        .inspect_err(|error| {
                            tracing::warn!(error = ?error, "checkpoint: cannot open the database");
                        })
                        .ok()
                };
                // Opened at once and kept: while it is open, no other connection of this process
                // closing is the file's last, which would checkpoint in that connection's close.
                let mut conn = open();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    if conn.is_none() {
                        conn = open();
                    }
                    if let Some(DbConnection::Sqlite(sqlite)) = &mut conn
                        && let Err(error) = sqlite.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                    {
                        tracing::warn!(error = ?error, "checkpoint of the write-ahead log failed");
                    }
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

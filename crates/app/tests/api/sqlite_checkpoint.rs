//! SQLite's write-ahead log reaches the database file through the store's checkpoint thread, not
//! inside a commit that other writers would wait behind.

use std::time::{Duration, Instant};

use crate::support::{Backend, TestDb};
use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};

#[test]
fn the_log_is_folded_into_the_file_by_the_checkpoint_thread() {
    let db = TestDb::create(Backend::Sqlite);
    let database = Database::connect(
        &DatabaseUrl::parse(db.url()).unwrap(),
        PoolSettings::default(),
    )
    .unwrap();
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    let file_size = || std::fs::metadata(&path).unwrap().len();
    db.execute("CREATE TABLE filler (x BLOB)");
    let before = file_size();
    // About a megabyte: 250 pages, under the 1,000 at which a connection checkpoints by itself.
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         INSERT INTO filler SELECT randomblob(1000) FROM n",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_size() < before + 900_000 {
        assert!(
            Instant::now() < deadline,
            "the rows never left the log: {} bytes, {before} before",
            file_size()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(database);
}

//! A real PostgreSQL deadlock and a serialization failure are conflicts: the store runs the work
//! again instead of answering 500.

#![allow(clippy::unwrap_used)] // In tests a panic is the failure report.

use std::sync::{Arc, Barrier};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use loyalty_domain::store::StoreErrorKind;
use loyalty_persistence::PersistenceError;

/// A database of its own with a two-row table, dropped afterwards.
struct Scratch {
    admin_url: String,
    name: String,
    url: String,
}

impl Scratch {
    fn create() -> Self {
        let admin_url = std::env::var("LOYALTY_TEST_POSTGRES_URL")
            .expect("LOYALTY_TEST_POSTGRES_URL must point to a PostgreSQL server");
        let name = format!("loyalty_conflicts_{}", uuid::Uuid::new_v4().simple());
        PgConnection::establish(&admin_url)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        PgConnection::establish(&url)
            .unwrap()
            .batch_execute("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO pair VALUES (1, 0), (2, 0)")
            .unwrap();
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

/// Runs `first` then, once both transactions got that far, `second` in each of two
/// transactions at once; returns how each ended.
fn race(
    url: &str,
    [first, second]: [[&'static str; 2]; 2],
) -> Vec<Result<(), diesel::result::Error>> {
    let barrier = Arc::new(Barrier::new(2));
    let runs: Vec<_> = [first, second]
        .into_iter()
        .map(|[before, after]| {
            let (url, barrier) = (url.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                conn.transaction(|conn| {
                    conn.batch_execute(before)?;
                    barrier.wait();
                    conn.batch_execute(after)
                })
            })
        })
        .collect();
    runs.into_iter().map(|run| run.join().unwrap()).collect()
}

fn kinds(outcomes: Vec<Result<(), diesel::result::Error>>) -> Vec<Option<StoreErrorKind>> {
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome
                .err()
                .map(|error| PersistenceError::Query(error).kind())
        })
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
fn a_deadlock_is_a_conflict_to_run_again() {
    let scratch = Scratch::create();
    let mut outcomes = kinds(race(
        &scratch.url,
        [
            [
                "UPDATE pair SET n = n + 1 WHERE id = 1",
                "UPDATE pair SET n = n + 1 WHERE id = 2",
            ],
            [
                "UPDATE pair SET n = n + 1 WHERE id = 2",
                "UPDATE pair SET n = n + 1 WHERE id = 1",
            ],
        ],
    ));
    outcomes.sort_by_key(Option::is_some);
    assert_eq!(outcomes, vec![None, Some(StoreErrorKind::Conflict)]);
}

#[test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
fn a_serialization_failure_is_a_conflict_to_run_again() {
    let scratch = Scratch::create();
    // Each reads what the other writes: under SERIALIZABLE one of them must fail.
    let mut outcomes = kinds(race(
        &scratch.url,
        [
            [
                "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT n FROM pair WHERE id = 2",
                "UPDATE pair SET n = 1 WHERE id = 1",
            ],
            [
                "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT n FROM pair WHERE id = 1",
                "UPDATE pair SET n = 1 WHERE id = 2",
            ],
        ],
    ));
    outcomes.sort_by_key(Option::is_some);
    assert_eq!(outcomes, vec![None, Some(StoreErrorKind::Conflict)]);
}

//! The two migration folders describe one schema: same migrations, same tables and columns, and
//! every down.sql really undoes its up.sql.

#![allow(clippy::unwrap_used)] // In tests a panic is the failure report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection, sql_query};
use loyalty_persistence::{Database, DatabaseUrl, PoolSettings};

fn migrations_dir(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend)
}

fn folder_names(backend: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(migrations_dir(backend))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migration_folders_each_with_up_and_down() {
    let postgres = folder_names("postgres");
    assert!(!postgres.is_empty());
    assert_eq!(postgres, folder_names("sqlite"));
    for backend in ["postgres", "sqlite"] {
        for name in &postgres {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    migrations_dir(backend).join(name).join(file).is_file(),
                    "{backend}/{name}/{file}"
                );
            }
        }
    }
}

/// The tables read or written on every request, whose locks a migration must not hold for long.
const BUSY_TABLES: [&str; 3] = ["ledger_entries", "customers", "api_keys"];

/// The PostgreSQL statements of one migration file, comments dropped, in lower case.
fn statements_of(name: &str, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(migrations_dir("postgres").join(name).join(file)).unwrap();
    let code: String = text
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(|statement| statement.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|statement| statement.to_lowercase())
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Schema changes to a busy table take short locks on PostgreSQL: the migration bounds its wait
/// for the lock, a constraint is added NOT VALID (no scan under the exclusive lock) and validated
/// by a later migration (a lock that lets reads and writes go on), and an index is created only
/// if missing, so an operator can build it CONCURRENTLY beforehand.
#[test]
fn changes_to_busy_tables_take_short_locks() {
    let names = folder_names("postgres");
    for (position, name) in names.iter().enumerate() {
        for file in ["up.sql", "down.sql"] {
            let statements = statements_of(name, file);
            let touches = |statement: &String| {
                BUSY_TABLES.iter().any(|table| {
                    statement.starts_with(&format!("alter table {table} "))
                        || (statement.starts_with("create")
                            && statement.contains(&format!(" on {table} ")))
                })
            };
            let creates_table = statements.iter().any(|statement| {
                BUSY_TABLES
                    .iter()
                    .any(|table| statement.starts_with(&format!("create table {table} ")))
            });
            let changes: Vec<&String> = statements.iter().filter(|s| touches(s)).collect();
            if changes.is_empty() || creates_table {
                continue;
            }
            let bounded = statements
                .iter()
                .position(|s| s.starts_with("set local lock_timeout"));
            let first_change = statements.iter().position(touches).unwrap();
            assert!(
                bounded.is_some_and(|at| at < first_change),
                "{name}/{file} changes a busy table without SET LOCAL lock_timeout first"
            );
            for change in changes {
                if let Some((_, constraint)) = change.split_once(" add constraint ") {
                    assert!(
                        change.ends_with(" not valid"),
                        "{name}/{file}: {change} must be NOT VALID"
                    );
                    let constraint = constraint.split_whitespace().next().unwrap();
                    let validated = file == "down.sql"
                        || names[position + 1..].iter().any(|later| {
                            statements_of(later, "up.sql")
                                .iter()
                                .any(|s| s.ends_with(&format!(" validate constraint {constraint}")))
                        });
                    assert!(
                        validated,
                        "{name}: {constraint} is never validated by a later migration"
                    );
                }
                if change.starts_with("create") {
                    assert!(
                        change.contains(" if not exists "),
                        "{name}/{file}: {change} must be IF NOT EXISTS, to adopt an index built CONCURRENTLY"
                    );
                }
            }
        }
    }
}

/// (table, column, portable type, nullable) for every column of the application's tables.
type Shape = BTreeSet<(String, String, String, bool)>;

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    data_type: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

fn portable(data_type: &str) -> String {
    match data_type.to_ascii_lowercase().as_str() {
        "text" => "text",
        "bigint" => "bigint",
        "integer" | "int" => "integer",
        "boolean" | "bool" => "boolean",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => panic!("type {other} is not portable across both backends"),
    }
    .to_owned()
}

fn into_shape(rows: Vec<ColumnRow>) -> Shape {
    rows.into_iter()
        .filter(|r| !r.table_name.starts_with("__diesel"))
        .map(|r| {
            (
                r.table_name,
                r.column_name,
                portable(&r.data_type),
                r.nullable,
            )
        })
        .collect()
}

fn sqlite_shape(path: &Path) -> Shape {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let rows = sql_query(
        "SELECT m.name AS table_name, c.name AS column_name, c.type AS data_type, \
         (c.\"notnull\" = 0) AS nullable \
         FROM sqlite_master m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    )
    .load(&mut conn)
    .unwrap();
    into_shape(rows)
}

fn postgres_shape(url: &str) -> Shape {
    let mut conn = PgConnection::establish(url).unwrap();
    let rows = sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, \
         (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .load(&mut conn)
    .unwrap();
    into_shape(rows)
}

fn open(url: &str) -> Database {
    Database::connect(&DatabaseUrl::parse(url).unwrap(), PoolSettings::default()).unwrap()
}

/// Applies every migration, reverts them all, applies them again: the shape must come back.
fn up_down_up(database: &Database, shape: impl Fn() -> Shape) -> Shape {
    let total = database.migration_status().unwrap().len();
    assert_eq!(database.run_pending_migrations().unwrap().len(), total);
    let migrated = shape();
    assert!(!migrated.is_empty());
    for _ in 0..total {
        assert!(database.revert_last_migration().unwrap().is_some());
    }
    assert_eq!(database.revert_last_migration().unwrap(), None);
    assert!(shape().is_empty(), "down.sql leaves nothing behind");
    assert_eq!(database.run_pending_migrations().unwrap().len(), total);
    assert_eq!(shape(), migrated, "up after down gives the same schema");
    migrated
}

#[test]
fn sqlite_migrations_go_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    let database = open(path.to_str().unwrap());
    up_down_up(&database, || sqlite_shape(&path));
}

#[test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
fn postgres_migrations_go_up_down_and_up_again_and_match_sqlite_column_for_column() {
    let admin_url = std::env::var("LOYALTY_TEST_POSTGRES_URL")
        .expect("LOYALTY_TEST_POSTGRES_URL must point to a PostgreSQL server");
    let name = format!("loyalty_schema_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (server, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{server}/{name}?sslmode=disable");

    let postgres = {
        let database = open(&url);
        up_down_up(&database, || postgres_shape(&url))
    };
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    open(path.to_str().unwrap())
        .run_pending_migrations()
        .unwrap();
    assert_eq!(
        postgres,
        sqlite_shape(&path),
        "both backends have the same tables and columns"
    );
}

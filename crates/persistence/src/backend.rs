//! Statements that must run on the backend's own connection.
//!
//! diesel's `MultiConnection` derive compiles only the query fragments every backend shares, so a
//! statement with `ON CONFLICT` or `FOR UPDATE` does not compile against [`DbConnection`]: it has
//! to run on the inner `PgConnection` or `SqliteConnection`. [`db_run!`] writes that `match` once
//! (after vaultwarden's macro of the same name), so each such statement is written once and
//! compiled for both backends.
//!
//! [`DbConnection`]: crate::DbConnection

/// Runs a statement on whichever backend `$conn` (anything that dereferences mutably to a
/// [`DbConnection`](crate::DbConnection)) is.
///
/// - `db_run!(conn, |inner| statement.execute(inner))` runs the same statement on either backend,
///   with `inner` bound to the backend's own connection; for `ON CONFLICT`.
/// - `db_run!(conn, first_for_update(query, Row))` reads the first row of `query` as a `Row`
///   (a `Selectable`), if any, and holds it against concurrent writers until the transaction
///   ends: `FOR UPDATE` on Postgres. The selection is made inside each arm because
///   `Row::as_select()` is typed by the backend it runs on.
macro_rules! db_run {
    ($conn:expr, |$inner:ident| $body:expr) => {
        match &mut *$conn {
            $crate::DbConnection::Postgres($inner) => $body,
            $crate::DbConnection::Sqlite($inner) => $body,
        }
    };
    ($conn:expr, first_for_update($query:expr, $row:ty)) => {
        match &mut *$conn {
            $crate::DbConnection::Postgres(pg) => $query
                .select(<$row>::as_select())
                .for_update()
                .first(pg)
                .optional(),
            // FOR UPDATE is Postgres-only; a SQLite unit of work already holds the write lock.
            $crate::DbConnection::Sqlite(sqlite) => {
                $query.select(<$row>::as_select()).first(sqlite).optional()
            }
        }
    };
}

pub(crate) use db_run;

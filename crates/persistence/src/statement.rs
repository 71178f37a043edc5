//! Statements whose text is put together at run time (a search's probes, a report's days), with
//! each parameter bound in step with its placeholder.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Text, Timestamp};

use crate::DbConnection;
use crate::rows::naive;

type Backend = <DbConnection as diesel::Connection>::Backend;

enum Bind {
    Text(String),
    Timestamp(NaiveDateTime),
}

/// The parameters of a statement being written, and the backend's way to name them.
pub(crate) struct Statement {
    binds: Vec<Bind>,
    postgres: bool,
}

impl Statement {
    pub(crate) fn new(conn: &DbConnection) -> Self {
        Self {
            binds: Vec::new(),
            postgres: matches!(conn, DbConnection::Postgres(_)),
        }
    }

    /// A placeholder for the next parameter; numbered, so text may use it more than once.
    fn placeholder(&self) -> String {
        let number = self.binds.len();
        if self.postgres {
            format!("${number}")
        } else {
            format!("?{number}")
        }
    }

    /// A placeholder bound to `value`, as text.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.binds.push(Bind::Text(value.into()));
        self.placeholder()
    }

    /// A placeholder bound to `at`, as a timestamp.
    pub(crate) fn timestamp(&mut self, at: DateTime<Utc>) -> String {
        self.binds.push(Bind::Timestamp(naive(at)));
        self.placeholder()
    }

    /// The seconds since the Unix epoch of a timestamp `column`, as a whole number.
    pub(crate) fn epoch_seconds(&self, column: &str) -> String {
        if self.postgres {
            // Whole seconds down, as SQLite's strftime gives them: a cast alone would round
            // 23:59:59.6 into the next day.
            format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)")
        } else {
            format!("CAST(strftime('%s', {column}) AS INTEGER)")
        }
    }

    /// The statement `sql`, written with this statement's placeholders, with its parameters
    /// bound.
    pub(crate) fn query(self, sql: String) -> BoxedSqlQuery<'static, Backend, SqlQuery> {
        let mut query = diesel::sql_query(sql).into_boxed();
        for bind in self.binds {
            query = match bind {
                Bind::Text(value) => query.bind::<Text, _>(value),
                Bind::Timestamp(at) => query.bind::<Timestamp, _>(at),
            };
        }
        query
    }
}

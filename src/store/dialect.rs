//! The two SQL dialects the store speaks, and dynamically built SQL fragments.

/// Which database a pool talks to. Both use `$1, $2, …` placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// A value bound to a `$N` placeholder of a built fragment.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A piece of SQL with its binds. Placeholders are numbered `$start..`, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlFragment {
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

impl SqlFragment {
    /// Appends a bind and returns its placeholder text (`$N`, where N counts from `first`).
    pub fn bind(&mut self, first: usize, v: SqlValue) -> String {
        self.binds.push(v);
        format!("${}", first + self.binds.len() - 1)
    }
}

/// Binds fragment values, in order, onto a Postgres query.
pub fn bind_pg<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    binds: &[SqlValue],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for b in binds {
        q = match b {
            SqlValue::Text(s) => q.bind(s.clone()),
            SqlValue::Int(i) => q.bind(*i),
            SqlValue::Float(f) => q.bind(*f),
            SqlValue::Bool(v) => q.bind(*v),
        };
    }
    q
}

/// Binds fragment values, in order, onto a SQLite query.
pub fn bind_sqlite<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    binds: &[SqlValue],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    for b in binds {
        q = match b {
            SqlValue::Text(s) => q.bind(s.clone()),
            SqlValue::Int(i) => q.bind(*i),
            SqlValue::Float(f) => q.bind(*f),
            SqlValue::Bool(v) => q.bind(*v),
        };
    }
    q
}

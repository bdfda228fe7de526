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

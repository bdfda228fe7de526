//! Leaf comparisons: `<scalar> <op> <value>` and `<scalar> pr`, always yielding a non-NULL
//! boolean (`COALESCE(…, FALSE)`) so that `not` and `ne` have two-valued SCIM semantics.

use scim_v2::filter::{CompValue, CompareOp};

use super::target::{Kind, Scalar};
use crate::scim::error::ScimError;
use crate::store::dialect::{Dialect, SqlFragment, SqlValue};

/// Binds values into a fragment with placeholders counted from `first`.
pub struct Binder<'a> {
    pub frag: &'a mut SqlFragment,
    pub first: usize,
    pub dialect: Dialect,
}

impl Binder<'_> {
    pub fn bind(&mut self, v: SqlValue) -> String {
        self.frag.bind(self.first, v)
    }
}

pub fn coalesce(cond: &str) -> String {
    format!("COALESCE({cond}, FALSE)")
}

/// `pr`: present and non-null; strings also non-empty.
pub fn present(s: &Scalar) -> String {
    match s.kind {
        Kind::Str => coalesce(&format!("{} <> ''", s.expr)),
        _ => format!("({} IS NOT NULL)", s.expr),
    }
}

/// `alias.column`: a plain column an index can serve.
fn is_column(expr: &str) -> bool {
    let mut parts = expr.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn bad(label: &str, what: &str) -> ScimError {
    ScimError::invalid_filter(format!("attribute `{label}`: {what}"))
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes `*`, `?` and `[` for SQLite `GLOB` (case-sensitive matching).
pub fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Normalises an xsd:dateTime to the stored form: UTC, milliseconds, `Z`.
pub fn normalize_datetime(s: &str) -> Option<String> {
    let utc = match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(dt) => dt.with_timezone(&chrono::Utc),
        Err(_) => chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc(),
    };
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn sql_op(op: &CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

/// Compiles `<s> <op> <v>`. `ne` and `eq null` are rewritten by the caller; here `op` is never
/// `Ne` and `v` never `Null`.
pub fn compare(
    b: &mut Binder<'_>,
    s: &Scalar,
    op: &CompareOp,
    v: &CompValue,
    label: &str,
) -> Result<String, ScimError> {
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let cond = match s.kind {
        Kind::Str => {
            let CompValue::Str(val) = v else {
                return Err(bad(label, "expected a string value"));
            };
            if val.contains('\0') {
                // Postgres text cannot hold U+0000: the bind failed as a 500 (a fuzz finding).
                // No stored string contains it (canonicalize refuses it), so this is a 400.
                return Err(bad(label, "a string value must not contain U+0000"));
            }
            let (lhs, val) = if s.case_exact {
                (s.expr.clone(), val.clone())
            } else if s.lowered {
                (s.expr.clone(), val.to_lowercase())
            } else {
                (format!("lower({})", s.expr), val.to_lowercase())
            };
            if substring {
                let (pre, post) = match op {
                    CompareOp::Co => (true, true),
                    CompareOp::Sw => (false, true),
                    _ => (true, false),
                };
                if s.case_exact && b.dialect == Dialect::Sqlite {
                    // SQLite's LIKE ignores ASCII case; GLOB doesn't.
                    let pat = format!(
                        "{}{}{}",
                        if pre { "*" } else { "" },
                        glob_escape(&val),
                        if post { "*" } else { "" }
                    );
                    let p = b.bind(SqlValue::Text(pat));
                    format!("{lhs} GLOB {p}")
                } else {
                    let pat = format!(
                        "{}{}{}",
                        if pre { "%" } else { "" },
                        like_escape(&val),
                        if post { "%" } else { "" }
                    );
                    let p = b.bind(SqlValue::Text(pat));
                    format!("{lhs} LIKE {p} ESCAPE '\\'")
                }
            } else {
                let p = b.bind(SqlValue::Text(val));
                let cond = format!("{lhs} {} {p}", sql_op(op));
                if is_column(&lhs) {
                    // Not `COALESCE(col = p, FALSE)`: the COALESCE hides the comparison from
                    // the planner, so `userName eq` scanned every user instead of using the
                    // unique (target, user_name_lc) index. With a non-NULL bind, `col = p` is
                    // NULL only when col is, so this is just as two-valued.
                    return Ok(format!("({lhs} IS NOT NULL AND {cond})"));
                }
                cond
            }
        }
        Kind::Bool { text } => {
            if substring || ordering {
                return Err(bad(label, "only eq and ne apply to a boolean"));
            }
            let val = match v {
                CompValue::True => true,
                CompValue::False => false,
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(bad(label, "expected true or false")),
            };
            let p = if text {
                b.bind(SqlValue::Text(val.to_string()))
            } else {
                b.bind(SqlValue::Bool(val))
            };
            format!("{} = {p}", s.expr)
        }
        Kind::Num => {
            if substring {
                return Err(bad(label, "co, sw and ew do not apply to a number"));
            }
            let CompValue::Number(n) = v else {
                return Err(bad(label, "expected a number"));
            };
            let (bound, pg_type) = match n.as_i64() {
                Some(i) => (SqlValue::Int(i), "BIGINT"),
                None => (
                    SqlValue::Float(
                        n.as_f64()
                            .ok_or_else(|| bad(label, "number out of range"))?,
                    ),
                    "DOUBLE PRECISION",
                ),
            };
            let mut p = b.bind(bound);
            if b.dialect == Dialect::Postgres {
                // The bind's type must be part of the SQL text: sqlx caches statements by
                // text, and one prepared with an int8 parameter then bound with a float (or
                // the reverse) read the bytes as the other type, silently matching the wrong
                // rows (a fuzz finding: `gt 2.5` after `gt 0` matched nothing).
                p = format!("CAST({p} AS {pg_type})");
            }
            format!("{} {} {p}", s.expr, sql_op(op))
        }
        Kind::Date => {
            if substring {
                return Err(bad(label, "co, sw and ew do not apply to a dateTime"));
            }
            let CompValue::Str(val) = v else {
                return Err(bad(label, "expected a dateTime string"));
            };
            let norm =
                normalize_datetime(val).ok_or_else(|| bad(label, "invalid dateTime value"))?;
            let p = b.bind(SqlValue::Text(norm));
            format!("{} {} {p}", s.expr, sql_op(op))
        }
    };
    Ok(coalesce(&cond))
}

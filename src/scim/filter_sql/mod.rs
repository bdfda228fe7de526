//! SCIM filter (RFC 7644 §3.4.2.2) → SQL `WHERE` fragment, for Postgres and SQLite.
//!
//! Filters are parsed by `scim_v2` (depth and term budgets bounded there) and compiled against
//! the static schema catalog: attribute names in the SQL come only from the catalog, every
//! client value is a bind — injection is impossible by construction.
//!
//! Semantics chosen where the RFC leaves room:
//! - every leaf yields a non-NULL boolean, so `not (x eq "a")` matches resources without `x`;
//! - `ne` is `not eq` (also on multi-valued attributes: "no value equals");
//! - `x eq null` is `not (x pr)`, `x ne null` is `x pr`; other operators with null are invalid;
//! - `pr` is "present, not null, not the empty string, and for arrays non-empty";
//! - a comparison on a multi-valued or complex attribute without a sub-attribute compares its
//!   `value` sub-attribute (`emails co "@x"` ≡ `emails.value co "@x"`), any element matching;
//! - dateTimes are normalised to UTC milliseconds (`2024-01-01T00:00:00.000Z`) and compared as
//!   text; sub-millisecond precision in a filter value is truncated;
//! - case-insensitive attributes compare `lower(expr)` to the Rust-lowercased value (on
//!   SQLite the store's connections replace `lower()` with a Unicode one,
//!   `store/sqlite_lower.rs`; the indexed `*_lc` columns hold Rust-lowercased values);
//! - Abnormal extension attributes without the enrichment join match nothing.

mod fast_path;
mod leaf;
mod sort;
mod target;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_data;
#[cfg(test)]
mod tests_exec;
#[cfg(test)]
mod tests_exec_db;

pub use fast_path::simple_eq;
pub use leaf::{like_escape, normalize_datetime};
pub use sort::compile_sort;

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

use crate::scim::ResourceType;
use crate::scim::error::ScimError;
use crate::scim::schema::{self, AttrDef, Resolved};
use crate::store::dialect::{Dialect, SqlFragment};
use leaf::{Binder, coalesce, compare, present};
use target::{JsonLoc, Membership, Scalar, Target, elem_base, meta_column};

/// Filters longer than this are rejected before parsing.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct FilterContext {
    pub dialect: Dialect,
    pub resource_type: ResourceType,
    /// True when the query LEFT JOINs `enrichment_accounts en`.
    pub enrichment_joined: bool,
    /// Number of the first `$N` placeholder to use.
    pub first_placeholder: usize,
}

/// Parses with scim_v2 and compiles to a boolean SQL expression over `r` (and `en` when
/// joined). Parse errors and unknown attributes → 400 invalidFilter.
pub fn compile_filter(filter: &str, ctx: &FilterContext) -> Result<SqlFragment, ScimError> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter("filter too long"));
    }
    if filter.trim().is_empty() {
        return Err(ScimError::invalid_filter("empty filter"));
    }
    let parsed: Filter = match fast_path::simple_eq(filter) {
        Some(f) => f,
        None => filter.parse().map_err(|e: scim_v2::filter::ParseError| {
            ScimError::invalid_filter(format!("cannot parse filter: {}", clip(&e.to_string())))
        })?,
    };
    let mut frag = SqlFragment::default();
    let sql = Compiler {
        ctx,
        b: Binder {
            frag: &mut frag,
            first: ctx.first_placeholder,
            dialect: ctx.dialect,
        },
    }
    .filter(&parsed)?;
    frag.sql = sql;
    Ok(frag)
}

/// Whether [`compile_filter`] accepts `filter` on Users, which [`simple_eq`] read as
/// `<name> eq "<value>"`: of its checks, only the length and U+0000 in the string can fail
/// such a filter (`tests::simple_eq_compiles_as_compile_filter_does`). Lets the userName
/// lookup skip building SQL it does not run and still reject what the general path rejects.
pub fn simple_eq_compiles(filter: &str, value: &str) -> bool {
    filter.len() <= MAX_FILTER_LEN && !value.contains('\0')
}

pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 300;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

pub(crate) fn resolve_path(rt: ResourceType, p: &AttrPath) -> Option<Resolved> {
    schema::resolve(rt, p.uri.as_deref(), &p.name, p.sub_attr.as_deref())
}

/// A leaf test after rewriting `ne` and `null`.
enum Test<'a> {
    Present,
    Cmp(&'a CompareOp, &'a CompValue),
}

/// Rewrites `ne v` → not `eq v`, `eq null` → not `pr`, `ne null` → `pr`. Returns (negate, test).
fn rewrite<'a>(e: &'a AttrExp) -> Result<(&'a AttrPath, bool, Test<'a>), ScimError> {
    Ok(match e {
        AttrExp::Present(p) => (p, false, Test::Present),
        AttrExp::Comparison(p, op, CompValue::Null) => match op {
            CompareOp::Eq => (p, true, Test::Present),
            CompareOp::Ne => (p, false, Test::Present),
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "`{}`: only eq and ne compare with null",
                    clip(&p.to_string())
                )));
            }
        },
        AttrExp::Comparison(p, CompareOp::Ne, v) => (p, true, Test::Cmp(&CompareOp::Eq, v)),
        AttrExp::Comparison(p, op, v) => (p, false, Test::Cmp(op, v)),
    })
}

fn negate_if(negate: bool, sql: String) -> String {
    if negate { format!("(NOT {sql})") } else { sql }
}

/// The element scope of a value filter (`attr[…]`).
enum Elem<'a> {
    Json(JsonLoc, &'a AttrDef),
    Membership(Membership, &'a AttrDef),
}

struct Compiler<'a> {
    ctx: &'a FilterContext,
    b: Binder<'a>,
}

fn unknown(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute `{}`", clip(&p.to_string())))
}

impl Compiler<'_> {
    fn d(&self) -> Dialect {
        self.ctx.dialect
    }

    fn filter(&mut self, f: &Filter) -> Result<String, ScimError> {
        match f {
            Filter::Attr(e) => self.attr_exp(e),
            Filter::ValuePath(vp) => self.value_path(&vp.attr, &vp.filter),
            Filter::Not(inner) => Ok(format!("(NOT {})", self.filter(inner)?)),
            Filter::And(items) => self.join(items.iter(), " AND ", Self::filter),
            Filter::Or(items) => self.join(items.iter(), " OR ", Self::filter),
        }
    }

    fn join<'i, T: 'i>(
        &mut self,
        items: impl Iterator<Item = &'i T>,
        sep: &str,
        mut f: impl FnMut(&mut Self, &T) -> Result<String, ScimError>,
    ) -> Result<String, ScimError> {
        let mut parts = Vec::new();
        for it in items {
            parts.push(f(self, it)?);
        }
        Ok(format!("({})", parts.join(sep)))
    }

    fn scalar_test(&mut self, s: &Scalar, t: &Test<'_>, p: &AttrPath) -> Result<String, ScimError> {
        match t {
            Test::Present => Ok(present(s)),
            Test::Cmp(op, v) => compare(&mut self.b, s, op, v, &clip(&p.to_string())),
        }
    }

    fn attr_exp(&mut self, e: &AttrExp) -> Result<String, ScimError> {
        let (p, negate, t) = rewrite(e)?;
        let r = resolve_path(self.ctx.resource_type, p).ok_or_else(|| unknown(p))?;
        let d = self.d();
        let sql = match target::target(self.ctx.resource_type, &r, d, self.ctx.enrichment_joined)? {
            Target::Nothing => "FALSE".to_string(),
            Target::Meta => match (r.sub, &t) {
                (Some(sub), _) => self.scalar_test(&meta_column(sub.name)?, &t, p)?,
                (None, Test::Present) => "TRUE".to_string(),
                (None, Test::Cmp(..)) => return Err(complex_needs_sub(p)),
            },
            Target::Scalar(s) => self.scalar_test(&s, &t, p)?,
            Target::Complex(loc) => {
                let sub = match (r.sub, &t) {
                    (Some(sub), _) => sub,
                    (None, Test::Present) => {
                        let sql = coalesce(&format!("{} = 'object'", loc.json_type(d)));
                        return Ok(negate_if(negate, sql));
                    }
                    (None, Test::Cmp(..)) => {
                        r.attr.sub("value").ok_or_else(|| complex_needs_sub(p))?
                    }
                };
                self.scalar_test(&loc.child(sub.name).scalar(d, sub), &t, p)?
            }
            Target::Multi(loc) => {
                let sub = match (r.sub, &t) {
                    (Some(sub), _) => sub,
                    (None, Test::Present) => return Ok(negate_if(negate, loc.non_empty_array(d))),
                    (None, Test::Cmp(..)) => {
                        r.attr.sub("value").ok_or_else(|| complex_needs_sub(p))?
                    }
                };
                let es = JsonLoc::new(elem_base(d), &[sub.name]).scalar(d, sub);
                let cond = self.scalar_test(&es, &t, p)?;
                format!("EXISTS (SELECT 1 FROM {} WHERE {cond})", loc.elements(d))
            }
            Target::Membership(m) => {
                if r.sub.is_some_and(|s| s.name != "value") {
                    return Err(not_filterable(p));
                }
                let cond = match t {
                    Test::Present => "TRUE".to_string(),
                    Test::Cmp(..) => self.scalar_test(&m.value(), &t, p)?,
                };
                m.exists(&cond)
            }
        };
        Ok(negate_if(negate, sql))
    }

    fn value_path(&mut self, attr: &AttrPath, vf: &ValFilter) -> Result<String, ScimError> {
        if attr.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "`{}[…]`: a value filter applies to an attribute, not a sub-attribute",
                clip(&attr.to_string())
            )));
        }
        let r = resolve_path(self.ctx.resource_type, attr).ok_or_else(|| unknown(attr))?;
        let d = self.d();
        match target::target(self.ctx.resource_type, &r, d, self.ctx.enrichment_joined)? {
            Target::Nothing => Ok("FALSE".to_string()),
            Target::Multi(loc) => {
                let elem = Elem::Json(JsonLoc::new(elem_base(d), &[]), r.attr);
                let cond = self.val_filter(vf, &elem)?;
                Ok(format!(
                    "EXISTS (SELECT 1 FROM {} WHERE {cond})",
                    loc.elements(d)
                ))
            }
            Target::Complex(loc) => self.val_filter(vf, &Elem::Json(loc, r.attr)),
            Target::Membership(m) => {
                let cond = self.val_filter(vf, &Elem::Membership(m, r.attr))?;
                Ok(m.exists(&cond))
            }
            Target::Scalar(_) | Target::Meta => Err(ScimError::invalid_filter(format!(
                "`{}` is not a complex attribute and takes no value filter",
                clip(&attr.to_string())
            ))),
        }
    }

    fn val_filter(&mut self, f: &ValFilter, elem: &Elem<'_>) -> Result<String, ScimError> {
        match f {
            ValFilter::Attr(e) => self.elem_exp(e, elem),
            ValFilter::Not(inner) => Ok(format!("(NOT {})", self.val_filter(inner, elem)?)),
            ValFilter::And(items) => self.join(items.iter(), " AND ", |c, x| c.val_filter(x, elem)),
            ValFilter::Or(items) => self.join(items.iter(), " OR ", |c, x| c.val_filter(x, elem)),
        }
    }

    fn elem_exp(&mut self, e: &AttrExp, elem: &Elem<'_>) -> Result<String, ScimError> {
        let (p, negate, t) = rewrite(e)?;
        let def = match elem {
            Elem::Json(_, def) | Elem::Membership(_, def) => *def,
        };
        if p.uri.is_some() || p.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "`{}`: inside […] name a sub-attribute of `{}`",
                clip(&p.to_string()),
                def.name
            )));
        }
        let sub = def.sub(&p.name).ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "unknown sub-attribute `{}.{}`",
                def.name,
                clip(&p.name)
            ))
        })?;
        let s = match elem {
            Elem::Json(base, _) => base.child(sub.name).scalar(self.d(), sub),
            Elem::Membership(m, _) if sub.name == "value" => m.value(),
            Elem::Membership(..) => return Err(not_filterable(p)),
        };
        let sql = self.scalar_test(&s, &t, p)?;
        Ok(negate_if(negate, sql))
    }
}

fn complex_needs_sub(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "`{}` is a complex attribute: compare one of its sub-attributes",
        clip(&p.to_string())
    ))
}

fn not_filterable(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "attribute `{}` cannot be filtered",
        clip(&p.to_string())
    ))
}

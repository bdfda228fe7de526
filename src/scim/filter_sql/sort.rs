//! `sortBy` → `ORDER BY` expression (RFC 7644 §3.4.2.3).

use scim_v2::filter::PatchPath;

use super::target::{self, JsonLoc, Target, meta_column};
use super::{FilterContext, clip, resolve_path};
use crate::scim::error::ScimError;
use crate::store::dialect::Dialect;

/// The sort key of an attribute that matches nothing (Abnormal ones without the join).
const NULL_SORT: &str = "CAST(NULL AS TEXT)";

/// The ORDER BY expression (without direction) for `sortBy`, resolved like filter attributes.
/// Case-insensitive strings sort lowercased. A multi-valued attribute sorts by its first
/// element's `value` (or the named sub-attribute); Abnormal attributes without the enrichment
/// join sort as NULL. Unknown or unsortable attributes → 400 invalidValue.
pub fn compile_sort(sort_by: &str, ctx: &FilterContext) -> Result<String, ScimError> {
    let bad = |what: &str| ScimError::invalid_value(format!("sortBy `{}`: {what}", clip(sort_by)));
    if sort_by.len() > 1024 {
        return Err(bad("too long"));
    }
    let path = match sort_by.parse::<PatchPath>() {
        Ok(PatchPath::Attr(p)) => p,
        _ => return Err(bad("not an attribute path")),
    };
    let r = resolve_path(ctx.resource_type, &path).ok_or_else(|| bad("unknown attribute"))?;
    let d = ctx.dialect;
    let scalar = match target::target(ctx.resource_type, &r, d, ctx.enrichment_joined)
        .map_err(|_| bad("cannot sort by this attribute"))?
    {
        // Not a bare `NULL`: Postgres refuses a constant in ORDER BY ("non-integer constant in
        // ORDER BY", a fuzz finding); the cast makes it an expression on both databases.
        Target::Nothing => return Ok(NULL_SORT.to_string()),
        Target::Scalar(s) => s,
        Target::Meta => match r.sub {
            Some(sub) => meta_column(sub.name).map_err(|_| bad("cannot sort by this attribute"))?,
            None => return Err(bad("complex attribute")),
        },
        Target::Complex(loc) => {
            let sub = r
                .sub
                .or_else(|| r.attr.sub("value"))
                .ok_or_else(|| bad("complex attribute"))?;
            loc.child(sub.name).scalar(d, sub)
        }
        Target::Multi(loc) => {
            let sub = r
                .sub
                .or_else(|| r.attr.sub("value"))
                .ok_or_else(|| bad("complex attribute"))?;
            first_element(&loc, sub.name, d).scalar(d, sub)
        }
        Target::Membership(_) => return Err(bad("cannot sort by group membership")),
    };
    Ok(if scalar.case_exact || scalar.lowered {
        scalar.expr
    } else {
        format!("lower({})", scalar.expr)
    })
}

/// The location of `sub` in the first element of the array at `loc`.
fn first_element(loc: &JsonLoc, sub: &'static str, d: Dialect) -> JsonLoc {
    // Postgres `#>` paths index arrays with a numeric text key; SQLite needs `[0]`, which the
    // path builder can't express, so the element is extracted first.
    match d {
        Dialect::Postgres => loc.child("0").child(sub),
        Dialect::Sqlite => JsonLoc::new(&format!("json_extract({}, '$[0]')", loc.json(d)), &[sub]),
    }
}

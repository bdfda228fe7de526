//! SCIM PATCH (RFC 7644 §3.5.2) over the stored canonical resource, with the forms Okta and
//! Entra ID actually send (capitalised ops, string booleans, path-less values with dotted or
//! URN-prefixed keys, member removal by value array, manager as a plain id).
//!
//! Decisions where the RFC or the IdPs leave room:
//! - `replace`/`add` on a single-valued complex attribute merge the given sub-attributes
//!   (RFC 7644 §3.5.2.3); on a multi-valued attribute `replace` replaces all values, `add`
//!   appends (de-duplicated; `members` by `value`);
//! - `add`/`replace` with a value-filter path (`emails[type eq "work"].value`) update every
//!   matching element; when none matches and the filter is a conjunction of `eq` tests, a new
//!   element is created from those tests (what Entra expects); otherwise 400 noTarget;
//! - `remove` with a value filter matching nothing is 400 noTarget (RFC 7644 Table 9) except for
//!   `members[…]`, where it is a no-op so that retried membership removals stay idempotent;
//! - a path-less value carrying readOnly attributes (`id`, `groups`, Abnormal attributes) is
//!   accepted when equal to the current value and rejected with `mutability` otherwise; `meta`
//!   and `schemas` in a path-less value are ignored (server-managed);
//! - `password` (writeOnly) is accepted and discarded, like on POST/PUT;
//! - after all operations the result goes through [`canonicalize`]; removing a required
//!   attribute (`userName`, `displayName`) is 400 invalidValue.

mod apply;
mod matcher;
mod multi;
mod named_members;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fixtures;

use serde_json::{Map, Value};

pub use named_members::named_members;

use crate::scim::canonical::canonicalize;
use crate::scim::error::ScimError;
use crate::scim::{PATCH_OP_SCHEMA, ResourceType};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Validates a PatchOp message and returns its operations. Bad shapes, a missing PatchOp
/// schema or an unknown `op` → 400 invalidSyntax. Keys (`Operations`, `op`, …) match in any
/// case; `op` values too.
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let syntax = |s: &str| ScimError::invalid_syntax(s.to_string());
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("the PATCH body must be a JSON object"))?;
    let schemas = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            syntax("`schemas` must list urn:ietf:params:scim:api:messages:2.0:PatchOp")
        })?;
    if !schemas.iter().any(|s| {
        s.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
    }) {
        return Err(syntax(
            "`schemas` must list urn:ietf:params:scim:api:messages:2.0:PatchOp",
        ));
    }
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("`Operations` must be an array"))?;
    if ops.is_empty() {
        return Err(syntax("`Operations` must not be empty"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(syntax(&format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let o = op
                .as_object()
                .ok_or_else(|| syntax(&format!("operation {i} must be an object")))?;
            let kind = match get_ci(o, "op").and_then(Value::as_str) {
                Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
                Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
                Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
                _ => {
                    return Err(syntax(&format!(
                        "operation {i}: `op` must be add, replace or remove"
                    )));
                }
            };
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(syntax(&format!("operation {i}: `path` must be a string"))),
            };
            Ok(PatchOp {
                op: kind,
                path,
                value: get_ci(o, "value").cloned(),
            })
        })
        .collect()
}

/// Applies all ops in order to the stored canonical resource (as [`canonicalize`] returns it,
/// plus `id`). All-or-nothing: on error `resource` is left unchanged.
pub fn apply_patch(
    rt: ResourceType,
    resource: &mut Map<String, Value>,
    ops: &[PatchOp],
) -> Result<(), ScimError> {
    let mut work = resource.clone();
    let id = work.remove("id");
    work.remove("meta");
    let mut ctx = apply::Ctx {
        rt,
        id: id.as_ref(),
    };
    for op in ops {
        ctx.apply(&mut work, op)?;
    }
    let mut out = canonicalize(rt, &Value::Object(work))?;
    if let Some(id) = id {
        out.insert("id".into(), id);
    }
    *resource = out;
    Ok(())
}

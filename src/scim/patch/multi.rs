//! Operations on multi-valued attributes: value-filter paths and removal by value.

use scim_v2::filter::ValFilter;
use serde_json::{Map, Value};

use super::OpKind;
use super::apply::{Ctx, array_of, clear_other_primaries};
use super::matcher::{eq_terms, matches};
use crate::scim::canonical::{
    finish_multi, normalize_attr, normalize_one, normalize_scalar, set_path,
};
use crate::scim::error::ScimError;
use crate::scim::schema::{AttrDef, Mutability, Resolved};

impl Ctx<'_> {
    /// Entra's `{"op":"Remove","path":"members","value":[{"value":"id"}]}`: remove those values.
    pub(super) fn remove_values(
        &mut self,
        work: &mut Map<String, Value>,
        r: &Resolved,
        v: &Value,
    ) -> Result<(), ScimError> {
        let given = match normalize_attr(r.attr, v, r.attr.name)? {
            Some(Value::Array(a)) => a,
            _ => return Ok(()),
        };
        let mut arr = array_of(work, r);
        arr.retain(|e| {
            !given.iter().any(|g| match g.get("value") {
                Some(gv) => e.get("value") == Some(gv),
                None => e == g,
            })
        });
        let out = finish_multi(r.attr, arr, r.attr.name)?;
        set_path(work, &r.json_path, out);
        Ok(())
    }

    pub(super) fn filtered_op(
        &mut self,
        work: &mut Map<String, Value>,
        kind: OpKind,
        r: &Resolved,
        filter: &ValFilter,
        sub: Option<&'static AttrDef>,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let attr = r.attr;
        let lbl = match sub {
            Some(s) => format!("{}.{}", attr.name, s.name),
            None => attr.name.to_string(),
        };
        let mut arr = array_of(work, r);
        let mut idx = Vec::new();
        for (i, e) in arr.iter().enumerate() {
            if matches(e, filter, attr)? {
                idx.push(i);
            }
        }
        if kind == OpKind::Remove {
            if idx.is_empty() {
                return if attr.name == "members" {
                    Ok(())
                } else {
                    Err(ScimError::no_target(format!(
                        "no `{}` value matches the filter",
                        attr.name
                    )))
                };
            }
            match sub {
                None => {
                    let mut i = 0;
                    arr.retain(|_| {
                        i += 1;
                        !idx.contains(&(i - 1))
                    });
                }
                Some(s) if s.mutability == Mutability::Immutable || s.required => {
                    return Err(ScimError::mutability(format!(
                        "attribute `{lbl}` cannot be removed"
                    )));
                }
                Some(s) => {
                    for &i in &idx {
                        if let Some(o) = arr.get_mut(i).and_then(Value::as_object_mut) {
                            o.remove(s.name);
                        }
                    }
                }
            }
        } else {
            let v = value.ok_or_else(|| {
                ScimError::invalid_syntax(format!("`{lbl}`: add and replace need a `value`"))
            })?;
            let patch: Map<String, Value> = match sub {
                Some(s) => match normalize_scalar(s, v, &lbl)? {
                    Some(nv) => Map::from_iter([(s.name.to_string(), nv)]),
                    None => Map::new(),
                },
                None => match normalize_one(attr, v, &lbl)? {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                },
            };
            if idx.is_empty() {
                let mut elem = eq_terms(filter, attr).ok_or_else(|| {
                    ScimError::no_target(format!("no `{}` value matches the filter", attr.name))
                })?;
                elem.extend(patch);
                if let Some(e) = normalize_one(attr, &Value::Object(elem), &lbl)? {
                    arr.push(e);
                    idx.push(arr.len() - 1);
                }
            } else {
                for &i in &idx {
                    let Some(o) = arr.get_mut(i).and_then(Value::as_object_mut) else {
                        continue;
                    };
                    for (k, nv) in &patch {
                        let immutable = attr
                            .sub(k)
                            .is_some_and(|s| s.mutability == Mutability::Immutable);
                        if immutable && o.get(k).is_some_and(|cur| cur != nv) {
                            return Err(ScimError::mutability(format!(
                                "attribute `{}.{k}` is immutable",
                                attr.name
                            )));
                        }
                        o.insert(k.clone(), nv.clone());
                    }
                    if patch.is_empty()
                        && let Some(s) = sub
                    {
                        o.remove(s.name);
                    }
                }
            }
            clear_other_primaries(&mut arr, &idx);
        }
        let out = finish_multi(attr, arr, &lbl)?;
        set_path(work, &r.json_path, out);
        Ok(())
    }
}

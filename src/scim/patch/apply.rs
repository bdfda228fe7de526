//! Applying one PATCH operation to the working copy of a resource.

use scim_v2::filter::{AttrPath, PatchPath};
use serde_json::{Map, Value};

use super::matcher::validate;
use super::{OpKind, PatchOp};
use crate::scim::ResourceType;
use crate::scim::canonical::{
    finish_multi, get_path, normalize_attr, normalize_one, normalize_scalar, set_path,
};
use crate::scim::error::ScimError;
use crate::scim::filter_sql::clip;
use crate::scim::schema::{self, Mutability, Resolved, SchemaDef};

pub struct Ctx<'a> {
    pub rt: ResourceType,
    pub id: Option<&'a Value>,
}

pub(super) fn parse_path(p: &str) -> Result<PatchPath, ScimError> {
    if p.len() > 2048 {
        return Err(ScimError::invalid_path("path too long"));
    }
    p.parse::<PatchPath>().map_err(|e| {
        ScimError::invalid_path(format!(
            "invalid path `{}`: {}",
            clip(p),
            clip(&e.to_string())
        ))
    })
}

fn label(r: &Resolved) -> String {
    match r.sub {
        Some(s) => format!("{}.{}", r.attr.name, s.name),
        None => r.attr.name.to_string(),
    }
}

/// Absent, null and empty arrays/objects are all "no value".
fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

pub(super) fn array_of(work: &Map<String, Value>, r: &Resolved) -> Vec<Value> {
    get_path(
        work,
        &r.json_path[..r.json_path.len() - usize::from(r.sub.is_some())],
    )
    .and_then(Value::as_array)
    .cloned()
    .unwrap_or_default()
}

pub(super) fn clear_other_primaries(arr: &mut [Value], keep: &[usize]) {
    if !keep.iter().any(|&i| {
        arr.get(i)
            .is_some_and(|e| e.get("primary") == Some(&Value::Bool(true)))
    }) {
        return;
    }
    for (i, e) in arr.iter_mut().enumerate() {
        if !keep.contains(&i)
            && let Some(o) = e.as_object_mut()
        {
            o.remove("primary");
        }
    }
}

impl Ctx<'_> {
    pub fn apply(&mut self, work: &mut Map<String, Value>, op: &PatchOp) -> Result<(), ScimError> {
        match (&op.path, op.op) {
            (None, OpKind::Remove) => Err(ScimError::no_target("remove requires a path")),
            (None, kind) => {
                let obj = op
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        ScimError::invalid_syntax(
                            "add/replace without a path needs an object `value`",
                        )
                    })?;
                for (k, v) in obj {
                    self.pathless(work, kind, k, v)?;
                }
                Ok(())
            }
            (Some(p), kind) => self.at_path(work, kind, &parse_path(p)?, op.value.as_ref(), false),
        }
    }

    fn pathless(
        &mut self,
        work: &mut Map<String, Value>,
        kind: OpKind,
        k: &str,
        v: &Value,
    ) -> Result<(), ScimError> {
        if k.eq_ignore_ascii_case("schemas") || k.eq_ignore_ascii_case("meta") {
            return Ok(());
        }
        if k.eq_ignore_ascii_case("id") {
            return if v.is_null() || Some(v) == self.id {
                Ok(())
            } else {
                Err(ScimError::mutability(
                    "attribute `id` is readOnly and differs from the resource's id",
                ))
            };
        }
        let path = parse_path(k)
            .map_err(|_| ScimError::invalid_path(format!("unknown attribute `{}`", clip(k))))?;
        self.at_path(work, kind, &path, Some(v), true)
    }

    fn at_path(
        &mut self,
        work: &mut Map<String, Value>,
        kind: OpKind,
        path: &PatchPath,
        value: Option<&Value>,
        pathless: bool,
    ) -> Result<(), ScimError> {
        match path {
            PatchPath::Attr(ap) => {
                if let (Some(uri), None) = (&ap.uri, &ap.sub_attr)
                    && let Some(sd) = schema::schema_for(self.rt, &format!("{uri}:{}", ap.name))
                {
                    return self.extension(work, kind, sd, value, pathless);
                }
                let r = resolve(self.rt, ap)?;
                if self.skip_for_mutability(work, kind, &r, value, pathless)? {
                    return Ok(());
                }
                self.attr_op(work, kind, &r, value)
            }
            PatchPath::Value(vp) => {
                if vp.attr.sub_attr.is_some() {
                    return Err(ScimError::invalid_path(
                        "a value filter applies to an attribute",
                    ));
                }
                let r = resolve(self.rt, &vp.attr)?;
                if !(r.attr.multi_valued && r.attr.is_complex()) {
                    return Err(ScimError::invalid_path(format!(
                        "`{}` is not a multi-valued complex attribute",
                        r.attr.name
                    )));
                }
                let sub = match &vp.sub_attr {
                    Some(s) => Some(r.attr.sub(s).ok_or_else(|| {
                        ScimError::invalid_path(format!(
                            "unknown sub-attribute `{}.{}`",
                            r.attr.name,
                            clip(s)
                        ))
                    })?),
                    None => None,
                };
                if r.attr.mutability == Mutability::ReadOnly
                    || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
                {
                    return Err(ScimError::mutability(format!(
                        "attribute `{}` is readOnly",
                        r.attr.name
                    )));
                }
                validate(&vp.filter, r.attr)?;
                self.filtered_op(work, kind, &r, &vp.filter, sub, value)
            }
        }
    }

    /// An operation on a whole extension (`path` = the extension URN).
    fn extension(
        &mut self,
        work: &mut Map<String, Value>,
        kind: OpKind,
        sd: &'static SchemaDef,
        value: Option<&Value>,
        pathless: bool,
    ) -> Result<(), ScimError> {
        if std::ptr::eq(sd, schema::core_schema(self.rt)) {
            return Err(ScimError::invalid_path(
                "the core schema URN is not an attribute",
            ));
        }
        if kind == OpKind::Remove {
            if sd
                .attributes
                .iter()
                .all(|a| a.mutability == Mutability::ReadOnly)
            {
                return Err(ScimError::mutability(format!("`{}` is readOnly", sd.id)));
            }
            work.remove(sd.id);
            return Ok(());
        }
        let obj = match value {
            Some(Value::Object(o)) => o,
            Some(Value::Null) if kind == OpKind::Replace => {
                work.remove(sd.id);
                return Ok(());
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "`{}` must be a JSON object",
                    sd.id
                )));
            }
        };
        // scim2-models and others serialise an extension object with its own `schemas`.
        for (k, v) in obj
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
        {
            let (name, sub) = match k.split_once('.') {
                Some((n, s)) => (n, Some(s.to_string())),
                None => (k.as_str(), None),
            };
            let ap = AttrPath {
                uri: Some(sd.id.to_string()),
                name: name.to_string(),
                sub_attr: sub,
            };
            self.at_path(work, kind, &PatchPath::Attr(ap), Some(v), pathless)?;
        }
        Ok(())
    }

    /// Mutability rules. Ok(true): skip the operation silently.
    fn skip_for_mutability(
        &self,
        work: &Map<String, Value>,
        kind: OpKind,
        r: &Resolved,
        value: Option<&Value>,
        pathless: bool,
    ) -> Result<bool, ScimError> {
        let m = match (r.attr.mutability, r.sub) {
            (Mutability::ReadWrite, Some(s)) => s.mutability,
            (m, _) => m,
        };
        let current = get_path(work, &r.json_path);
        match m {
            Mutability::ReadOnly => {
                if pathless
                    && kind != OpKind::Remove
                    && (current == value || is_empty(current) && is_empty(value))
                {
                    return Ok(true);
                }
                Err(ScimError::mutability(format!(
                    "attribute `{}` is readOnly",
                    label(r)
                )))
            }
            Mutability::WriteOnly => Ok(true),
            Mutability::Immutable
                if !is_empty(current) && (kind == OpKind::Remove || current != value) =>
            {
                Err(ScimError::mutability(format!(
                    "attribute `{}` is immutable",
                    label(r)
                )))
            }
            _ => Ok(false),
        }
    }

    fn attr_op(
        &mut self,
        work: &mut Map<String, Value>,
        kind: OpKind,
        r: &Resolved,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let lbl = label(r);
        if kind != OpKind::Remove && value.is_none() {
            return Err(ScimError::invalid_syntax(format!(
                "`{lbl}`: add and replace need a `value`"
            )));
        }
        let v = value.unwrap_or(&Value::Null);
        let attr = r.attr;
        if let Some(sub) = r.sub {
            if !attr.multi_valued {
                let nv = if kind == OpKind::Remove {
                    None
                } else {
                    normalize_scalar(sub, v, &lbl)?
                };
                set_path(work, &r.json_path, nv);
                return Ok(());
            }
            // A sub-attribute of every element of a multi-valued attribute.
            let mut arr = array_of(work, r);
            let nv = if kind == OpKind::Remove {
                None
            } else {
                normalize_scalar(sub, v, &lbl)?
            };
            if arr.is_empty()
                && let Some(nv) = &nv
            {
                arr.push(Value::Object(Map::from_iter([(
                    sub.name.to_string(),
                    nv.clone(),
                )])));
            }
            for e in arr.iter_mut().filter_map(Value::as_object_mut) {
                match &nv {
                    Some(nv) => e.insert(sub.name.to_string(), nv.clone()),
                    None => e.remove(sub.name),
                };
            }
            let out = finish_multi(attr, arr, attr.name)?;
            set_path(work, &r.json_path[..r.json_path.len() - 1], out);
            return Ok(());
        }
        match kind {
            OpKind::Remove if attr.multi_valued && !is_empty(Some(v)) => {
                self.remove_values(work, r, v)
            }
            OpKind::Remove => {
                set_path(work, &r.json_path, None);
                Ok(())
            }
            OpKind::Add if v.is_null() => Ok(()),
            _ if attr.multi_valued => {
                let new = normalize_attr(attr, v, &lbl)?;
                let new: Vec<Value> = new.and_then(|v| v.as_array().cloned()).unwrap_or_default();
                let out = if kind == OpKind::Replace {
                    finish_multi(attr, new, &lbl)?
                } else {
                    let mut arr = array_of(work, r);
                    let start = arr.len();
                    for e in new {
                        if !arr.contains(&e) {
                            arr.push(e);
                        }
                    }
                    let added: Vec<usize> = (start..arr.len()).collect();
                    clear_other_primaries(&mut arr, &added);
                    finish_multi(attr, arr, &lbl)?
                };
                set_path(work, &r.json_path, out);
                Ok(())
            }
            _ if attr.is_complex() => {
                match normalize_one(attr, v, &lbl)? {
                    None => set_path(work, &r.json_path, None),
                    Some(Value::Object(o)) => {
                        let mut cur = get_path(work, &r.json_path)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        cur.extend(o);
                        set_path(work, &r.json_path, Some(Value::Object(cur)));
                    }
                    Some(other) => set_path(work, &r.json_path, Some(other)),
                }
                Ok(())
            }
            _ => {
                let nv = normalize_scalar(attr, v, &lbl)?;
                set_path(work, &r.json_path, nv);
                Ok(())
            }
        }
    }
}

fn resolve(rt: ResourceType, ap: &AttrPath) -> Result<Resolved, ScimError> {
    crate::scim::filter_sql::resolve_path(rt, ap).ok_or_else(|| {
        ScimError::invalid_path(format!("unknown attribute `{}`", clip(&ap.to_string())))
    })
}

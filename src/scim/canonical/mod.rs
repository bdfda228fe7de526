//! Canonicalisation of client-sent User/Group bodies (POST, PUT, and the result of PATCH)
//! into the stored form. See [`canonicalize`].

#[cfg(test)]
mod tests;
mod value;

pub use value::{
    finish_multi, normalize_attr, normalize_one, normalize_scalar, parse_bool, valid_datetime,
};

use serde_json::{Map, Value};

use crate::scim::ResourceType;
use crate::scim::error::ScimError;
use crate::scim::schema::{self, Mutability, SchemaDef};

/// Turns a client-sent User/Group body (POST or PUT) into the stored canonical form:
/// - attribute and sub-attribute names in canonical case;
/// - extension attributes under their URN key (accepts nested `{"urn:…:User": {...}}` and flat
///   URN-prefixed keys `"urn:…:User:department"` / `"urn:…:User:manager.value"`); unqualified
///   extension attribute names are accepted when unambiguous (`costCenter`), as are dotted keys
///   (`name.givenName`);
/// - `schemas` = the core schema plus the extensions actually present (client `schemas` is
///   checked: an array of URNs known for this resource type);
/// - readOnly attributes (id, meta, groups, the Abnormal extension, readOnly sub-attributes
///   such as `manager.displayName`) and `password` dropped;
/// - values type-checked (booleans also as "True"/"False"), single values for multi-valued
///   attributes wrapped, nulls and empty arrays/objects dropped;
/// - unknown attributes or URNs → 400 invalidValue naming the attribute;
/// - `userName` (User) / `displayName` (Group) missing or blank → 400 invalidValue.
///
/// The result has no `id` and no `meta`.
pub fn canonicalize(rt: ResourceType, body: &Value) -> Result<Map<String, Value>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the resource must be a JSON object"))?;
    let mut out = Map::new();
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") {
            check_schemas(rt, v)?;
            continue;
        }
        let (sd, rest) = schema::split_urn(rt, k).map_err(|()| unknown(k))?;
        match (sd, rest) {
            (Some(sd), "") => {
                if v.is_null() {
                    continue;
                }
                let inner = v.as_object().ok_or_else(|| {
                    ScimError::invalid_value(format!("`{}` must be a JSON object", sd.id))
                })?;
                // An extension object may carry its own `schemas` (scim2-models does).
                for (ik, iv) in inner
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                {
                    put(rt, &mut out, Some(sd), ik, iv)?;
                }
            }
            (sd, rest) => put(rt, &mut out, sd, rest, v)?,
        }
    }
    check_required(rt, &out)?;
    check_indexed_lengths(&out)?;
    set_schemas(rt, &mut out);
    Ok(out)
}

fn unknown(k: &str) -> ScimError {
    let shown: String = k.chars().take(200).collect();
    ScimError::invalid_value(format!("unknown attribute or schema `{shown}`"))
}

fn check_schemas(rt: ResourceType, v: &Value) -> Result<(), ScimError> {
    let arr = match v {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => {
            return Err(ScimError::invalid_value(
                "`schemas` must be an array of URNs",
            ));
        }
    };
    for s in arr {
        let s = s
            .as_str()
            .ok_or_else(|| ScimError::invalid_value("`schemas` must be an array of URNs"))?;
        if schema::schema_for(rt, s).is_none() {
            return Err(ScimError::invalid_value(format!(
                "`schemas`: unknown schema `{}` for a {}",
                s.chars().take(200).collect::<String>(),
                rt.as_str()
            )));
        }
    }
    Ok(())
}

/// Sets one attribute given by a (possibly dotted) key within schema `sd` (None: unqualified).
fn put(
    rt: ResourceType,
    out: &mut Map<String, Value>,
    sd: Option<&'static SchemaDef>,
    key: &str,
    v: &Value,
) -> Result<(), ScimError> {
    let (name, sub) = match key.split_once('.') {
        Some((n, s)) if !s.contains('.') => (n, Some(s)),
        Some(_) => return Err(unknown(key)),
        None => (key, None),
    };
    let r = schema::resolve(rt, sd.map(|s| s.id), name, sub).ok_or_else(|| unknown(key))?;
    if matches!(
        r.attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    ) {
        return Ok(());
    }
    let label = r.json_path.last().copied().unwrap_or_default();
    let label = match r.sub {
        Some(s) => format!("{}.{}", r.attr.name, s.name),
        None => label.to_string(),
    };
    match r.sub {
        None => {
            let nv = normalize_attr(r.attr, v, &label)?;
            set_path(out, &r.json_path, nv);
        }
        Some(sub) => {
            if r.attr.multi_valued {
                return Err(ScimError::invalid_value(format!(
                    "attribute `{label}`: cannot set a sub-attribute of a multi-valued attribute this way"
                )));
            }
            if sub.mutability == Mutability::ReadOnly {
                return Ok(());
            }
            let nv = normalize_scalar(sub, v, &label)?;
            set_path(out, &r.json_path, nv);
            // Re-check the parent as a whole (e.g. manager.value "" means no manager).
            let parent_path = &r.json_path[..r.json_path.len() - 1];
            if let Some(parent) = get_path(out, parent_path).cloned() {
                let np = normalize_one(r.attr, &parent, r.attr.name)?;
                set_path(out, parent_path, np);
            }
        }
    }
    Ok(())
}

/// The value at a storage path.
pub fn get_path<'a>(m: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = m.get(*first)?;
    if rest.is_empty() {
        return Some(v);
    }
    get_path(v.as_object()?, rest)
}

/// Sets (Some) or removes (None) the value at a storage path, creating intermediate objects
/// and removing intermediate objects left empty.
pub fn set_path(m: &mut Map<String, Value>, path: &[&str], v: Option<Value>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match v {
            Some(v) => {
                m.insert((*first).to_string(), v);
            }
            None => {
                m.remove(*first);
            }
        }
        return;
    }
    if v.is_none() && !m.get(*first).is_some_and(Value::is_object) {
        return;
    }
    let child = m
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(cm) = child {
        set_path(cm, rest, v);
        if cm.is_empty() {
            m.remove(*first);
        }
    }
}

fn check_required(rt: ResourceType, out: &Map<String, Value>) -> Result<(), ScimError> {
    for a in schema::core_schema(rt)
        .attributes
        .iter()
        .filter(|a| a.required)
    {
        let ok = match out.get(a.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
            None => false,
        };
        if !ok {
            return Err(ScimError::invalid_value(format!(
                "attribute `{}` is required",
                a.name
            )));
        }
    }
    Ok(())
}

/// Longest value, in bytes, of an attribute the store indexes (lowercased: up to 1.5× longer).
/// A Postgres B-tree entry must stay under ~2.7 KB, or the INSERT fails with a 500.
pub const MAX_INDEXED_BYTES: usize = 1024;

/// `userName`, `displayName`, `externalId` and `emails[].value` feed indexed columns.
fn check_indexed_lengths(out: &Map<String, Value>) -> Result<(), ScimError> {
    let emails = out
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let values = ["userName", "displayName", "externalId"]
        .into_iter()
        .map(|k| (k, out.get(k)))
        .chain(emails.map(|e| ("emails.value", e.get("value"))));
    for (name, v) in values {
        if v.and_then(Value::as_str)
            .is_some_and(|s| s.len() > MAX_INDEXED_BYTES)
        {
            return Err(ScimError::invalid_value(format!(
                "attribute `{name}` is longer than {MAX_INDEXED_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// Sets `schemas` to the core schema plus the extensions present in `out`.
pub fn set_schemas(rt: ResourceType, out: &mut Map<String, Value>) {
    let mut schemas = vec![Value::from(rt.schema())];
    for ext in schema::extensions(rt) {
        if out
            .get(ext.id)
            .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        {
            schemas.push(Value::from(ext.id));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
}

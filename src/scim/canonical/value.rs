//! Type checking and normalisation of one attribute's value against its definition.

use serde_json::{Map, Value};

use crate::scim::error::ScimError;
use crate::scim::schema::{AttrDef, AttrType, Mutability};

/// Longest attribute label echoed back in an error detail.
const MAX_LABEL: usize = 200;

fn label_of(label: &str) -> &str {
    match label.char_indices().nth(MAX_LABEL) {
        Some((i, _)) => &label[..i],
        None => label,
    }
}

fn bad(label: &str, what: &str) -> ScimError {
    ScimError::invalid_value(format!("attribute `{}`: {what}", label_of(label)))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a SCIM boolean: a JSON boolean or the strings `true`/`false` in any case (Entra).
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Validates an xsd:dateTime as RFC 3339 (or without offset); returns it unchanged.
pub fn valid_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// Normalises a simple (non-complex) value. `Ok(None)` for null.
pub fn normalize_scalar(def: &AttrDef, v: &Value, label: &str) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    let wrong = || {
        bad(
            label,
            &format!("expected {}, got {}", expected(def.ty), json_kind(v)),
        )
    };
    let out = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            // Postgres (text and jsonb) cannot store U+0000: it was a 500 there.
            Value::String(s) if s.contains('\0') => {
                return Err(bad(label, "a string must not contain U+0000"));
            }
            Value::String(_) => v.clone(),
            _ => return Err(wrong()),
        },
        AttrType::Boolean => Value::Bool(parse_bool(v).ok_or_else(wrong)?),
        AttrType::Integer => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            _ => return Err(wrong()),
        },
        AttrType::Decimal => match v {
            Value::Number(_) => v.clone(),
            _ => return Err(wrong()),
        },
        AttrType::DateTime => match v {
            Value::String(s) if valid_datetime(s) => v.clone(),
            _ => return Err(wrong()),
        },
        AttrType::Complex => return Err(wrong()),
    };
    Ok(Some(out))
}

fn expected(t: AttrType) -> &'static str {
    match t {
        AttrType::String | AttrType::Reference | AttrType::Binary => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::DateTime => "a dateTime string",
        AttrType::Complex => "an object",
    }
}

/// Normalises one value of an attribute (an element, for multi-valued ones): complex values
/// get canonical sub-attribute names, readOnly sub-attributes dropped, nulls dropped; a bare
/// scalar given for a complex attribute with a `value` sub-attribute means `{"value": …}`;
/// a complex value whose `value` is `""` means "none" (Entra's manager removal).
/// `Ok(None)` when the value is absent after normalisation.
pub fn normalize_one(def: &AttrDef, v: &Value, label: &str) -> Result<Option<Value>, ScimError> {
    if !def.is_complex() {
        return normalize_scalar(def, v, label);
    }
    let obj = match v {
        Value::Null => return Ok(None),
        Value::Object(o) => o.clone(),
        Value::String(_) | Value::Number(_) | Value::Bool(_) if def.sub("value").is_some() => {
            let mut m = Map::new();
            m.insert("value".into(), v.clone());
            m
        }
        _ => {
            return Err(bad(
                label,
                &format!("expected an object, got {}", json_kind(v)),
            ));
        }
    };
    let mut out = Map::new();
    for (k, sv) in &obj {
        let sub = def
            .sub(k)
            .ok_or_else(|| bad(&format!("{label}.{k}"), "unknown sub-attribute"))?;
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        let sub_label = format!("{label}.{}", sub.name);
        if let Some(nv) = normalize_scalar(sub, sv, &sub_label)? {
            out.insert(sub.name.to_string(), nv);
        }
    }
    if def.sub("value").is_some() && out.get("value").is_some_and(|v| v == "") {
        return Ok(None);
    }
    // A non-empty element must carry its required sub-attributes even when all it had
    // besides was readOnly (e.g. a member with only `display`).
    if !obj.is_empty() {
        for sub in def.sub_attributes.iter().filter(|s| s.required) {
            if !out.contains_key(sub.name) {
                return Err(bad(&format!("{label}.{}", sub.name), "is required"));
            }
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Object(out)))
}

/// Normalises a whole attribute value. Multi-valued attributes become arrays (a single value
/// is wrapped), absent elements are dropped, an empty array means absent, `primary: true` may
/// appear at most once, and Group `members` are de-duplicated by `value`.
pub fn normalize_attr(def: &AttrDef, v: &Value, label: &str) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        if v.is_array() {
            return Err(bad(label, "expected a single value, got an array"));
        }
        return normalize_one(def, v, label);
    }
    let items: Vec<&Value> = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if item.is_array() {
            return Err(bad(label, "nested arrays are not allowed"));
        }
        if let Some(nv) = normalize_one(def, item, label)? {
            out.push(nv);
        }
    }
    finish_multi(def, out, label)
}

/// Checks and tidies a multi-valued attribute's normalised elements.
pub fn finish_multi(
    def: &AttrDef,
    mut out: Vec<Value>,
    label: &str,
) -> Result<Option<Value>, ScimError> {
    if def.name == "members" {
        let mut seen = std::collections::HashSet::new();
        out.retain(|e| seen.insert(e.get("value").cloned().unwrap_or(Value::Null).to_string()));
    }
    let primaries = out
        .iter()
        .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(bad(label, "at most one value may have primary: true"));
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Array(out)))
}

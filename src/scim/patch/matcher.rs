//! In-memory evaluation of a value filter (`emails[type eq "work"]`) against one element of a
//! multi-valued complex attribute.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, ValFilter};
use serde_json::{Map, Value};

use crate::scim::canonical::parse_bool;
use crate::scim::error::ScimError;
use crate::scim::filter_sql::normalize_datetime;
use crate::scim::schema::{AttrDef, AttrType};

fn sub_of(def: &AttrDef, p: &AttrPath) -> Result<&'static AttrDef, ScimError> {
    if p.uri.is_some() || p.sub_attr.is_some() {
        return Err(ScimError::invalid_path(format!(
            "inside […] name a sub-attribute of `{}`",
            def.name
        )));
    }
    def.sub(&p.name).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "unknown sub-attribute `{}.{}`",
            def.name,
            p.name.chars().take(100).collect::<String>()
        ))
    })
}

/// Checks every attribute name in the filter (so a bad filter fails even on an empty array).
pub fn validate(f: &ValFilter, def: &AttrDef) -> Result<(), ScimError> {
    matches(&Value::Object(Map::new()), f, def).map(|_| ())
}

/// Whether `elem` satisfies `f`. Unknown sub-attributes → invalidPath; operators that don't
/// apply to the sub-attribute's type → invalidFilter.
pub fn matches(elem: &Value, f: &ValFilter, def: &AttrDef) -> Result<bool, ScimError> {
    match f {
        ValFilter::Attr(e) => exp(elem, e, def),
        ValFilter::Not(inner) => Ok(!matches(elem, inner, def)?),
        ValFilter::And(items) => {
            let mut all = true;
            for it in items.iter() {
                all &= matches(elem, it, def)?;
            }
            Ok(all)
        }
        ValFilter::Or(items) => {
            let mut any = false;
            for it in items.iter() {
                any |= matches(elem, it, def)?;
            }
            Ok(any)
        }
    }
}

fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn exp(elem: &Value, e: &AttrExp, def: &AttrDef) -> Result<bool, ScimError> {
    let (p, op, v) = match e {
        AttrExp::Present(p) => {
            let sub = sub_of(def, p)?;
            return Ok(present(elem.get(sub.name)));
        }
        AttrExp::Comparison(p, op, v) => (p, op, v),
    };
    let sub = sub_of(def, p)?;
    let actual = elem.get(sub.name).filter(|v| !v.is_null());
    if let CompValue::Null = v {
        return match op {
            CompareOp::Eq => Ok(!present(actual)),
            CompareOp::Ne => Ok(present(actual)),
            _ => Err(ScimError::invalid_filter(
                "only eq and ne compare with null",
            )),
        };
    }
    if let CompareOp::Ne = op {
        return Ok(!exp(
            elem,
            &AttrExp::Comparison(p.clone(), CompareOp::Eq, v.clone()),
            def,
        )?);
    }
    let ord = |o: std::cmp::Ordering| -> Result<bool, ScimError> {
        use std::cmp::Ordering::*;
        Ok(match op {
            CompareOp::Eq => o == Equal,
            CompareOp::Gt => o == Greater,
            CompareOp::Ge => o != Less,
            CompareOp::Lt => o == Less,
            CompareOp::Le => o != Greater,
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "`{}`: co, sw and ew apply to strings only",
                    sub.name
                )));
            }
        })
    };
    match sub.ty {
        AttrType::Boolean => {
            let want = match v {
                CompValue::True => true,
                CompValue::False => false,
                CompValue::Str(s) => parse_bool(&Value::String(s.clone()))
                    .ok_or_else(|| ScimError::invalid_filter("expected true or false"))?,
                _ => return Err(ScimError::invalid_filter("expected true or false")),
            };
            if !matches!(op, CompareOp::Eq) {
                return Err(ScimError::invalid_filter(
                    "only eq and ne apply to a boolean",
                ));
            }
            Ok(actual.and_then(parse_bool).unwrap_or(false) == want)
        }
        AttrType::Integer | AttrType::Decimal => {
            let CompValue::Number(n) = v else {
                return Err(ScimError::invalid_filter("expected a number"));
            };
            let (Some(a), Some(b)) = (actual.and_then(Value::as_f64), n.as_f64()) else {
                return Ok(false);
            };
            a.partial_cmp(&b).map_or(Ok(false), ord)
        }
        AttrType::DateTime => {
            let CompValue::Str(s) = v else {
                return Err(ScimError::invalid_filter("expected a dateTime string"));
            };
            let want = normalize_datetime(s)
                .ok_or_else(|| ScimError::invalid_filter("invalid dateTime"))?;
            let Some(have) = actual.and_then(Value::as_str).and_then(normalize_datetime) else {
                return Ok(false);
            };
            ord(have.cmp(&want))
        }
        _ => {
            let CompValue::Str(s) = v else {
                return Err(ScimError::invalid_filter("expected a string value"));
            };
            let Some(have) = actual.and_then(Value::as_str) else {
                return Ok(false);
            };
            let (have, want) = if sub.case_exact {
                (have.to_string(), s.clone())
            } else {
                (have.to_lowercase(), s.to_lowercase())
            };
            match op {
                CompareOp::Co => Ok(have.contains(&want)),
                CompareOp::Sw => Ok(have.starts_with(&want)),
                CompareOp::Ew => Ok(have.ends_with(&want)),
                _ => ord(have.cmp(&want)),
            }
        }
    }
}

/// The sub-attribute values a filter pins with `eq` (a conjunction of `eq` tests), used to
/// create a new element when an add/replace filter matches nothing. None otherwise.
pub fn eq_terms(f: &ValFilter, def: &AttrDef) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut stack = vec![f];
    while let Some(f) = stack.pop() {
        match f {
            ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
                let sub = sub_of(def, p).ok()?;
                let val = match v {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::True => Value::Bool(true),
                    CompValue::False => Value::Bool(false),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::Null => return None,
                };
                out.insert(sub.name.to_string(), val);
            }
            ValFilter::And(items) => stack.extend(items.iter()),
            _ => return None,
        }
    }
    Some(out)
}

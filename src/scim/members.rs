//! A group's `members` as a write gives them: ids (and displays) out of the canonical JSON.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::error::ScimError;
use crate::store::resources::MemberInput;

/// Splits a group's `members` out of its canonical JSON, de-duplicated by id.
pub fn take_members(doc: &mut Map<String, Value>) -> Result<Vec<MemberInput>, ScimError> {
    let mut ids: Vec<MemberInput> = Vec::new();
    // A PUT of a big group lists thousands: a set, not a scan of the list per member.
    let mut seen: HashSet<String> = HashSet::new();
    if let Some(members) = doc.remove("members") {
        let arr = match members {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            _ => return Err(ScimError::invalid_value("members must be an array")),
        };
        for m in arr {
            let id = m
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ScimError::invalid_value("every member needs a `value` (the member's id)")
                })?;
            if m.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("group"))
            {
                return Err(ScimError::invalid_value(
                    "nested groups are not supported: members must be users",
                ));
            }
            if seen.insert(id.to_string()) {
                let display = m.get("display").and_then(Value::as_str).map(str::to_owned);
                ids.push(MemberInput {
                    id: id.to_string(),
                    display,
                });
            }
        }
    }
    Ok(ids)
}

/// A group's `members` attribute from its membership as read: `(id, display)` pairs.
pub fn members_value(links: &[(String, Option<String>)]) -> Value {
    Value::Array(
        links
            .iter()
            .map(|(v, d)| match d {
                Some(d) => json!({"value": v, "display": d}),
                None => json!({"value": v}),
            })
            .collect(),
    )
}

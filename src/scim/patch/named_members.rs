//! Which group members a PATCH can change, when it names them by value.
//!
//! Okta and Entra ID change a group's membership one PATCH at a time: `add` with
//! `path: "members"` and a value array, `remove` with `members[value eq "…"]` (Okta) or with
//! a value array (Entra). Every such operation acts on the members it names and on no other,
//! so applying the PATCH to the group with only those members in its `members` gives the
//! same result for them as applying it to the whole list, and leaves the rest as they are.
//! A group of 100k users then costs a member add what a group of ten does.
//!
//! Any other operation on `members` (`replace`, a `remove` of the whole attribute, a filter
//! that is not `value eq "…"`, a sub-attribute path, a path-less value carrying `members`)
//! needs the whole list: [`named_members`] answers `None` and the caller reads it.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::Value;

use super::apply::parse_path;
use super::{OpKind, PatchOp};
use crate::scim::ResourceType;
use crate::scim::filter_sql::resolve_path;

/// The member ids a group PATCH names, when every operation touching `members` names the
/// members it acts on by value; `None` when one needs the whole member list. Operations on
/// other attributes are not looked at (they never change `members`). An operation whose
/// path does not parse is left to the whole-list path, which reports it.
pub fn named_members(ops: &[PatchOp]) -> Option<Vec<String>> {
    let mut named = Vec::new();
    for op in ops {
        match &op.path {
            None => {
                // A path-less value: any key that could mean `members` needs the list.
                let obj = op.value.as_ref()?.as_object()?;
                if obj
                    .keys()
                    .any(|k| k.to_ascii_lowercase().contains("members"))
                {
                    return None;
                }
            }
            Some(p) => match parse_path(p).ok()? {
                PatchPath::Attr(ap) => {
                    let Some(r) = resolve_path(ResourceType::Group, &ap) else {
                        continue;
                    };
                    if r.attr.name != "members" {
                        continue;
                    }
                    if r.sub.is_some() || op.op == OpKind::Replace {
                        return None;
                    }
                    // `add` or `remove` of the values given; a `remove` without values
                    // empties the list.
                    named.extend(values_named(op.value.as_ref()?)?);
                }
                PatchPath::Value(vp) => {
                    let r = resolve_path(ResourceType::Group, &vp.attr)?;
                    if r.attr.name != "members" {
                        continue;
                    }
                    if op.op != OpKind::Remove || vp.sub_attr.is_some() {
                        return None;
                    }
                    ids_in_filter(&vp.filter, &mut named)?;
                }
            },
        }
    }
    Some(named)
}

/// The ids of a non-empty value array whose every element is an object with a string
/// `value` (a single such object too).
fn values_named(v: &Value) -> Option<Vec<String>> {
    let items = match v {
        Value::Array(a) if !a.is_empty() => a.as_slice(),
        Value::Object(_) => std::slice::from_ref(v),
        _ => return None,
    };
    items
        .iter()
        .map(|e| e.get("value")?.as_str().map(str::to_owned))
        .collect()
}

/// `value eq "id"`, or an `or` of such tests: the ids; anything else: `None`.
fn ids_in_filter(f: &ValFilter, out: &mut Vec<String>) -> Option<()> {
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(s)))
            if p.uri.is_none() && p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("value") =>
        {
            out.push(s.clone());
            Some(())
        }
        ValFilter::Or(items) => items.iter().try_for_each(|i| ids_in_filter(i, out)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value, json};

    use super::named_members;
    use crate::scim::ResourceType;
    use crate::scim::members::{members_value, take_members};
    use crate::scim::patch::{PatchOp, apply_patch, parse_patch};

    fn ops(list: Value) -> Vec<PatchOp> {
        parse_patch(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list}))
            .expect("parses")
    }

    #[test]
    fn the_idps_member_changes_name_their_members() {
        let named = |l: Value| named_members(&ops(l));
        assert_eq!(
            named(
                json!([{"op": "add", "path": "members", "value": [{"value": "a", "display": "A"}, {"value": "b"}]}])
            ),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            named(json!([{"op": "remove", "path": "members[value eq \"a\"]"}])),
            Some(vec!["a".into()])
        );
        assert_eq!(
            named(
                json!([{"op": "Remove", "path": "members", "value": [{"value": "c"}]},
                         {"op": "Replace", "path": "displayName", "value": "New"}])
            ),
            Some(vec!["c".into()])
        );
        assert_eq!(
            named(
                json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"a\" or value eq \"b\"]"}])
            ),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            named(json!([{"op": "replace", "value": {"id": "g", "displayName": "Okta's rename"}}])),
            Some(vec![])
        );
    }

    #[test]
    fn what_needs_the_whole_list_is_not_named() {
        for l in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "a"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "Remove", "path": "members", "value": []}]),
            json!([{"op": "remove", "path": "members[display eq \"A\"]"}]),
            json!([{"op": "remove", "path": "members[value ne \"a\"]"}]),
            json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "A"}]),
            json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {"display": "A"}}]),
            json!([{"op": "remove", "path": "members.display"}]),
            json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
            json!([{"op": "replace", "value": {"displayName": "x", "members": []}}]),
            json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": [{"value": "a"}]}}]),
        ] {
            assert_eq!(named_members(&ops(l.clone())), None, "{l}");
        }
    }

    /// The document and the members as `id → display` after a PATCH, or its error.
    type Outcome = Result<(Map<String, Value>, BTreeMap<String, Option<String>>), String>;

    /// Members as `id → display` after the PATCH, applied to `members` (all or some).
    fn apply(
        data: &Map<String, Value>,
        members: &[(String, Option<String>)],
        ops: &[PatchOp],
    ) -> Outcome {
        let mut doc = data.clone();
        doc.insert("members".into(), members_value(members));
        apply_patch(ResourceType::Group, &mut doc, ops).map_err(|e| format!("{e:?}"))?;
        let after = take_members(&mut doc).map_err(|e| format!("{e:?}"))?;
        Ok((doc, after.into_iter().map(|m| (m.id, m.display)).collect()))
    }

    /// The named path's result equals the whole list's: for random groups and random mixes
    /// of the IdPs' member operations, applying them to only the named members and keeping
    /// the others as they were gives the same members, displays, other attributes and errors.
    #[test]
    fn named_members_give_what_the_whole_list_gives() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let data: Map<String, Value> =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"})
                .as_object()
                .cloned()
                .unwrap_or_default();
        for case in 0..400 {
            let mut members: Vec<(String, Option<String>)> = (0..next(8))
                .map(|i| {
                    (
                        format!("u{}", i * 2),
                        (next(2) == 0).then(|| format!("D{i}")),
                    )
                })
                .collect();
            members.sort();
            let mut list = Vec::new();
            for _ in 0..1 + next(4) {
                let id = format!("u{}", next(16));
                let other = format!("u{}", next(16));
                list.push(match next(6) {
                    0 => json!({"op": "add", "path": "members", "value": [{"value": id, "display": format!("N{case}")}]}),
                    1 => json!({"op": "Add", "path": "members", "value": [{"value": id}, {"value": other}, {"value": id, "display": "dup"}]}),
                    2 => json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
                    3 => json!({"op": "Remove", "path": "members", "value": [{"value": id}, {"value": other}]}),
                    4 => json!({"op": "remove", "path": format!("members[value eq \"{id}\" or value eq \"{other}\"]")}),
                    _ => json!({"op": "replace", "path": "displayName", "value": format!("G{case}")}),
                });
            }
            let ops = ops(Value::Array(list.clone()));
            let named = named_members(&ops).expect("these forms name their members");
            let whole = apply(&data, &members, &ops);
            let some: Vec<(String, Option<String>)> = members
                .iter()
                .filter(|(id, _)| named.contains(id))
                .cloned()
                .collect();
            let part = apply(&data, &some, &ops).map(|(doc, mut after)| {
                for (id, d) in &members {
                    if !named.contains(id) {
                        after.insert(id.clone(), d.clone());
                    }
                }
                (doc, after)
            });
            assert_eq!(whole, part, "case {case}: {}", Value::Array(list));
        }
    }
}

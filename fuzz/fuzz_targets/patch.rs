//! Any bytes as a PATCH request body: the body extractor, `parse_patch`, then `apply_patch` on
//! a realistic stored User and Group (as service.rs hands them over: canonical form plus `id`,
//! a Group with its `members`), then what service.rs and the worker do with the result.
//! Checked: an error leaves the resource unchanged (all-or-nothing), a result is in
//! canonical form (canonicalising it again changes nothing), and when the PATCH names the
//! group members it acts on (`named_members`), applying it to only those members gives the
//! whole list's result (service.rs relies on it to leave a big group's other members unread).
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_bridge::fuzzing::{scim_json, worker_view};
use scim_bridge::scim::ResourceType;
use scim_bridge::scim::canonical::canonicalize;
use scim_bridge::scim::patch::{PatchOp, apply_patch, named_members, parse_patch};
use scim_bridge::scim::service::take_members;
use serde_json::{Map, Value, json};

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "jane.doe@example.com",
        "externalId": "00u1abcd",
        "name": {"givenName": "Jane", "familyName": "Doe", "formatted": "Jane Doe"},
        "displayName": "Jane Doe",
        "title": "Engineer",
        "active": true,
        "locale": "en-US",
        "emails": [
            {"value": "jane.doe@example.com", "type": "work", "primary": true},
            {"value": "jane@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
        "addresses": [{"type": "work", "locality": "Berlin", "country": "DE", "primary": true}],
        "roles": [{"value": "ANALYST"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "42",
            "department": "Security",
            "costCenter": "CC-7",
            "manager": {"value": "m1"}
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "externalId": "00g1",
        "members": [{"value": "u1", "display": "Jane"}, {"value": "u2"}, {"value": "u3"}]
    })
}

fn stored(rt: ResourceType, body: Value, id: &str) -> Map<String, Value> {
    let mut doc = canonicalize(rt, &body).unwrap_or_else(|e| panic!("fixture: {e}"));
    doc.insert("id".into(), json!(id));
    doc
}

fn docs() -> &'static [(ResourceType, Map<String, Value>); 2] {
    static DOCS: OnceLock<[(ResourceType, Map<String, Value>); 2]> = OnceLock::new();
    DOCS.get_or_init(|| {
        [
            (ResourceType::User, stored(ResourceType::User, user(), "u1")),
            (
                ResourceType::Group,
                stored(ResourceType::Group, group(), "g1"),
            ),
        ]
    })
}

/// The group's members after `ops`, as `id → display` with the document, applying them to
/// `before` with only `keep` members in its list (all when `None`); `None` on an error.
fn members_after(
    before: &Map<String, Value>,
    ops: &[PatchOp],
    keep: Option<&[String]>,
) -> Option<(Map<String, Value>, BTreeMap<String, Option<String>>)> {
    let mut doc = before.clone();
    if let (Some(keep), Some(Value::Array(all))) = (keep, doc.get_mut("members")) {
        all.retain(|m| {
            m["value"]
                .as_str()
                .is_some_and(|v| keep.iter().any(|k| k == v))
        });
    }
    apply_patch(ResourceType::Group, &mut doc, ops).ok()?;
    let members = take_members(&mut doc).ok()?;
    Some((
        doc,
        members.into_iter().map(|m| (m.id, m.display)).collect(),
    ))
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = scim_json(Some(b"application/scim+json"), data) else {
        return;
    };
    let Ok(ops) = parse_patch(&body) else {
        return;
    };
    if let Some(named) = named_members(&ops) {
        let group = &docs()[1].1;
        let whole = members_after(group, &ops, None);
        let part = members_after(group, &ops, Some(&named));
        // service.rs takes the whole list when the result names a member it did not name.
        let named_only = part
            .as_ref()
            .is_none_or(|(_, after)| after.keys().all(|k| named.contains(k)));
        if named_only {
            let part = part.map(|(doc, mut after)| {
                for m in group["members"].as_array().into_iter().flatten() {
                    let id = m["value"].as_str().unwrap_or_default();
                    if !named.iter().any(|n| n == id) {
                        let display = m.get("display").and_then(Value::as_str).map(str::to_owned);
                        after.insert(id.to_string(), display);
                    }
                }
                (doc, after)
            });
            assert_eq!(
                whole, part,
                "named members give another result than the whole list"
            );
        }
    }
    for (rt, before) in docs() {
        let mut doc = before.clone();
        match apply_patch(*rt, &mut doc, &ops) {
            Err(_) => assert_eq!(&doc, before, "resource changed by a failed PATCH"),
            Ok(()) => {
                let id = doc.remove("id");
                assert_eq!(id.as_ref(), before.get("id"), "PATCH changed the id");
                let again = canonicalize(*rt, &Value::Object(doc.clone()))
                    .unwrap_or_else(|e| panic!("PATCH result is not canonical: {e}"));
                assert_eq!(
                    again, doc,
                    "canonicalize is not idempotent on a PATCH result"
                );
                doc.remove("meta");
                doc.remove("groups");
                if *rt == ResourceType::Group {
                    let _ = take_members(&mut doc);
                }
                worker_view(*rt, &doc);
            }
        }
    }
});

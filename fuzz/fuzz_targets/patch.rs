//! Any bytes as a PATCH request body: the body extractor, `parse_patch`, then `apply_patch` on
//! a realistic stored User and Group (as service.rs hands them over: canonical form plus `id`,
//! a Group with its `members`), then what service.rs and the worker do with the result.
//! Checked: an error leaves the resource unchanged (all-or-nothing), and a result is in
//! canonical form (canonicalising it again changes nothing).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_bridge::fuzzing::{scim_json, worker_view};
use scim_bridge::scim::ResourceType;
use scim_bridge::scim::canonical::canonicalize;
use scim_bridge::scim::patch::{apply_patch, parse_patch};
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

fuzz_target!(|data: &[u8]| {
    let Ok(body) = scim_json(Some(b"application/scim+json"), data) else {
        return;
    };
    let Ok(ops) = parse_patch(&body) else {
        return;
    };
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

//! Value-filter paths, primary handling and mutability.

use serde_json::json;

use super::*;

#[test]
fn value_filter_paths() {
    let u = ResourceType::User;
    let r = run(
        u,
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"}]),
    )
    .unwrap();
    assert_eq!(
        r["emails"][0],
        json!({"value": "new@x.com", "type": "work", "primary": true})
    );
    // No match on replace with an eq filter: a new element is created (Entra).
    let r = run(
        u,
        user(),
        json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1"}]),
    )
    .unwrap();
    assert_eq!(
        r["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1"}])
    );
    // No match with a non-eq filter: noTarget.
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "emails[type co \"zzz\"].value", "value": "n"}])
        ),
        ScimType::NoTarget
    );
    let r = run(
        u,
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    )
    .unwrap();
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    let r = run(
        u,
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"WORK\"].type"}]),
    )
    .unwrap();
    assert_eq!(r["emails"][0], json!({"value": "a@x.com", "primary": true}));
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "remove", "path": "emails[nope eq \"x\"]"}])
        ),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "remove", "path": "userName[value eq \"x\"]"}])
        ),
        ScimType::InvalidPath
    );
}

#[test]
fn primary_is_unique_after_add_or_replace() {
    let u = ResourceType::User;
    let r = run(
        u,
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "c@z.com", "primary": true}]}]),
    )
    .unwrap();
    let prim: Vec<_> = r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(prim, vec![&json!({"value": "c@z.com", "primary": true})]);
    let r = run(
        u,
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
    )
    .unwrap();
    let prim: Vec<_> = r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(prim[0]["value"], "b@y.com");
    assert_eq!(prim.len(), 1);
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}])
        ),
        ScimType::InvalidValue
    );
}

#[test]
fn mutability_rules() {
    let u = ResourceType::User;
    for path in [
        "id",
        "meta.created",
        "groups",
        "urn:scim-bridge:schemas:extension:abnormal:2.0:User:riskScore",
        "urn:scim-bridge:schemas:extension:abnormal:2.0:User",
    ] {
        let op = if path.ends_with("User") {
            "remove"
        } else {
            "replace"
        };
        assert_eq!(
            err(u, user(), json!([{"op": op, "path": path, "value": "x"}])),
            ScimType::Mutability,
            "{path}"
        );
    }
    // Path-less readOnly values equal to the current ones are ignored, different ones refused.
    let r = run(u, user(), json!([{"op": "replace", "value": {"id": "u1", "groups": [], "meta": {"x": 1}, "active": false}}])).unwrap();
    assert_eq!(r["active"], false);
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "value": {"groups": [{"value": "g1"}]}}])
        ),
        ScimType::Mutability
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "value": {"urn:scim-bridge:schemas:extension:abnormal:2.0:User:riskLevel": "low"}}])
        ),
        ScimType::Mutability
    );
    // password is accepted and never stored.
    let r = run(u, user(), json!([{"op": "replace", "path": "password", "value": "s3cret"}, {"op": "replace", "value": {"password": "x"}}])).unwrap();
    assert!(r.get("password").is_none());
}

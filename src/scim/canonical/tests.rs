use serde_json::{Value, json};

use super::*;
use crate::scim::ResourceType::{Group, User};
use crate::scim::error::ScimType;
use crate::scim::{ABNORMAL_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

fn ok(rt: ResourceType, v: Value) -> Value {
    Value::Object(canonicalize(rt, &v).unwrap())
}

fn err_type(rt: ResourceType, v: Value) -> (ScimType, String) {
    match canonicalize(rt, &v) {
        Err(ScimError::Client {
            scim_type: Some(t),
            detail,
            ..
        }) => (t, detail),
        other => panic!("expected a client error, got {other:?}"),
    }
}

#[test]
fn okta_create_body_is_canonicalised() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "USERNAME": "Jane@Example.com",
        "Name": {"GivenName": "Jane", "familyName": "Doe"},
        "emails": [{"primary": true, "value": "jane@example.com", "type": "work"}],
        "displayName": "Jane Doe",
        "locale": "en-US",
        "externalId": "00u1",
        "groups": [],
        "password": "hunter2",
        "active": true,
        "id": "client-chosen",
        "meta": {"resourceType": "User"}
    });
    let got = ok(User, body);
    assert_eq!(
        got,
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "Jane@Example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"primary": true, "value": "jane@example.com", "type": "work"}],
            "displayName": "Jane Doe",
            "locale": "en-US",
            "externalId": "00u1",
            "active": true
        })
    );
}

#[test]
fn entra_string_booleans_and_enterprise_extension() {
    let got = ok(
        User,
        json!({
            "userName": "a@b.c",
            "active": "False",
            "emails": {"value": "a@b.c", "primary": "True"},
            ENTERPRISE_USER_SCHEMA: {"Department": "Sales", "manager": {"value": "m1", "displayName": "Boss"}},
        }),
    );
    assert_eq!(got["active"], false);
    assert_eq!(got["emails"], json!([{"value": "a@b.c", "primary": true}]));
    assert_eq!(
        got[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Sales", "manager": {"value": "m1"}})
    );
    assert_eq!(got["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
}

#[test]
fn flat_urn_keys_and_manager_forms() {
    let got = ok(
        User,
        json!({
            "userName": "u",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m2",
        }),
    );
    assert_eq!(
        got[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Ops", "manager": {"value": "m2"}})
    );
    // `{"value": ""}` means no manager; an extension left empty is dropped with its schema.
    let got = ok(
        User,
        json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"manager": {"value": ""}}}),
    );
    assert!(got.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert_eq!(got["schemas"], json!([USER_SCHEMA]));
    let got = ok(
        User,
        json!({"userName": "u", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m3"}),
    );
    assert_eq!(
        got[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m3"})
    );
    // Core URN-prefixed key.
    let got = ok(
        User,
        json!({"urn:ietf:params:scim:schemas:core:2.0:User:userName": "q"}),
    );
    assert_eq!(got["userName"], "q");
}

#[test]
fn abnormal_extension_and_read_only_attributes_are_dropped() {
    let got = ok(
        User,
        json!({
            "userName": "u",
            "schemas": [USER_SCHEMA, ABNORMAL_USER_SCHEMA],
            ABNORMAL_USER_SCHEMA: {"riskScore": "99", "isVip": true},
            "urn:scim-bridge:schemas:extension:abnormal:2.0:User:riskLevel": "high",
        }),
    );
    assert_eq!(got, json!({"userName": "u", "schemas": [USER_SCHEMA]}));
}

#[test]
fn unknown_attributes_and_urns_are_rejected() {
    let (t, d) = err_type(User, json!({"userName": "u", "favouriteColour": "red"}));
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.contains("favouriteColour"), "{d}");
    let (t, d) = err_type(
        User,
        json!({"userName": "u", "urn:acme:ext:1.0:User": {"x": 1}}),
    );
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.contains("urn:acme"), "{d}");
    let (t, _) = err_type(User, json!({"userName": "u", "name": {"nope": "x"}}));
    assert_eq!(t, ScimType::InvalidValue);
    let (t, _) = err_type(User, json!({"userName": "u", "schemas": ["urn:acme:x"]}));
    assert_eq!(t, ScimType::InvalidValue);
    let (t, _) = err_type(
        Group,
        json!({"displayName": "g", ENTERPRISE_USER_SCHEMA: {}}),
    );
    assert_eq!(t, ScimType::InvalidValue);
    // `department` unqualified is ambiguous.
    let (t, _) = err_type(User, json!({"userName": "u", "department": "x"}));
    assert_eq!(t, ScimType::InvalidValue);
}

#[test]
fn wrong_types_are_invalid_value_naming_the_attribute() {
    for (body, name) in [
        (json!({"userName": 5}), "userName"),
        (json!({"userName": "u", "active": "yes"}), "active"),
        (json!({"userName": "u", "name": "Jane"}), "name"),
        (
            json!({"userName": "u", "emails": [{"value": 5}]}),
            "emails.value",
        ),
        (
            json!({"userName": "u", "emails": [[{"value": "x"}]]}),
            "emails",
        ),
        (
            json!({"userName": "u", "displayName": ["a"]}),
            "displayName",
        ),
        (
            json!({"userName": "u", "emails": [{"value": "a", "primary": 1}]}),
            "emails.primary",
        ),
    ] {
        let (t, d) = err_type(User, body);
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains(&format!("`{name}`")), "{d} should name {name}");
    }
    let (t, _) = err_type(User, json!(["not", "an", "object"]));
    assert_eq!(t, ScimType::InvalidSyntax);
}

#[test]
fn required_attributes() {
    for body in [
        json!({}),
        json!({"userName": ""}),
        json!({"userName": "  "}),
        json!({"userName": null}),
    ] {
        let (t, d) = err_type(User, body);
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("userName"));
    }
    let (t, d) = err_type(Group, json!({"members": []}));
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.contains("displayName"));
}

#[test]
fn at_most_one_primary() {
    let (t, d) = err_type(
        User,
        json!({"userName": "u", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]}),
    );
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.contains("primary"));
}

#[test]
fn group_members_are_checked_and_deduplicated() {
    let got = ok(
        Group,
        json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Eng",
            "members": [{"value": "u1", "display": "A"}, {"value": "u2"}, {"value": "u1"}],
            "id": "x"
        }),
    );
    assert_eq!(
        got,
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng", "members": [{"value": "u1", "display": "A"}, {"value": "u2"}]})
    );
    let (t, d) = err_type(
        Group,
        json!({"displayName": "g", "members": [{"display": "no value"}]}),
    );
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.contains("members.value"));
    // Empty members and nulls mean absent.
    let got = ok(
        Group,
        json!({"displayName": "g", "members": [], "externalId": null}),
    );
    assert_eq!(got, json!({"schemas": [GROUP_SCHEMA], "displayName": "g"}));
}

#[test]
fn hostile_input_does_not_panic() {
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({ "name": deep });
    }
    assert!(canonicalize(User, &json!({"userName": "u", "name": deep})).is_err());
    let huge = "é".repeat(100_000);
    let (_, d) = err_type(User, json!({"userName": "u", huge.clone(): 1}));
    assert!(d.len() < 1000);
    // Over MAX_INDEXED_BYTES: refused, with a short detail.
    let (t, d) = err_type(User, json!({"userName": huge}));
    assert_eq!(t, ScimType::InvalidValue);
    assert!(d.len() < 1000);
    assert!(canonicalize(User, &json!({"userName": "u", "a.b.c": 1})).is_err());
    assert!(canonicalize(User, &json!({"userName": "u", "urn:": 1})).is_err());
}

#[test]
fn nul_in_a_string_is_invalid_value() {
    // Fuzz finding (filter_exec on Postgres): text and jsonb there cannot hold U+0000, so
    // storing such a string was a 500. Nested values are checked too.
    for body in [
        json!({"userName": "a\u{0}b"}),
        json!({"userName": "u", "name": {"givenName": "\u{0}"}}),
        json!({"userName": "u", "emails": [{"value": "x@y\u{0}"}]}),
    ] {
        let (t, detail) = err_type(User, body);
        assert_eq!(t, ScimType::InvalidValue);
        assert!(detail.contains("U+0000"), "{detail}");
    }
    let (t, _) = err_type(
        Group,
        json!({"displayName": "g", "members": [{"value": "u1", "display": "\u{0}"}]}),
    );
    assert_eq!(t, ScimType::InvalidValue);
}

#[test]
fn indexed_attributes_are_length_capped() {
    // Found next to the U+0000 fuzz finding: a Postgres B-tree entry must stay under ~2.7 KB,
    // so a 3000-byte userName failed the INSERT with a 500.
    let long = "a".repeat(MAX_INDEXED_BYTES + 1);
    for (rt, body) in [
        (User, json!({"userName": long})),
        (User, json!({"userName": "u", "externalId": long})),
        (User, json!({"userName": "u", "displayName": long})),
        (
            User,
            json!({"userName": "u", "emails": [{"value": "a@b"}, {"value": long}]}),
        ),
        (Group, json!({"displayName": long})),
    ] {
        let (t, detail) = err_type(rt, body);
        assert_eq!(t, ScimType::InvalidValue);
        assert!(detail.contains("longer than 1024 bytes"), "{detail}");
    }
    let max = "a".repeat(MAX_INDEXED_BYTES);
    assert_eq!(ok(User, json!({"userName": max}))["userName"], json!(max));
}

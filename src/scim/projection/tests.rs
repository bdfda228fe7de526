use serde_json::{Value, json};

use super::*;
use crate::scim::{
    ABNORMAL_USER_SCHEMA as AB, ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA,
};

fn user() -> Map<String, Value> {
    json!({
        "schemas": [USER_SCHEMA, ENT, AB], "id": "u1", "userName": "jane", "password": "leak",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@y", "type": "home"}],
        "meta": {"resourceType": "User", "lastModified": "2024-01-01T00:00:00.000Z"},
        "groups": [{"value": "g1", "display": "Eng"}],
        ENT: {"department": "Sales", "manager": {"value": "m1"}},
        AB: {"riskLevel": "high", "isVip": true}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn p(a: Option<&str>, e: Option<&str>) -> Value {
    let mut u = user();
    project(ResourceType::User, &mut u, a, e).unwrap();
    Value::Object(u)
}

#[test]
fn default_drops_never_returned() {
    let mut want = user();
    want.remove("password");
    assert_eq!(p(None, None), Value::Object(want));
}

#[test]
fn attributes_select_plus_always() {
    assert_eq!(
        p(Some("userName"), None),
        json!({"schemas": [USER_SCHEMA, ENT, AB], "id": "u1", "userName": "jane"})
    );
    assert_eq!(
        p(
            Some(
                "NAME.givenName, emails.value,emails.TYPE,meta.lastModified,password,bogus,urn:x:y:z"
            ),
            None
        ),
        json!({"schemas": [USER_SCHEMA, ENT, AB], "id": "u1", "name": {"givenName": "Jane"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@y", "type": "home"}],
            "meta": {"lastModified": "2024-01-01T00:00:00.000Z"}})
    );
    assert_eq!(
        p(
            Some(&format!(
                "{ENT}:manager.value,{AB},urn:ietf:params:scim:schemas:core:2.0:User:userName"
            )),
            None
        ),
        json!({"schemas": [USER_SCHEMA, ENT, AB], "id": "u1", "userName": "jane",
            ENT: {"manager": {"value": "m1"}}, AB: {"riskLevel": "high", "isVip": true}})
    );
    // A whole attribute wins over a sub-attribute of it.
    assert_eq!(
        p(Some("name.givenName,name"), None)["name"],
        json!({"givenName": "Jane", "familyName": "Doe"})
    );
}

#[test]
fn excluded_attributes() {
    let got = p(
        None,
        Some(&format!(
            "emails.type, groups,{ENT}:department,id,{AB}:riskLevel,nope"
        )),
    );
    assert_eq!(got["id"], "u1");
    assert_eq!(
        got["emails"],
        json!([{"value": "a@x", "primary": true}, {"value": "b@y"}])
    );
    assert!(got.get("groups").is_none());
    assert_eq!(got[ENT], json!({"manager": {"value": "m1"}}));
    assert_eq!(got[AB], json!({"isVip": true}));
    let got = p(None, Some(&format!("{ENT},meta")));
    assert!(got.get(ENT).is_none() && got.get("meta").is_none());
    assert!(got.get("password").is_none());
}

#[test]
fn entra_excludes_group_members() {
    let mut g = json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng", "members": [{"value": "u1"}]})
        .as_object()
        .unwrap()
        .clone();
    project(ResourceType::Group, &mut g, None, Some("members")).unwrap();
    assert_eq!(
        Value::Object(g),
        json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng"})
    );
}

#[test]
fn hostile_lists_are_harmless() {
    let long = "a,".repeat(100_000);
    assert_eq!(
        p(Some(&long), None),
        json!({"schemas": [USER_SCHEMA, ENT, AB], "id": "u1"})
    );
    let mut want = user();
    want.remove("password");
    assert_eq!(p(Some(" , "), Some(",,urn:,.,..")), Value::Object(want));
}

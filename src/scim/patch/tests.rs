use serde_json::{Value, json};

use super::*;
use crate::scim::error::ScimType;
use crate::scim::{ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA};

pub(super) fn msg(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

pub(super) fn user() -> Map<String, Value> {
    json!({
        "id": "u1", "schemas": [USER_SCHEMA], "userName": "jane@example.com", "active": true,
        "emails": [{"value": "a@x.com", "type": "work", "primary": true}, {"value": "b@y.com", "type": "home"}]
    })
    .as_object()
    .unwrap()
    .clone()
}

pub(super) fn group() -> Map<String, Value> {
    json!({"id": "g1", "schemas": [GROUP_SCHEMA], "displayName": "Eng", "members": [{"value": "u1"}, {"value": "u2"}]})
        .as_object()
        .unwrap()
        .clone()
}

pub(super) fn run(
    rt: ResourceType,
    mut r: Map<String, Value>,
    ops: Value,
) -> Result<Value, ScimError> {
    let ops = parse_patch(&msg(ops))?;
    apply_patch(rt, &mut r, &ops)?;
    Ok(Value::Object(r))
}

pub(super) fn err(rt: ResourceType, r: Map<String, Value>, ops: Value) -> ScimType {
    match run(rt, r, ops) {
        Err(ScimError::Client {
            scim_type: Some(t), ..
        }) => t,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn parse_accepts_any_case() {
    let ops = parse_patch(&json!({
        "SCHEMAS": [PATCH_OP_SCHEMA],
        "operations": [{"OP": "Replace", "Path": "active", "Value": "False"}, {"op": "ADD", "value": {}}, {"op": "remove", "path": "x"}]
    }))
    .unwrap();
    assert_eq!(
        ops[0],
        PatchOp {
            op: OpKind::Replace,
            path: Some("active".into()),
            value: Some(json!("False"))
        }
    );
    assert_eq!(ops[1].op, OpKind::Add);
    assert_eq!(ops[2].op, OpKind::Remove);
}

#[test]
fn parse_rejects_bad_shapes() {
    for body in [
        json!([]),
        json!({"Operations": [{"op": "add", "value": {}}]}),
        json!({"schemas": ["urn:other"], "Operations": [{"op": "add", "value": {}}]}),
        json!({"schemas": [PATCH_OP_SCHEMA]}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {"op": "add"}}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ["add"]}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move", "path": "x"}]}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"path": "x"}]}),
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": 5}]}),
    ] {
        match parse_patch(&body) {
            Err(ScimError::Client {
                scim_type: Some(ScimType::InvalidSyntax),
                ..
            }) => {}
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn okta_deactivate_and_reactivate() {
    let r = run(
        ResourceType::User,
        user(),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .unwrap();
    assert_eq!(r["active"], false);
    let r = run(
        ResourceType::User,
        r.as_object().unwrap().clone(),
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .unwrap();
    assert_eq!(r["active"], true);
    assert_eq!(r["id"], "u1");
}

#[test]
fn entra_string_booleans_and_dotted_keys() {
    let r = run(
        ResourceType::User,
        user(),
        json!([{"op": "Replace", "value": {"active": "False", "name.givenName": "Jane",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}}]),
    )
    .unwrap();
    assert_eq!(r["active"], false);
    assert_eq!(r["name"], json!({"givenName": "Jane"}));
    assert_eq!(r[ENT], json!({"department": "Sales"}));
    assert_eq!(r["schemas"], json!([USER_SCHEMA, ENT]));
}

#[test]
fn manager_forms() {
    for v in [json!("m1"), json!({"value": "m1"})] {
        let r = run(
            ResourceType::User,
            user(),
            json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": v}]),
        )
        .unwrap();
        assert_eq!(r[ENT]["manager"], json!({"value": "m1"}));
    }
    let r = run(
        ResourceType::User,
        user(),
        json!([{"op": "Add", "value": {format!("{ENT}:manager"): "m2"}}]),
    )
    .unwrap();
    assert_eq!(r[ENT]["manager"], json!({"value": "m2"}));
    let with = r.as_object().unwrap().clone();
    let r = run(
        ResourceType::User,
        with.clone(),
        json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
    )
    .unwrap();
    assert!(r.get(ENT).is_none());
    let r = run(
        ResourceType::User,
        with,
        json!([{"op": "Remove", "path": format!("{ENT}:manager")}]),
    )
    .unwrap();
    assert!(r.get(ENT).is_none());
    // The whole extension as a path.
    let r = run(
        ResourceType::User,
        user(),
        json!([{"op": "add", "path": ENT, "value": {"costCenter": "C1", "manager": "m3"}}]),
    )
    .unwrap();
    assert_eq!(
        r[ENT],
        json!({"costCenter": "C1", "manager": {"value": "m3"}})
    );
}

#[test]
fn group_member_forms() {
    let g = ResourceType::Group;
    let r = run(g, group(), json!([{"op": "add", "path": "members", "value": [{"value": "u3", "display": "C"}, {"value": "u1"}]}])).unwrap();
    assert_eq!(
        r["members"],
        json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3", "display": "C"}])
    );
    let r = run(
        g,
        group(),
        json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
    )
    .unwrap();
    assert_eq!(r["members"], json!([{"value": "u2"}]));
    let r = run(
        g,
        group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}]),
    )
    .unwrap();
    assert_eq!(r["members"], json!([{"value": "u9"}]));
    let r = run(
        g,
        group(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]}]),
    )
    .unwrap();
    assert!(r.get("members").is_none());
    let r = run(g, group(), json!([{"op": "remove", "path": "members"}])).unwrap();
    assert!(r.get("members").is_none());
    // Changing an immutable member value is refused.
    assert_eq!(
        err(
            g,
            group(),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u5"}])
        ),
        ScimType::Mutability
    );
    assert_eq!(
        err(
            g,
            group(),
            json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}])
        ),
        ScimType::InvalidValue
    );
}

#[test]
fn errors_leave_the_resource_unchanged() {
    let mut r = user();
    let ops = parse_patch(&msg(json!([{"op": "replace", "path": "active", "value": false}, {"op": "replace", "path": "nope", "value": 1}]))).unwrap();
    assert!(apply_patch(ResourceType::User, &mut r, &ops).is_err());
    assert_eq!(r, user());
}

#[test]
fn client_mistakes() {
    let u = ResourceType::User;
    assert_eq!(
        err(u, user(), json!([{"op": "remove"}])),
        ScimType::NoTarget
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "emails[", "value": 1}])
        ),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "active", "value": "maybe"}])
        ),
        ScimType::InvalidValue
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "name", "value": 5}])
        ),
        ScimType::InvalidValue
    );
    assert_eq!(
        err(u, user(), json!([{"op": "replace", "value": {"nope": 1}}])),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(u, user(), json!([{"op": "replace", "value": "x"}])),
        ScimType::InvalidSyntax
    );
    assert_eq!(
        err(u, user(), json!([{"op": "replace", "path": "userName"}])),
        ScimType::InvalidSyntax
    );
    assert_eq!(
        err(
            u,
            user(),
            json!([{"op": "replace", "path": "userName", "value": ""}])
        ),
        ScimType::InvalidValue
    );
    assert_eq!(
        err(
            ResourceType::Group,
            group(),
            json!([{"op": "remove", "path": "displayName"}])
        ),
        ScimType::InvalidValue
    );
    let deep = format!(
        "emails[{}type eq \"x\"{}]",
        "not (".repeat(100),
        ")".repeat(100)
    );
    assert_eq!(
        err(u, user(), json!([{"op": "remove", "path": deep}])),
        ScimType::InvalidPath
    );
}

#[test]
fn replace_complex_merges_sub_attributes() {
    let mut u = user();
    u.insert("name".into(), json!({"givenName": "J", "familyName": "D"}));
    let r = run(
        ResourceType::User,
        u,
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Jane"}}]),
    )
    .unwrap();
    assert_eq!(r["name"], json!({"givenName": "Jane", "familyName": "D"}));
}

mod forms;

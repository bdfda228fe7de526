//! Groups: Okta group push with every member-PATCH form, Entra's forms and excludedAttributes,
//! and member PATCHes that read only the members they name.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

pub(crate) async fn user(app: &TestApp, name: &str) -> String {
    let (s, u) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                "name": {"givenName": "G", "familyName": "M"}
            })),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

pub(crate) fn member_ids(g: &Value) -> Vec<String> {
    let mut v: Vec<String> = g["members"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["value"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

pub(crate) fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// A PATCH of `path` on `target` with these operations: (status, body).
pub(crate) async fn patch_ops(
    app: &TestApp,
    target: &str,
    path: &str,
    list: Value,
) -> (u16, Value) {
    app.scim_json(Method::PATCH, target, path, Some(ops(list)))
        .await
}

both!(okta_group_push_and_member_patches, |b| async move {
    let app = spawn_app(b).await;
    let a = user(&app, "a@corp.example").await;
    let bb = user(&app, "b@corp.example").await;
    let c = user(&app, "c@corp.example").await;
    let (s, g) = app.scim_json(Method::POST, "t1", "/Groups", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{"value": a, "display": "a@corp.example"}]
    }))).await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(member_ids(&g), vec![a.clone()]);
    assert_eq!(g["members"][0]["display"], "a@corp.example");
    let path = format!("/Groups/{gid}");
    // add members
    let (s, g) = patch_ops(&app, "t1", &path, json!([{"op": "add", "path": "members", "value": [{"value": bb, "display": "b"}, {"value": c}]}])).await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(member_ids(&g).len(), 3);
    // remove by filter
    let (_, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
    )
    .await;
    assert!(!member_ids(&g).contains(&a));
    // Entra: remove by value array, capitalised op
    let (_, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": c}]}]),
    )
    .await;
    assert_eq!(member_ids(&g), vec![bb.clone()]);
    // replace the whole list
    let (_, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([{"op": "replace", "path": "members", "value": [{"value": a}, {"value": c}]}]),
    )
    .await;
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(member_ids(&g), want);
    // Okta's path-less rename carrying the id
    let (s, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}]),
    )
    .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["displayName"], "Eng");
    // the user shows its group (readOnly, derived)
    let (_, u) = app
        .scim_json(Method::GET, "t1", &format!("/Users/{a}"), None)
        .await;
    assert_eq!(u["groups"][0]["value"], gid);
    assert_eq!(u["groups"][0]["display"], "Eng");
    // Entra: excludedAttributes=members and displayName filter
    let (_, l) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22eng%22",
            None,
        )
        .await;
    assert_eq!(l["totalResults"], 1, "{l}");
    assert!(l["Resources"][0].get("members").is_none(), "{l}");
    // member filter
    let (_, l) = app
        .scim_json(
            Method::GET,
            "t1",
            &format!("/Groups?filter=members.value%20eq%20%22{c}%22"),
            None,
        )
        .await;
    assert_eq!(l["totalResults"], 1, "{l}");
    // duplicate displayName
    let (s, e) = app.scim_json(Method::POST, "t1", "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "ENG"}))).await;
    assert_scim_error(s, &e, 409, Some("uniqueness"));
    // a deleted user leaves the group
    assert_eq!(
        app.scim(Method::DELETE, "t1", &format!("/Users/{a}"), None)
            .await
            .status(),
        204
    );
    let (_, g) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(member_ids(&g), vec![c.clone()]);
    // unknown member
    let (s, e) = patch_ops(
        &app,
        "t1",
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": "not-a-user"}]}]),
    )
    .await;
    assert_scim_error(s, &e, 400, Some("invalidValue"));
    // PUT then DELETE
    let (s, g) = app.scim_json(Method::PUT, "t1", &path, Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng2", "members": [{"value": bb}]}))).await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(member_ids(&g), vec![bb.clone()]);
    assert_eq!(
        app.scim(Method::DELETE, "t1", &path, None).await.status(),
        204
    );
    assert_eq!(app.scim(Method::GET, "t1", &path, None).await.status(), 404);
});

// A member PATCH reads and writes only the members it names (`patch/named_members.rs`);
// its answer still lists every member, whether it changed something or not, and a PATCH
// mixing a rename with a member change does both.
both!(member_patches_answer_with_every_member, |b| async move {
    let app = spawn_app(b).await;
    let mut ids = Vec::new();
    for k in 0..4 {
        ids.push(user(&app, &format!("named{k}@corp.example")).await);
    }
    let members: Vec<Value> = ids[..3]
        .iter()
        .map(|id| json!({"value": id, "display": "D"}))
        .collect();
    let (s, g) = app.scim_json(Method::POST, "t1", "/Groups", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Named", "members": members
    }))).await;
    assert_eq!(s, 201, "{g}");
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let version = g["meta"]["version"].clone();
    // Adding a member the group has, with another display: nothing changes.
    let (s, same) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "add", "path": "members", "value": [{"value": ids[0], "display": "other"}]}]),
    )
    .await;
    assert_eq!(s, 200, "{same}");
    assert_eq!(member_ids(&same).len(), 3, "every member listed: {same}");
    assert_eq!(same["meta"]["version"], version, "no new version");
    assert!(
        same["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["display"] == "D")
    );
    // Removing a user that is no member is a no-op too (retried removals stay idempotent).
    let (s, same) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[3])}]),
    )
    .await;
    assert_eq!((s, member_ids(&same).len()), (200, 3), "{same}");
    // Ids no stored value can hold (U+0000, raw or escaped in the filter) are no 500, also
    // beside a change that makes the PATCH write.
    for (k, path_expr) in [
        "members[value eq \"a\u{0}b\"]",
        r#"members[value eq "a\u0000b"]"#,
    ]
    .into_iter()
    .enumerate()
    {
        let body = ops(json!([
            {"op": "replace", "path": "externalId", "value": format!("nul-{k}")},
            {"op": "remove", "path": path_expr}]));
        let (s, same) = app.scim_json(Method::PATCH, "t1", &path, Some(body)).await;
        assert!(s == 200 || s == 400, "{s} {same}");
    }
    let (s, e) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "Remove", "path": "members", "value": [{"value": "a\u{0}b"}]}]),
    )
    .await;
    assert!(s == 200 || s == 400, "{s} {e}");
    // A rename and a member change in one PATCH (Entra sends them together).
    let (s, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Add", "path": "members", "value": [{"value": ids[3]}]},
        {"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}]),
    )
    .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["displayName"], "Renamed");
    let mut want = ids[1..].to_vec();
    want.sort();
    assert_eq!(member_ids(&g), want);
    let (_, read) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(member_ids(&read), want, "as stored");
    // A member that is no user of the target: 400, nothing written.
    let (s, e) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    let (_, read) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(member_ids(&read), want);
});

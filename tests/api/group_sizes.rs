//! Groups at size: a group of hundreds written in batched statements, and the 204 answer
//! a target can give group PATCHes (`group_patch_answer`), for groups whose 200 would list
//! tens of thousands of members.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::groups::{member_ids, ops, patch_ops, user};
use crate::helpers::*;

// `group_patch_answer = "no_content"`: a group PATCH answers 204 with the new ETag and no
// body (RFC 7644 §3.5.2; what Entra ID expects); the change is made as with a 200, and a
// user's PATCH still answers with the user.
both!(group_patch_can_answer_no_content, |b| async move {
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["quiet".into()];
    s.extra_toml = "[targets.quiet]\nkind = \"contrast\"\nsimulate = true\n\
                    token_sha256 = [\"{token:quiet}\"]\ngroup_patch_answer = \"no_content\"\n"
        .into();
    let app = spawn_with(s).await;
    let body = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    let a = app
        .create_id("quiet", "/Users", body("qa@corp.example"))
        .await;
    let bb = app
        .create_id("quiet", "/Users", body("qb@corp.example"))
        .await;
    let gid = app
        .create_id(
            "quiet",
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Quiet", "members": [{"value": a}]}),
        )
        .await;
    let path = format!("/Groups/{gid}");
    let add_bb = ops(json!([{"op": "Add", "path": "members", "value": [{"value": bb}]}]));
    let r = app
        .scim(Method::PATCH, "quiet", &path, Some(add_bb.clone()))
        .await;
    assert_eq!(r.status(), 204);
    let etag = r
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string();
    assert!(r.bytes().await.unwrap().is_empty(), "no body");
    let (_, g) = app.scim_json(Method::GET, "quiet", &path, None).await;
    let mut want = vec![a.clone(), bb.clone()];
    want.sort();
    assert_eq!(member_ids(&g), want);
    assert_eq!(
        g["meta"]["version"].as_str(),
        Some(etag.as_str()),
        "the ETag is the new version"
    );
    // The same PATCH again changes nothing: 204 as well, with the same ETag.
    let r = app
        .scim(Method::PATCH, "quiet", &path, Some(add_bb.clone()))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers().get("etag").unwrap().to_str().unwrap(), etag);
    // A client asking for attributes gets them.
    let (st, g) = app
        .scim_json(
            Method::PATCH,
            "quiet",
            &format!("{path}?attributes=displayName"),
            Some(add_bb),
        )
        .await;
    assert_eq!((st, g["displayName"].as_str()), (200, Some("Quiet")), "{g}");
    assert!(g.get("members").is_none(), "{g}");
    // Users are not groups: their PATCH answers with the user.
    let (st, u) = patch_ops(
        &app,
        "quiet",
        &format!("/Users/{a}"),
        json!([
            {"op": "replace", "path": "displayName", "value": "Q A"}]),
    )
    .await;
    assert_eq!((st, u["displayName"].as_str()), (200, Some("Q A")));
    // The default target answers group PATCHes with the group.
    let uid = user(&app, "qc@corp.example").await;
    let (st, g) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Groups",
            Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Loud"})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, g) = patch_ops(
        &app,
        "t1",
        &format!("/Groups/{}", g["id"].as_str().unwrap()),
        json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
    )
    .await;
    assert_eq!((st, member_ids(&g)), (200, vec![uid]));
});

// A group of hundreds: its members go in and out in batched statements (a JSON array of
// ids per statement, `store/group_members.rs`), past the 500 ids of one existence check.
both!(a_group_of_hundreds_is_written_whole, |b| async move {
    let app = spawn_app(b).await;
    let mut ids = Vec::new();
    for k in 0..620 {
        ids.push(user(&app, &format!("many{k}@corp.example")).await);
    }
    let all: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let (s, g) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Groups",
            Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Many",
        "members": all[..600]})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(member_ids(&g).len(), 600);
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    // A PUT keeping 20..620: 20 removed, 20 added, the display of one changed.
    let mut kept: Vec<Value> = all[20..].to_vec();
    kept[0] = json!({"value": ids[20], "display": "renamed"});
    let (s, g) = app
        .scim_json(
            Method::PUT,
            "t1",
            &path,
            Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Many",
        "members": kept})),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    let mut want: Vec<String> = ids[20..].to_vec();
    want.sort();
    assert_eq!(member_ids(&g), want);
    let (_, read) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(member_ids(&read), want);
    let renamed: Vec<&Value> = read["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["display"] == "renamed")
        .collect();
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0]["value"], json!(ids[20]));
    // Entra removes 300 in one operation.
    let gone: Vec<Value> = ids[20..320].iter().map(|id| json!({"value": id})).collect();
    let (s, g) = patch_ops(
        &app,
        "t1",
        &path,
        json!([
        {"op": "Remove", "path": "members", "value": gone}]),
    )
    .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(member_ids(&g).len(), 300);
});

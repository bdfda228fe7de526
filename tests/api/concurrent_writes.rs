//! Writes of one resource: concurrent PATCHes and PUTs lose nothing, each answer is the
//! resource as that request wrote it, with its own version, and `If-Match` is checked by
//! the write itself.
//!
//! Entra ID sends a group's membership changes as separate PATCHes, and may send them in
//! parallel; two writers that both read version v must not both write over it.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::user_body;
use crate::helpers::*;

const WRITERS: usize = 8;
/// The attributes the first writers of one user replace, one each.
const ATTRS: [&str; 4] = ["title", "nickName", "profileUrl", "locale"];

fn patch(op: &str, path: &str, value: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": op, "path": path, "value": value}]})
}

/// The version in a response's ETag (`W/"7"`), checked against its body's `meta.version`.
async fn answer(r: reqwest::Response) -> (i64, Value) {
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().expect("etag").to_string();
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["meta"]["version"],
        json!(etag),
        "ETag and meta.version"
    );
    let v = etag
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .parse()
        .expect("a numeric version");
    (v, body)
}

/// Versions 2..=WRITERS+1, each exactly once: no two writes claimed the same version.
fn assert_each_version_once(versions: Vec<i64>) {
    let got: BTreeSet<i64> = versions.iter().copied().collect();
    let want: BTreeSet<i64> = (2..=WRITERS as i64 + 1).collect();
    assert_eq!(got, want, "versions answered: {versions:?}");
}

both!(parallel_patches_of_one_user_all_apply, |b| async move {
    let app = spawn_app(b).await;
    let id = app
        .create_id("t1", "/Users", user_body("par@corp.example"))
        .await;
    let path = format!("/Users/{id}");
    let answers = join_all((0..WRITERS).map(|i| {
        let (app, path) = (&app, &path);
        async move {
            // Four writers replace an attribute each, four add an email each.
            let body = match ATTRS.get(i) {
                Some(attr) => patch("replace", attr, json!(format!("v{i}"))),
                None => patch(
                    "add",
                    "emails",
                    json!([{"value": format!("e{i}@corp.example"), "type": "other"}]),
                ),
            };
            let r = app.scim(Method::PATCH, "t1", path, Some(body)).await;
            answer(r).await
        }
    }))
    .await;
    for (i, (_, body)) in answers.iter().enumerate() {
        if let Some(attr) = ATTRS.get(i) {
            assert_eq!(body[attr], json!(format!("v{i}")), "answer {i}: {body}");
        }
    }
    assert_each_version_once(answers.into_iter().map(|(v, _)| v).collect());
    let (_, now) = app.scim_json(Method::GET, "t1", &path, None).await;
    for (i, attr) in ATTRS.iter().enumerate() {
        assert_eq!(now[attr], json!(format!("v{i}")), "{attr} lost: {now}");
    }
    let emails: BTreeSet<&str> = now["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter_map(|e| e["value"].as_str())
        .collect();
    for i in ATTRS.len()..WRITERS {
        assert!(
            emails.contains(format!("e{i}@corp.example").as_str()),
            "email {i} lost: {now}"
        );
    }
    assert_eq!(
        now["meta"]["version"],
        json!(format!("W/\"{}\"", WRITERS + 1))
    );
});

both!(
    parallel_member_adds_to_one_group_all_apply,
    |b| async move {
        let app = spawn_app(b).await;
        let mut users = Vec::new();
        for i in 0..WRITERS {
            users.push(
                app.create_id("t1", "/Users", user_body(&format!("m{i}@corp.example")))
                    .await,
            );
        }
        let gid = app.create_id(
            "t1",
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Par"}),
        )
        .await;
        let path = format!("/Groups/{gid}");
        let answers = join_all(users.iter().map(|u| {
            let (app, path) = (&app, &path);
            async move {
                let body = patch("add", "members", json!([{"value": u}]));
                answer(app.scim(Method::PATCH, "t1", path, Some(body)).await).await
            }
        }))
        .await;
        for ((_, body), u) in answers.iter().zip(&users) {
            let has = body["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["value"] == json!(u)));
            assert!(has, "the answer holds the member it added: {body}");
        }
        assert_each_version_once(answers.into_iter().map(|(v, _)| v).collect());
        let (_, now) = app.scim_json(Method::GET, "t1", &path, None).await;
        let members: BTreeSet<&str> = now["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m["value"].as_str())
            .collect();
        let want: BTreeSet<&str> = users.iter().map(String::as_str).collect();
        assert_eq!(members, want, "every add applied: {now}");
    }
);

both!(parallel_puts_each_answer_their_own_write, |b| async move {
    let app = spawn_app(b).await;
    let id = app
        .create_id("t1", "/Users", user_body("put@corp.example"))
        .await;
    let path = format!("/Users/{id}");
    let answers = join_all((0..WRITERS).map(|i| {
        let (app, path) = (&app, &path);
        async move {
            let mut body = user_body("put@corp.example");
            body["displayName"] = json!(format!("writer {i}"));
            answer(app.scim(Method::PUT, "t1", path, Some(body)).await).await
        }
    }))
    .await;
    let mut by_version = std::collections::BTreeMap::new();
    for (i, (v, body)) in answers.iter().enumerate() {
        assert_eq!(
            body["displayName"],
            json!(format!("writer {i}")),
            "answer {i}: {body}"
        );
        by_version.insert(*v, i);
    }
    assert_each_version_once(answers.iter().map(|(v, _)| *v).collect());
    // The resource is the write with the highest version.
    let (_, now) = app.scim_json(Method::GET, "t1", &path, None).await;
    let last = by_version[&(WRITERS as i64 + 1)];
    assert_eq!(now["displayName"], json!(format!("writer {last}")), "{now}");
});

// `If-Match` on a PUT is checked in the write's own transaction: a version the resource
// no longer has is a 412 and changes nothing; the current one, a list holding it, or `*`
// is a write; a missing resource is a 404 whatever `If-Match` says.
both!(put_if_match_is_checked_by_the_write, |b| async move {
    let app = spawn_app(b).await;
    let id = app
        .create_id("t1", "/Users", user_body("ifm@corp.example"))
        .await;
    let path = format!("/Users/{id}");
    let put = |if_match: &'static str, name: &'static str, path: String| {
        let app = &app;
        async move {
            let mut body = user_body("ifm@corp.example");
            body["displayName"] = json!(name);
            app.scim_if_match(Method::PUT, "t1", &path, Some(if_match), Some(body))
                .await
        }
    };
    let r = put("W/\"1\"", "one", path.clone()).await;
    assert_eq!(answer(r).await.0, 2, "the current version");
    let r = put("W/\"1\"", "stale", path.clone()).await;
    let st = r.status().as_u16();
    let v: Value = r.json().await.expect("json");
    assert_scim_error(st, &v, 412, None);
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("W/\"2\"")),
        "{v}"
    );
    let r = put("W/\"1\", W/\"2\"", "listed", path.clone()).await;
    assert_eq!(answer(r).await.0, 3, "a list holding the current version");
    let r = put("W/\"1\", W/\"2\"", "listed again", path.clone()).await;
    assert_eq!(r.status(), 412, "a list without it");
    let r = put("*", "any", path.clone()).await;
    let (version, body) = answer(r).await;
    assert_eq!((version, &body["displayName"]), (4, &json!("any")));
    // A stale version is a 412 even when the write would also take another user's
    // userName; at the current version that is a 409.
    app.create_id("t1", "/Users", user_body("taken@corp.example"))
        .await;
    for (if_match, want) in [("W/\"1\"", 412), ("W/\"4\"", 409)] {
        let mut body = user_body("taken@corp.example");
        body["displayName"] = json!("taker");
        let r = app
            .scim_if_match(Method::PUT, "t1", &path, Some(if_match), Some(body))
            .await;
        let st = r.status().as_u16();
        let v: Value = r.json().await.expect("json");
        assert_scim_error(st, &v, want, None);
    }
    for if_match in ["*", "W/\"1\""] {
        let r = put(if_match, "gone", "/Users/no-such-id".into()).await;
        let st = r.status().as_u16();
        let v: Value = r.json().await.expect("json");
        assert_scim_error(st, &v, 404, None);
    }
    let (_, now) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(
        now["displayName"],
        json!("any"),
        "the refused PUTs changed nothing"
    );
});

// A PUT and a DELETE that both name version 1 in `If-Match`, sent together: one of them
// wins and the other is refused (412, or 404 for a PUT after the deletion). Both
// succeeding would mean the DELETE removed a version it never saw.
both!(
    put_and_delete_of_one_version_do_not_both_win,
    |b| async move {
        let app = spawn_app(b).await;
        for round in 0..WRITERS * 2 {
            let name = format!("pd{round}@corp.example");
            let path = format!(
                "/Users/{}",
                app.create_id("t1", "/Users", user_body(&name)).await
            );
            let mut body = user_body(&name);
            body["displayName"] = json!("written");
            let v1 = Some("W/\"1\"");
            let (put, delete) = tokio::join!(
                app.scim_if_match(Method::PUT, "t1", &path, v1, Some(body)),
                app.scim_if_match(Method::DELETE, "t1", &path, v1, None),
            );
            let got = (put.status().as_u16(), delete.status().as_u16());
            let (st, _) = app.scim_json(Method::GET, "t1", &path, None).await;
            match got {
                (200, 412) => assert_eq!(st, 200, "round {round}: the PUT won"),
                (404 | 412, 204) => assert_eq!(st, 404, "round {round}: the DELETE won"),
                other => panic!("round {round}: PUT and DELETE answered {other:?}"),
            }
        }
    }
);

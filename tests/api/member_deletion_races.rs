//! A user deleted while its groups are written: a group PATCH that read the group before
//! the deletion is not refused for a member it never named, and a member added while
//! it is deleted is never left in the group.
//!
//! Okta and Entra ID deprovision a user (DELETE) while they push membership changes of
//! the groups it was in (PATCH); the two arrive in parallel.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::user_body;
use crate::helpers::*;

const PAIRS: usize = 12;

fn add_member(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
}

/// Sends every request at once; each answer with the request it answers.
async fn all_at_once(
    app: &TestApp,
    reqs: Vec<(Method, String, Option<Value>)>,
) -> Vec<(String, u16, String)> {
    join_all(reqs.into_iter().map(|(m, path, body)| async move {
        let what = format!(
            "{m} {path} {}",
            body.as_ref().map(Value::to_string).unwrap_or_default()
        );
        let r = app.scim(m, "t1", &path, body).await;
        let st = r.status().as_u16();
        (what, st, r.text().await.unwrap_or_default())
    }))
    .await
}

async fn users(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..PAIRS {
        let name = format!("{prefix}{i}@corp.example");
        ids.push(app.create_id("t1", "/Users", user_body(&name)).await);
    }
    ids
}

async fn group(app: &TestApp, members: &[String]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "Race", "members": members});
    app.create_id("t1", "/Groups", body).await
}

async fn member_ids(app: &TestApp, gid: &str) -> (BTreeSet<String>, Value) {
    let (st, g) = app
        .scim_json(Method::GET, "t1", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(st, 200, "{g}");
    let ids = g["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (ids, g)
}

// Each PATCH adds a new member while the group's old members are deleted one by one.
// Every PATCH succeeds: a deletion committed after the PATCH read the group is a new
// version of the group, and the PATCH is applied again to it.
both!(
    group_patches_survive_the_deletion_of_other_members,
    |b| async move {
        let app = spawn_app(b).await;
        let old = users(&app, "old").await;
        let new = users(&app, "new").await;
        let gid = group(&app, &old).await;
        let path = format!("/Groups/{gid}");
        let reqs = old.iter().zip(&new).flat_map(|(o, n)| {
            [
                (Method::DELETE, format!("/Users/{o}"), None),
                (Method::PATCH, path.clone(), Some(add_member(n))),
            ]
        });
        for (what, st, body) in all_at_once(&app, reqs.collect()).await {
            let want = if what.starts_with("DELETE") { 204 } else { 200 };
            assert_eq!(st, want, "{what}: {body}");
        }
        let (members, g) = member_ids(&app, &gid).await;
        let want: BTreeSet<String> = new.iter().cloned().collect();
        assert_eq!(members, want, "the new members, none of the deleted: {g}");
        // The deletions changed the group's members, so they changed its version too.
        let v: i64 = g["meta"]["version"]
            .as_str()
            .and_then(|v| {
                v.trim_start_matches("W/\"")
                    .trim_end_matches('"')
                    .parse()
                    .ok()
            })
            .expect("a numeric version");
        assert_eq!(v, 1 + 2 * PAIRS as i64, "one version per write: {g}");
    }
);

// A user is deleted while a PATCH adds it to a group. Whichever commits first, no
// membership row names a user that no longer exists: the PATCH either added it before
// the deletion (which then removed it) or is refused with a 400. (Reads join members to
// their users, so a left-over row shows only in the table. SQLite's one writer orders
// the two whole transactions; Postgres ran them side by side.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_while_deleted_is_not_left_behind() {
    let url = fresh_pg_database().await;
    let mut spawn = Spawn::new(Backend::Postgres);
    spawn.database_url = Some(url.clone());
    let app = spawn_with(spawn).await;
    let doomed = users(&app, "doomed").await;
    let gid = group(&app, &[]).await;
    let path = format!("/Groups/{gid}");
    let reqs = doomed.iter().flat_map(|u| {
        [
            (Method::PATCH, path.clone(), Some(add_member(u))),
            (Method::DELETE, format!("/Users/{u}"), None),
        ]
    });
    for (what, st, body) in all_at_once(&app, reqs.collect()).await {
        let ok = if what.starts_with("DELETE") {
            st == 204
        } else {
            st == 200 || (st == 400 && body.contains("is not a user of this target"))
        };
        assert!(ok, "{what}: {st} {body}");
    }
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let left: Vec<String> = sqlx::query_scalar("SELECT member_id FROM scim_group_members")
        .fetch_all(&pool)
        .await
        .expect("membership rows");
    assert!(left.is_empty(), "deleted users left in the group: {left:?}");
}

//! Concurrent `PUT` and `PATCH` of users share one statement and one commit on Postgres
//! (`store/replace_batches.rs`). Each request must still be answered for its own write
//! only: its 200 carries the version its write made, no write is lost or applied twice,
//! two writes of one user in one batch both apply, and a stale `If-Match`, a taken
//! userName or an unknown id is that request's own 412, 409 or 404. On SQLite they share
//! one transaction on its one writer (`store/replace_batches_sqlite.rs`), with the same
//! answers.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

fn user(name: &str, display: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
           "userName": name, "displayName": display})
}

fn rename(display: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "displayName", "value": display}]})
}

const USERS: usize = 24;

/// One request of a burst: for which user (none: an unknown id), and what it must get
/// (`None`: its own write, 200).
struct Req {
    user: Option<usize>,
    method: Method,
    path: String,
    if_match: Option<&'static str>,
    body: Value,
    want: Option<u16>,
}

/// A burst: per user a PUT; every third also a second PUT and a PATCH (writes of one user
/// in flight together); every fifth a PUT with a stale If-Match; every seventh a PUT
/// taking another user's userName; and two PUTs of unknown ids.
fn burst(ids: &[String], n: usize) -> Vec<Req> {
    let mut reqs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/Users/{id}");
        let name = format!("rb{i}@corp.example");
        let mut req = |method: Method, if_match, body, want| {
            reqs.push(Req {
                user: Some(i),
                method,
                path: path.clone(),
                if_match,
                body,
                want,
            })
        };
        req(
            Method::PUT,
            None,
            user(&name, &format!("put {n}-{i}")),
            None,
        );
        if i % 3 == 0 {
            req(
                Method::PUT,
                None,
                user(&name, &format!("put again {n}-{i}")),
                None,
            );
            req(Method::PATCH, None, rename(&format!("patch {n}-{i}")), None);
        }
        if i % 5 == 0 {
            req(
                Method::PUT,
                Some("W/\"0\""),
                user(&name, "stale"),
                Some(412),
            );
        }
        if i % 7 == 0 {
            let taken = format!("RB{}@corp.example", (i + 1) % ids.len());
            req(Method::PUT, None, user(&taken, "taken"), Some(409));
        }
    }
    for k in 0..2 {
        let body = user("nobody@corp.example", "x");
        let path = format!("/Users/no-such-user-{k}");
        reqs.push(Req {
            user: None,
            method: Method::PUT,
            path,
            if_match: None,
            body,
            want: Some(404),
        });
    }
    reqs
}

both!(
    concurrent_replaces_each_answer_for_their_own_write,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        let mut ids = Vec::new();
        for i in 0..USERS {
            let name = format!("rb{i}@corp.example");
            ids.push(app.create_id("t1", "/Users", user(&name, "v1")).await);
        }
        let before = app.summary("scim_bridge_store_replace_batch_rows").await;
        let splits = app
            .metric("scim_bridge_store_replace_batch_split_total")
            .await;
        let mut version = [1i64; USERS];
        for n in 0..8 {
            let sends = burst(&ids, n);
            let answers = join_all(sends.iter().map(|r| {
                let app = Arc::clone(&app);
                async move {
                    let resp = app
                        .scim_if_match(
                            r.method.clone(),
                            "t1",
                            &r.path,
                            r.if_match,
                            Some(r.body.clone()),
                        )
                        .await;
                    let status = resp.status().as_u16();
                    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
                }
            }))
            .await;
            // user -> (version, displayName) of each write answered 200
            let mut written: HashMap<usize, Vec<(i64, String)>> = HashMap::new();
            for (r, (status, body)) in sends.iter().zip(&answers) {
                let Some(want) = r.want else {
                    assert_eq!(*status, 200, "{} {body}", r.method);
                    let v: i64 = body["meta"]["version"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("W/\"")
                        .trim_end_matches('"')
                        .parse()
                        .unwrap();
                    let d = body["displayName"].as_str().unwrap().to_string();
                    written.entry(r.user.unwrap()).or_default().push((v, d));
                    continue;
                };
                assert_eq!(*status, want, "{} {body}", r.method);
            }
            for (i, id) in ids.iter().enumerate() {
                // Each write got a version of its own, one after the other: none lost,
                // none applied twice.
                let mut got = written.remove(&i).unwrap_or_default();
                got.sort();
                let want: Vec<i64> = (1..=got.len() as i64).map(|k| version[i] + k).collect();
                assert_eq!(
                    got.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
                    want,
                    "user {i}: {got:?}"
                );
                version[i] += got.len() as i64;
                let (s, now) = app
                    .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
                    .await;
                assert_eq!(s, 200);
                assert_eq!(now["meta"]["version"], format!("W/\"{}\"", version[i]));
                let last = &got.last().unwrap().1;
                assert_eq!(now["displayName"].as_str(), Some(last.as_str()), "user {i}");
                assert_eq!(now["userName"], format!("rb{i}@corp.example"));
                // One history event per write, each naming its version.
                let (_, h) = app.admin_get(&format!("/admin/v1/mappings/t1/{id}")).await;
                let mut events: Vec<String> = h["history"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["kind"] == "scim")
                    .map(|e| e["message"].as_str().unwrap().to_string())
                    .collect();
                events.sort();
                let mut want: Vec<String> = (1..=version[i])
                    .map(|v| format!("accepted from the IdP (version {v})"))
                    .collect();
                want.sort();
                assert_eq!(events, want, "user {i}");
                assert_eq!(h["mapping"]["state"], "pending");
            }
            let q = app.store().queue_stats(i64::MAX).await.unwrap();
            assert_eq!(
                q.iter().map(|s| s.depth).sum::<i64>(),
                USERS as i64,
                "one job per user"
            );
            let (rows, statements) = {
                let after = app.summary("scim_bridge_store_replace_batch_rows").await;
                (after.0 - before.0, after.1 - before.1)
            };
            let split = app
                .metric("scim_bridge_store_replace_batch_split_total")
                .await
                > splits;
            // Go on until writes have shared statements (SQLite: transactions) and, on
            // Postgres, a taken userName has broken one (then each of its rows ran alone).
            if rows > statements && (b == Backend::Sqlite || split) {
                return;
            }
        }
        panic!("in 8 bursts no replace shared a statement (Postgres: with a taken userName)");
    }
);

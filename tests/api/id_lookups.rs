//! `GET /{Users,Groups}/{id}` goes through `Store::get_listed_resource` (on Postgres
//! concurrent reads by id share one query). Answers must be what the tree renderer shows,
//! for the right resource, and fresh: a read sent after a write sees it. A U+0000 in a
//! path or an admin request is a client's mistake: never a 500, never a failed batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::user_body;
use crate::helpers::*;

async fn post_user(app: &TestApp, name: &str) -> String {
    let (st, u) = app
        .scim_json(Method::POST, "t1", "/Users", Some(user_body(name)))
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

both!(
    concurrent_gets_by_id_answer_each_their_own,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(post_user(&app, &format!("byid{i}@corp.example")).await);
        }
        let mut groups = Vec::new();
        for (g, members) in [("Eng", &ids[0..5]), ("Ops", &ids[3..8])] {
            let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                          "displayName": g, "members": members});
            let (st, v) = app
                .scim_json(Method::POST, "t1", "/Groups", Some(body))
                .await;
            assert_eq!(st, 201, "{v}");
            groups.push(v["id"].as_str().unwrap().to_string());
        }
        // (target, path, expected status): users and groups, ids of no resource, a user's id
        // as a group's, another target's token, and ids Postgres could not bind (U+0000).
        let mut asks: Vec<(&str, String, u16)> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            asks.push(("t1", format!("/Users/{id}"), 200));
            asks.push(("t1", format!("/Users/missing-{i}"), 404));
            asks.push(("t2", format!("/Users/{id}"), 404));
            asks.push(("t1", format!("/Groups/{id}"), 404));
            asks.push(("t1", format!("/Groups/{}", groups[i % 2]), 200));
            asks.push(("t1", format!("/Users/a%00{i}"), 404));
        }
        let asks: Vec<_> = asks.iter().cycle().take(360).cloned().collect();
        let answers = join_all(asks.iter().map(|(target, path, _)| {
            let app = app.clone();
            async move {
                let tree = format!("{path}?excludedAttributes=noSuchAttribute");
                tokio::join!(
                    app.scim_json(Method::GET, target, path, None),
                    app.scim_json(Method::GET, target, &tree, None)
                )
            }
        }))
        .await;
        for ((target, path, want), ((sa, a), (sb, b))) in asks.iter().zip(answers) {
            assert_eq!((sa, sb), (*want, *want), "{target} {path}: {a} / {b}");
            if *want == 200 {
                assert_eq!(a, b, "{path}: as stored, and as a tree");
                assert!(path.ends_with(a["id"].as_str().unwrap()), "{path}: {a}");
            } else {
                assert_scim_error(sa, &a, 404, None);
            }
        }
        // The membership was read: users 3 and 4 are in both groups, 0 in one.
        let (_, u) = app
            .scim_json(Method::GET, "t1", &format!("/Users/{}", ids[4]), None)
            .await;
        assert_eq!(u["groups"].as_array().unwrap().len(), 2, "{u}");
        let (_, g) = app
            .scim_json(Method::GET, "t1", &format!("/Groups/{}", groups[0]), None)
            .await;
        assert_eq!(g["members"].as_array().unwrap().len(), 5, "{g}");
    }
);

both!(
    a_get_by_id_sees_the_write_committed_before_it,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        let mut busy = Vec::new();
        for i in 0..10 {
            busy.push(post_user(&app, &format!("busyid{i}@corp.example")).await);
        }
        let busy = Arc::new(busy);
        // Other reads keep batches forming while the checks run.
        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = (0..8)
            .map(|w| {
                let (app, stop, busy) = (app.clone(), stop.clone(), busy.clone());
                tokio::spawn(async move {
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let id = &busy[(w + n) % busy.len()];
                        let (st, v) = app
                            .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
                            .await;
                        assert_eq!((st, v["id"].as_str()), (200, Some(id.as_str())), "{v}");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for i in 0..20 {
            let id = post_user(&app, &format!("freshid{i}@corp.example")).await;
            let path = format!("/Users/{id}");
            let mut body = user_body(&format!("freshid{i}@corp.example"));
            body["title"] = json!(format!("title {i}"));
            let (st, put) = app.scim_json(Method::PUT, "t1", &path, Some(body)).await;
            assert_eq!(st, 200, "{put}");
            let (st, after) = app.scim_json(Method::GET, "t1", &path, None).await;
            assert_eq!(st, 200);
            assert_eq!(after["title"], json!(format!("title {i}")), "{after}");
            assert_eq!(after["meta"]["version"], put["meta"]["version"], "{after}");
            let r = app.scim(Method::DELETE, "t1", &path, None).await;
            assert_eq!(r.status(), 204);
            let (st, gone) = app.scim_json(Method::GET, "t1", &path, None).await;
            assert_scim_error(st, &gone, 404, None);
        }
        stop.store(true, Ordering::Relaxed);
        let reads: usize = join_all(load).await.into_iter().map(|n| n.unwrap()).sum();
        assert!(reads > 0);
    }
);

both!(
    a_nul_in_a_path_or_an_admin_body_is_refused,
    |b| async move {
        let app = spawn_app(b).await;
        let id = post_user(&app, "nul@corp.example").await;
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Nul"});
        let user_id = format!("/Users/{id}%00");
        for (path, put) in [
            ("/Users/%00", user_body("nul2@corp.example")),
            (user_id.as_str(), user_body("nul2@corp.example")),
            ("/Groups/a%00b", group),
        ] {
            for (method, body) in [
                (Method::GET, None),
                (Method::PUT, Some(put.clone())),
                (Method::PATCH, Some(patch.clone())),
                (Method::DELETE, None),
            ] {
                let (st, v) = app.scim_json(method.clone(), "t1", path, body).await;
                assert_scim_error(st, &v, 404, None);
            }
        }
        // The admin API: in a path, a query and a body. SQLite takes the NUL and finds nothing;
        // Postgres cannot bind it: a 400 (`StoreError::Invalid`), never a 500.
        for path in [
            "/admin/v1/mappings/t1/%00",
            "/admin/v1/lookup/a%00b",
            "/admin/v1/mappings?target=t1%00",
        ] {
            let (st, v) = app.admin_get(path).await;
            assert!(matches!(st, 200 | 400 | 404), "{path}: {st} {v}");
            if st == 400 {
                assert_scim_error(st, &v, 400, Some("invalidValue"));
            }
        }
        let r = app
            .client
            .post(format!("{}/admin/v1/retry", app.base))
            .bearer_auth(&app.admin_token)
            .json(&json!({"target": "t1", "resource_id": "a\u{0}b"}))
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        match b {
            Backend::Postgres => assert_scim_error(st, &v, 400, Some("invalidValue")),
            Backend::Sqlite => assert_eq!(st, 200, "{v}"),
        }
        // The user is untouched.
        let (st, u) = app
            .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
            .await;
        assert_eq!(
            (st, u["userName"].as_str()),
            (200, Some("nul@corp.example"))
        );
    }
);

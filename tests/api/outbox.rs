//! The outbox: an accepted write and its sync job commit together; the mapping shows pending.

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::*;

both!(write_commits_job_and_pending_mapping, |b| async move {
    let app = spawn_app(b).await;
    let (s, u) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "outbox@corp.example"
    }))).await;
    assert_eq!(s, 201);
    let id = u["id"].as_str().unwrap();
    let q = app.store().queue_stats(i64::MAX).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].target.as_str(), q[0].depth), ("t1", 1));
    let m = app
        .store()
        .get_mapping("t1", "User", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.state, "pending");
    assert_eq!(m.scim_key.as_deref(), Some("outbox@corp.example"));
    // Several writes coalesce into one job.
    for n in ["A", "B", "C"] {
        let (s, _) = app
            .scim_json(
                Method::PATCH,
                "t1",
                &format!("/Users/{id}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": n}]
                })),
            )
            .await;
        assert_eq!(s, 200);
    }
    let q = app.store().queue_stats(i64::MAX).await.unwrap();
    assert_eq!(q[0].depth, 1, "writes to one resource coalesce");
    // The admin API shows it; a SCIM token cannot read it.
    let (s, body) = app.admin_get(&format!("/admin/v1/mappings/t1/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(body["mapping"]["state"], "pending");
    assert!(body["history"].as_array().unwrap().len() >= 4, "{body}");
    let r = app
        .client
        .get(format!("{}/admin/v1/mappings", app.base))
        .bearer_auth(&app.tokens["t1"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
});

// Postgres writes a create without members as one statement and a create with members in a
// transaction; both must leave the same rows, and a refused create must leave none.
both!(create_paths_write_the_same_outbox_rows, |b| async move {
    let app = spawn_app(b).await;
    let (s, u) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "one@corp.example"
    }))).await;
    assert_eq!(s, 201);
    let uid = u["id"].as_str().unwrap().to_string();
    let (s, g) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops",
                "members": [{"value": uid}]
            })),
        )
        .await;
    assert_eq!(s, 201);
    let gid = g["id"].as_str().unwrap().to_string();
    for (rt, id, key) in [("User", &uid, "one@corp.example"), ("Group", &gid, "Ops")] {
        let m = app
            .store()
            .get_mapping("t1", rt, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.state.as_str(), m.scim_key.as_deref()),
            ("pending", Some(key))
        );
        let (s, body) = app.admin_get(&format!("/admin/v1/mappings/t1/{id}")).await;
        assert_eq!(s, 200);
        let first = &body["history"].as_array().unwrap()[0];
        assert_eq!(first["kind"], "scim", "{body}");
        assert_eq!(first["method"], "POST", "{body}");
        assert_eq!(
            first["message"], "accepted from the IdP (version 1)",
            "{body}"
        );
    }
    // user job (coalesced with the membership re-queue) + group job
    let q = app.store().queue_stats(i64::MAX).await.unwrap();
    assert_eq!(q[0].depth, 2);
    // A refused create (userName taken, any case) writes nothing.
    let (s, e) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ONE@corp.example"
    }))).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["scimType"], "uniqueness");
    let q = app.store().queue_stats(i64::MAX).await.unwrap();
    assert_eq!(q[0].depth, 2, "a refused create enqueues nothing");
    let (_, list) = app.admin_get("/admin/v1/mappings?target=t1").await;
    assert_eq!(list["mappings"].as_array().map(Vec::len), Some(2), "{list}");
});

// Postgres writes a user's PUT or PATCH as one statement and a group's in a transaction;
// both must leave the same rows, and a refused replace must leave none.
both!(replace_paths_write_the_same_outbox_rows, |b| async move {
    let app = spawn_app(b).await;
    let user = |name: &str, display: &str| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
               "userName": name, "displayName": display})
    };
    let uid = app
        .create_id("t1", "/Users", user("two@corp.example", "Two"))
        .await;
    app.create_id("t1", "/Users", user("taken@corp.example", "T"))
        .await;
    let group = |name: &str| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
               "members": [{"value": uid}]})
    };
    let gid = app.create_id("t1", "/Groups", group("Ops")).await;
    let (s, u) = app
        .scim_json(
            Method::PUT,
            "t1",
            &format!("/Users/{uid}"),
            Some(user("two@corp.example", "Two Renamed")),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["meta"]["version"], "W/\"2\"");
    let (s, g) = app
        .scim_json(
            Method::PUT,
            "t1",
            &format!("/Groups/{gid}"),
            Some(group("Ops Renamed")),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "Two Patched"}]});
    let (s, u) = app
        .scim_json(Method::PATCH, "t1", &format!("/Users/{uid}"), Some(patch))
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["meta"]["version"], "W/\"3\"");
    let history = |id: String| {
        let app = &app;
        async move {
            let (s, body) = app.admin_get(&format!("/admin/v1/mappings/t1/{id}")).await;
            assert_eq!(s, 200);
            let mut events: Vec<(String, String)> = body["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "scim")
                .map(|e| {
                    (
                        e["method"].as_str().unwrap().into(),
                        e["message"].as_str().unwrap().into(),
                    )
                })
                .collect();
            events.sort_by(|a, b| a.1.cmp(&b.1));
            (body["mapping"].clone(), events)
        }
    };
    let accepted = |m: &str, v: u32| {
        (
            m.to_string(),
            format!("accepted from the IdP (version {v})"),
        )
    };
    let (m, events) = history(uid.clone()).await;
    assert_eq!(
        (m["state"].as_str(), m["scim_key"].as_str()),
        (Some("pending"), Some("Two Patched")),
        "{m}"
    );
    assert_eq!(
        events,
        vec![
            accepted("POST", 1),
            accepted("PUT", 2),
            accepted("PATCH", 3)
        ]
    );
    let (m, events) = history(gid.clone()).await;
    assert_eq!(
        (m["state"].as_str(), m["scim_key"].as_str()),
        (Some("pending"), Some("Ops Renamed")),
        "{m}"
    );
    assert_eq!(events, vec![accepted("POST", 1), accepted("PUT", 2)]);
    // One job per resource (two users, one group): the writes coalesced into them.
    let q = app.store().queue_stats(i64::MAX).await.unwrap();
    assert_eq!(q[0].depth, 3);
    // Refused replaces write nothing: a taken userName (409), a stale If-Match (412, also
    // when the userName is taken), an unknown id (404).
    let path = format!("/Users/{uid}");
    let (s, e) = app
        .scim_json(
            Method::PUT,
            "t1",
            &path,
            Some(user("TAKEN@corp.example", "X")),
        )
        .await;
    assert_eq!(
        (s, e["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{e}"
    );
    for name in ["TAKEN@corp.example", "two@corp.example"] {
        let r = app
            .scim_if_match(
                Method::PUT,
                "t1",
                &path,
                Some("W/\"2\""),
                Some(user(name, "X")),
            )
            .await;
        assert_eq!(r.status(), 412, "{name}");
    }
    let (s, _) = app
        .scim_json(
            Method::PUT,
            "t1",
            "/Users/no-such-user",
            Some(user("n@corp.example", "N")),
        )
        .await;
    assert_eq!(s, 404);
    let (_, after) = history(uid.clone()).await;
    assert_eq!(after.len(), 3, "{after:?}");
    let (s, u) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(
        (s, u["displayName"].as_str(), u["meta"]["version"].as_str()),
        (200, Some("Two Patched"), Some("W/\"3\""))
    );
});

// A claim from some targets only (the workers' fair share, `sync::share`) takes their oldest
// due jobs, however many older jobs other targets have queued, and two claims at once never
// lease one job twice (Postgres: `SKIP LOCKED` in each target's branch).
both!(claims_from_some_targets_take_theirs_once, |b| async move {
    let app = spawn_app(b).await;
    let store = app.store();
    for i in 0..200 {
        store
            .enqueue("busy", "User", &format!("b{i:03}"), 1_000 + i)
            .await
            .unwrap();
    }
    for i in 0..20 {
        store
            .enqueue("quiet", "User", &format!("q{i:02}"), 5_000 + i)
            .await
            .unwrap();
    }
    let only = |t: &str| vec![t.to_string()];
    let claim = |w: &'static str, targets: Vec<String>| async move {
        let jobs = store
            .claim_jobs_of(w, &targets, 5, 10_000, 60_000)
            .await
            .unwrap();
        jobs.into_iter().map(|j| j.resource_id).collect::<Vec<_>>()
    };
    let (a, b2) = tokio::join!(claim("w1", only("quiet")), claim("w2", only("quiet")));
    let mut both_ids: Vec<String> = a.iter().chain(&b2).cloned().collect();
    both_ids.sort();
    let want: Vec<String> = (0..10).map(|i| format!("q{i:02}")).collect();
    assert_eq!(both_ids, want, "{a:?} {b2:?}");
    let mixed = claim("w3", vec!["quiet".into(), "busy".into()]).await;
    assert_eq!(mixed, ["b000", "b001", "b002", "b003", "b004"]);
    assert!(claim("w4", only("absent")).await.is_empty());
});

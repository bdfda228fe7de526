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

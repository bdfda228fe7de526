//! Several processes and workers on one database: no job done twice, no deadlock.

use std::time::Duration;

use reqwest::Method;
use scim_bridge::sim::contrast::ContrastSim;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_never_do_a_job_twice() {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let db = fresh_pg_database().await;
    let mk = |db: String| {
        let mut s = Spawn::new(Backend::Postgres);
        s.background = true;
        s.database_url = Some(db);
        s.extra_tokens = vec!["c".into()];
        s.extra_toml = contrast_toml("c", &server.base_url(), "max_concurrency = 8");
        s
    };
    let a = spawn_with(mk(db.clone())).await;
    let b = spawn_with(mk(db)).await;
    let n = 100;
    for i in 0..n {
        let app = if i % 2 == 0 { &a } else { &b };
        let (st, _) = app
            .scim_json(
                Method::POST,
                "c",
                "/Users",
                Some(user_body(&format!("r{i}@corp.example"))),
            )
            .await;
        assert_eq!(st, 201);
    }
    assert!(converged(&a, "c", Duration::from_secs(60)).await);
    let posts = sim
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST")
        .count();
    assert_eq!(posts, n, "each user created by exactly one process, once");
    assert_eq!(sim.users().len(), n);
    a.app.shutdown.cancel();
    b.app.shutdown.cancel();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_and_workers_never_deadlock_into_a_500() {
    // Regression: SCIM writes lock job then mapping; finishing a job used to lock mapping then
    // job, and Postgres broke the cycle with "deadlock detected" → 500.
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(Backend::Postgres);
    s.background = true;
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml(
        "c",
        &server.base_url(),
        "groups = { Developers = \"g-1\" }\nmax_concurrency = 8",
    );
    let app = spawn_with(s).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let (_, u) = app
            .scim_json(
                Method::POST,
                "c",
                "/Users",
                Some(user_body(&format!("d{i}@corp.example"))),
            )
            .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let members: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    let (_, g) = app.scim_json(Method::POST, "c", "/Groups", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Developers", "members": members}))).await;
    let gid = g["id"].as_str().unwrap().to_string();
    let mut statuses = Vec::new();
    for round in 0..6 {
        let reqs = (0..8).map(|i| {
            let app = &app;
            let (gid, ids) = (&gid, &ids);
            async move {
                if i % 2 == 0 {
                    let keep: Vec<Value> = ids.iter().skip((i + round) % 3).map(|x| json!({"value": x})).collect();
                    app.scim_json(Method::PATCH, "c", &format!("/Groups/{gid}"), Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "members", "value": keep}]}))).await.0
                } else {
                    app.scim_json(Method::PATCH, "c", &format!("/Users/{}", ids[i]), Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "displayName", "value": format!("r{round}")}]}))).await.0
                }
            }
        });
        statuses.extend(futures::future::join_all(reqs).await);
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "no 500 under contention: {statuses:?}"
    );
    assert!(converged(&app, "c", Duration::from_secs(60)).await);
    app.app.shutdown.cancel();
    server.shutdown().await;
}

//! The delivery engine end to end, against the vendor simulators over real HTTP.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use scim_bridge::sim::Faults;
use scim_bridge::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig};
use scim_bridge::sim::contrast::{BASE_PATH, ContrastSim};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

pub fn contrast_toml(name: &str, sim_base: &str, extra: &str) -> String {
    let c = ContrastSim::default();
    let cfg = c.config();
    format!(
        "[targets.{name}]\nkind = \"contrast\"\ntoken_sha256 = [\"{{token:{name}}}\"]\nbase_url = \"{sim_base}{BASE_PATH}\"\n\
         org_uuid = \"{}\"\nusername = \"{}\"\nservice_key = \"{}\"\napi_key = \"{}\"\n{extra}\n",
        cfg.org_uuid, cfg.username, cfg.service_key, cfg.api_key
    )
}

pub fn carbon_black_toml(name: &str, sim_base: &str, extra: &str) -> String {
    let c = CarbonBlackSimConfig::default();
    format!(
        "[targets.{name}]\nkind = \"carbon_black\"\ntoken_sha256 = [\"{{token:{name}}}\"]\nbase_url = \"{sim_base}\"\n\
         org_key = \"{}\"\napi_id = \"{}\"\napi_secret = \"{}\"\n{extra}\n",
        c.org_key, c.api_id, c.api_secret
    )
}

pub fn user_body(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "name": {"givenName": "Given", "familyName": "Family"},
           "emails": [{"value": name, "primary": true, "type": "work"}], "active": true})
}

pub fn active_patch(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "value": {"active": active}}]})
}

pub async fn drain(app: &TestApp) -> usize {
    app.app.engine.run_until_idle(10_000).await.expect("engine")
}

async fn mapping(
    app: &TestApp,
    target: &str,
    rt: &str,
    id: &str,
) -> scim_bridge::store::mappings::MappingRow {
    app.store()
        .get_mapping(target, rt, id)
        .await
        .unwrap()
        .expect("mapping row")
}

/// Waits (bounded) until no mapping of `target` is pending or retrying.
pub async fn converged(app: &TestApp, target: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = app.store().mapping_counts().await.unwrap();
        let busy = counts
            .iter()
            .any(|(t, s, n)| t == target && (s == "pending" || s == "retrying") && *n > 0);
        let queue = app
            .store()
            .queue_stats(i64::MAX)
            .await
            .unwrap()
            .iter()
            .any(|q| q.target == target && q.depth > 0);
        if !busy && !queue {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

both!(contrast_lifecycle, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "groups = { Developers = \"g-1\" }");
    let app = spawn_with(s).await;

    let (st, u) = app
        .scim_json(
            Method::POST,
            "c",
            "/Users",
            Some(user_body("jane@corp.example")),
        )
        .await;
    assert_eq!(st, 201);
    let id = u["id"].as_str().unwrap().to_string();
    assert!(
        sim.users().is_empty(),
        "the IdP's answer does not wait on the vendor"
    );
    drain(&app).await;
    let vu = sim
        .user_by_username("jane@corp.example")
        .expect("invited at Contrast");
    assert_eq!(
        (
            vu.first_name.as_str(),
            vu.last_name.as_str(),
            vu.role.as_str(),
            vu.enabled
        ),
        ("Given", "Family", "ROLE_VIEW", true)
    );
    let m = mapping(&app, "c", "User", &id).await;
    assert_eq!(m.state, "synced");
    assert_eq!(m.vendor_id.as_deref(), Some(vu.user_id.as_str()));
    assert_eq!(m.last_error, None);

    // Attribute change → PUT; deactivate → enabled false; reactivate → true.
    let (st, _) = app
        .scim_json(
            Method::PATCH,
            "c",
            &format!("/Users/{id}"),
            Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": "Smith"}]})),
        )
        .await;
    assert_eq!(st, 200);
    drain(&app).await;
    assert_eq!(sim.user(&vu.user_id).unwrap().last_name, "Smith");
    app.scim_json(
        Method::PATCH,
        "c",
        &format!("/Users/{id}"),
        Some(active_patch(false)),
    )
    .await;
    drain(&app).await;
    assert!(!sim.user(&vu.user_id).unwrap().enabled);
    assert_eq!(mapping(&app, "c", "User", &id).await.state, "deprovisioned");
    app.scim_json(
        Method::PATCH,
        "c",
        &format!("/Users/{id}"),
        Some(active_patch(true)),
    )
    .await;
    drain(&app).await;
    assert!(sim.user(&vu.user_id).unwrap().enabled);

    // A group mapped to g-1: the whole member list is PUT.
    let (_, u2) = app
        .scim_json(
            Method::POST,
            "c",
            "/Users",
            Some(user_body("bob@corp.example")),
        )
        .await;
    let id2 = u2["id"].as_str().unwrap().to_string();
    let (st, g) = app
        .scim_json(
            Method::POST,
            "c",
            "/Groups",
            Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Developers",
        "members": [{"value": id}, {"value": id2}]})),
        )
        .await;
    assert_eq!(st, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    drain(&app).await;
    let bob = sim
        .user_by_username("bob@corp.example")
        .expect("bob invited");
    let mut want = vec![vu.user_id.clone(), bob.user_id.clone()];
    want.sort();
    let mut got = sim.group_members("g-1");
    got.sort();
    assert_eq!(got, want, "whole member list PUT once both members exist");
    let puts: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/groups/g-1/users"))
        .collect();
    assert!(!puts.is_empty());
    assert_eq!(
        mapping(&app, "c", "Group", &gid).await.vendor_id.as_deref(),
        Some("g-1")
    );

    // An unmapped group is shown as such, with no vendor call.
    let (_, g2) = app.scim_json(Method::POST, "c", "/Groups", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Nobody Maps Me"}))).await;
    drain(&app).await;
    assert_eq!(
        mapping(&app, "c", "Group", g2["id"].as_str().unwrap())
            .await
            .state,
        "unmapped"
    );

    // userName change cannot be applied: a clear failed state, nothing called.
    let (st, _) = app
        .scim_json(
            Method::PATCH,
            "c",
            &format!("/Users/{id2}"),
            Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "robert@corp.example"}]})),
        )
        .await;
    assert_eq!(st, 200);
    drain(&app).await;
    let m = mapping(&app, "c", "User", &id2).await;
    assert_eq!(m.state, "failed");
    assert!(
        m.last_error
            .unwrap_or_default()
            .to_lowercase()
            .contains("immutable")
    );

    // SCIM DELETE disables (on_delete default) and the group re-PUT drops the member.
    assert_eq!(
        app.scim(Method::DELETE, "c", &format!("/Users/{id}"), None)
            .await
            .status(),
        204
    );
    drain(&app).await;
    assert!(
        !sim.user(&vu.user_id).unwrap().enabled,
        "disabled, not deleted"
    );
    assert!(!sim.group_members("g-1").contains(&vu.user_id));

    // History: every vendor call is recorded, no secret anywhere.
    let hist = app.store().history("c", &id, 500).await.unwrap();
    assert!(
        hist.iter()
            .any(|h| h.kind == "call" && h.method.as_deref() == Some("POST"))
    );
    let text = format!("{hist:?}");
    for secret in ["svc-key", "api-key"] {
        assert!(
            !text.contains(secret),
            "secret {secret} leaked into history"
        );
    }
    server.shutdown().await;
});

both!(
    contrast_converges_under_chaos_without_duplicates,
    |b| async move {
        let sim = ContrastSim::default();
        sim.set_faults(Faults {
            error_rate: 0.3,
            rate_limit_per_sec: Some(40.0),
            rate_limit_burst: Some(10),
            missing_user_id_rate: 0.2,
            apply_then_fail_rate: 0.1,
            seed: Some(7),
            ..Faults::default()
        });
        let server = sim.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.background = true;
        s.extra_tokens = vec!["c".into()];
        s.extra_toml = contrast_toml(
            "c",
            &server.base_url(),
            "rate_limit_per_sec = 30.0\nmax_concurrency = 4",
        );
        let app = spawn_with(s).await;
        let n = 200;
        for i in 0..n {
            let (st, _) = app
                .scim_json(
                    Method::POST,
                    "c",
                    "/Users",
                    Some(user_body(&format!("u{i}@corp.example"))),
                )
                .await;
            assert_eq!(st, 201);
        }
        if !converged(&app, "c", Duration::from_secs(300)).await {
            let (_, rows) = app
                .store()
                .list_mappings(&scim_bridge::store::mappings::MappingFilter {
                    target: Some("c".into()),
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            let stuck: Vec<_> = rows
                .iter()
                .filter(|r| r.state != "synced")
                .take(5)
                .collect();
            panic!(
                "did not converge; queue {:?}; e.g. {stuck:#?}",
                app.store().queue_stats(i64::MAX).await.unwrap()
            );
        }
        let users = sim.users();
        let names: HashSet<String> = users.iter().map(|u| u.username.to_lowercase()).collect();
        assert_eq!(users.len(), n, "zero duplicate Contrast accounts");
        assert_eq!(names.len(), n);
        let (total, rows) = app
            .store()
            .list_mappings(&scim_bridge::store::mappings::MappingFilter {
                target: Some("c".into()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(total as usize, n);
        assert!(
            rows.iter()
                .all(|r| r.state == "synced" && r.vendor_id.is_some()),
            "all synced"
        );
        // The failures were visible along the way, with their reasons.
        let retried = rows
            .iter()
            .find(|r| r.attempts == 0)
            .map(|r| r.resource_id.clone())
            .unwrap();
        let _ = retried;
        let calls = sim.calls();
        assert!(
            calls.iter().any(|c| c.status >= 500),
            "faults were injected"
        );
        assert!(calls.iter().any(|c| c.status == 429), "rate limit was hit");
        app.app.shutdown.cancel();
        server.shutdown().await;
    }
);

both!(
    crash_between_vendor_create_and_mapping_never_duplicates,
    |b| async move {
        // Every create is applied at the vendor and then answered 500: the bridge cannot know
        // the id, retries, finds the account by username and adopts it.
        let sim = ContrastSim::default();
        sim.set_faults(Faults {
            apply_then_fail_rate: 1.0,
            ..Faults::default()
        });
        let server = sim.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.extra_tokens = vec!["c".into()];
        s.extra_toml = contrast_toml("c", &server.base_url(), "");
        let app = spawn_with(s).await;
        let (_, u) = app
            .scim_json(
                Method::POST,
                "c",
                "/Users",
                Some(user_body("crash@corp.example")),
            )
            .await;
        let id = u["id"].as_str().unwrap().to_string();
        app.app.engine.run_one("w").await.unwrap();
        let m = mapping(&app, "c", "User", &id).await;
        assert_eq!(m.state, "retrying", "first attempt failed visibly");
        assert!(m.last_error.is_some());
        assert_eq!(sim.users().len(), 1, "the vendor did create the account");
        sim.set_faults(Faults::default());
        // Make the retry due now.
        app.store()
            .retry_mappings(Some("c"), Some(&id), "test", 0)
            .await
            .unwrap();
        drain(&app).await;
        assert_eq!(sim.users().len(), 1, "adopted, not created twice");
        let m = mapping(&app, "c", "User", &id).await;
        assert_eq!(m.state, "synced");
        assert_eq!(
            m.vendor_id.as_deref(),
            sim.users().first().map(|u| u.user_id.as_str())
        );
        server.shutdown().await;
    }
);

both!(expired_lease_is_taken_over, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "");
    let app = spawn_with(s).await;
    app.scim_json(
        Method::POST,
        "c",
        "/Users",
        Some(user_body("lease@corp.example")),
    )
    .await;
    // A worker claims the job and dies (never finishes).
    let now = chrono::Utc::now().timestamp_millis();
    let claimed = app
        .store()
        .claim_jobs("dead-worker", 10, now, 2_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        drain(&app).await,
        0,
        "leased job is not taken while the lease holds"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(drain(&app).await, 1, "taken over after the lease expired");
    assert_eq!(sim.users().len(), 1);
    // The dead worker cannot finish it any more.
    let r = scim_bridge::store::jobs::JobResult::Failed { error: "x".into() };
    assert!(
        !app.store()
            .finish_job("dead-worker", &claimed[0], &[], &r, now)
            .await
            .unwrap()
    );
    server.shutdown().await;
});

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

both!(carbon_black_lifecycle, |b| async move {
    let sim = CarbonBlackSim::new(CarbonBlackSimConfig::default());
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["cb".into()];
    s.extra_toml = carbon_black_toml(
        "cb",
        &server.base_url(),
        "group_roles = { \"SOC Leads\" = \"ADMINISTRATOR\", Analysts = \"ANALYST\" }",
    );
    let app = spawn_with(s).await;
    let (_, u) = app
        .scim_json(
            Method::POST,
            "cb",
            "/Users",
            Some(user_body("ana@corp.example")),
        )
        .await;
    let id = u["id"].as_str().unwrap().to_string();
    drain(&app).await;
    let cu = sim
        .user_by_login("ana@corp.example")
        .expect("created at Carbon Black");
    assert_eq!(cu.role, "READ_ONLY_ANALYST");
    let m = mapping(&app, "cb", "User", &id).await;
    assert_eq!(m.vendor_id, Some(cu.user_id.to_string()));
    assert_eq!(m.vendor_status.as_deref(), Some("PENDING_ACTIVATION"));
    // Role by group.
    let (st, _) = app.scim_json(Method::POST, "cb", "/Groups", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Analysts", "members": [{"value": id}]}))).await;
    assert_eq!(st, 201);
    drain(&app).await;
    assert_eq!(sim.user(cu.user_id).unwrap().role, "ANALYST");
    // Deactivate: her API keys are revoked, then she is deleted.
    let k1 = sim.add_key("ana@corp.example", "laptop");
    let k2 = sim.add_key("ana@corp.example", "script");
    let other = sim.add_key("owner@example.com", "owner's");
    app.scim_json(
        Method::PATCH,
        "cb",
        &format!("/Users/{id}"),
        Some(active_patch(false)),
    )
    .await;
    drain(&app).await;
    assert!(sim.user(cu.user_id).is_none(), "deleted");
    let keys = sim.keys();
    for k in [&k1, &k2] {
        let now = keys.iter().find(|x| x.id == k.id);
        assert!(
            now.is_none()
                || format!("{:?}", now.unwrap().status)
                    .to_uppercase()
                    .contains("DISABLED"),
            "key {} revoked",
            k.id
        );
    }
    assert!(
        keys.iter().any(|x| x.id == other.id),
        "other users' keys untouched"
    );
    let m = mapping(&app, "cb", "User", &id).await;
    assert_eq!(m.state, "deprovisioned");
    let hist = format!("{:?}", app.store().history("cb", &id, 200).await.unwrap());
    assert!(
        hist.contains(&k1.id) && hist.contains(&k2.id),
        "history names each revoked key: {hist}"
    );
    // Reactivate: a new user id; history keeps the old.
    app.scim_json(
        Method::PATCH,
        "cb",
        &format!("/Users/{id}"),
        Some(active_patch(true)),
    )
    .await;
    drain(&app).await;
    let again = sim.user_by_login("ana@corp.example").expect("re-created");
    assert_ne!(again.user_id, cu.user_id);
    let m = mapping(&app, "cb", "User", &id).await;
    assert_eq!(m.vendor_id, Some(again.user_id.to_string()));
    assert!(
        m.applied.to_string().contains(&cu.user_id.to_string()),
        "previous id kept: {}",
        m.applied
    );
    server.shutdown().await;
});

both!(
    carbon_black_last_admin_refusal_is_a_clear_permanent_failure,
    |b| async move {
        let sim = CarbonBlackSim::new(CarbonBlackSimConfig {
            seed_owner_admin: false,
            ..CarbonBlackSimConfig::default()
        });
        let server = sim.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.extra_tokens = vec!["cb".into()];
        s.extra_toml =
            carbon_black_toml("cb", &server.base_url(), "default_role = \"ADMINISTRATOR\"");
        let app = spawn_with(s).await;
        let (_, u) = app
            .scim_json(
                Method::POST,
                "cb",
                "/Users",
                Some(user_body("boss@corp.example")),
            )
            .await;
        let id = u["id"].as_str().unwrap().to_string();
        drain(&app).await;
        let key = sim.add_key("boss@corp.example", "k");
        app.scim_json(
            Method::PATCH,
            "cb",
            &format!("/Users/{id}"),
            Some(active_patch(false)),
        )
        .await;
        drain(&app).await;
        let m = mapping(&app, "cb", "User", &id).await;
        assert_eq!(m.state, "failed", "not an endless retry");
        assert!(
            m.last_error
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .contains("last administrator"),
            "{:?}",
            m.last_error
        );
        assert!(sim.user_by_login("boss@corp.example").is_some());
        let k = sim.keys().into_iter().find(|k2| k2.id == key.id);
        assert!(
            k.is_none()
                || format!("{:?}", k.unwrap().status)
                    .to_uppercase()
                    .contains("DISABLED"),
            "keys revoked even though the DELETE was refused"
        );
        assert_eq!(
            app.store()
                .queue_stats(i64::MAX)
                .await
                .unwrap()
                .iter()
                .map(|q| q.depth)
                .sum::<i64>(),
            0
        );
        server.shutdown().await;
    }
);

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

//! Contrast: lifecycle, chaos, a crash between create and mapping, lease take-over.

use std::time::Duration;

use reqwest::Method;
use scim_bridge::sim::Faults;
use scim_bridge::sim::contrast::ContrastSim;
use serde_json::json;

use super::*;
use crate::both;
use crate::helpers::*;

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
    // In the order written, a job's calls are followed by its outcome (one INSERT).
    let mut calls_open = false;
    for h in &hist {
        match h.kind.as_str() {
            "call" => calls_open = true,
            "outcome" => calls_open = false,
            other => assert!(
                !calls_open,
                "calls without an outcome before {other}: {hist:?}"
            ),
        }
    }
    assert!(
        !calls_open,
        "the last calls have no outcome after them: {hist:?}"
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

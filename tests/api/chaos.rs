//! Regression tests for what the vendor chaos script (`scripts/chaos-test.sh`,
//! docs/reliability.md) found: each runs the engine by hand against a misbehaving simulator.

use std::sync::Arc;

use reqwest::Method;
use scim_bridge::clock::ManualClock;
use scim_bridge::sim::Faults;
use scim_bridge::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig};
use scim_bridge::sim::contrast::ContrastSim;
use scim_bridge::sync::Engine;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::{carbon_black_toml, contrast_toml, user_body};
use crate::helpers::*;

/// An app on a manual clock (retries become due when the test says so) and an engine with
/// a budget of `max_attempts`.
async fn app_and_engine(
    b: Backend,
    sim_base: &str,
    max_attempts: u32,
) -> (TestApp, Arc<ManualClock>, Engine) {
    app_and_engine_with(b, "c", contrast_toml("c", sim_base, ""), max_attempts).await
}

async fn app_and_engine_with(
    b: Backend,
    target: &str,
    toml: String,
    max_attempts: u32,
) -> (TestApp, Arc<ManualClock>, Engine) {
    let clock = ManualClock::new(1_700_000_000_000);
    let mut s = Spawn::new(b);
    s.clock = clock.clone();
    s.extra_tokens = vec![target.into()];
    s.extra_toml = toml;
    let app = spawn_with(s).await;
    let mut cfg = app.app.engine.cfg.clone();
    cfg.max_attempts = max_attempts;
    let engine = Engine::new(
        app.store().clone(),
        app.app.engine.targets.clone(),
        clock.clone(),
        cfg,
        Arc::new(tokio::sync::Notify::new()),
    );
    (app, clock, engine)
}

/// Runs every due job, then moves the clock past the longest retry delay, `rounds` times.
async fn rounds(engine: &Engine, clock: &ManualClock, rounds: usize) {
    for _ in 0..rounds {
        engine.run_until_idle(1000).await.unwrap();
        clock.advance_ms(5_000);
    }
}

// Found by the outage phase: the mapping showed `attempts: 9` next to "gave up after 8
// attempts". A group change re-enqueues its members with a fresh budget (the job's count
// starts over) but the mapping kept adding to its old count.
both!(mapping_attempts_are_the_jobs_count, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (app, clock, engine) = app_and_engine(b, &server.base_url(), 3).await;
    let u1 = app
        .create_id("c", "/Users", user_body("one@corp.example"))
        .await;
    let u2 = app
        .create_id("c", "/Users", user_body("two@corp.example"))
        .await;
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Developers", "members": [{"value": u1}]});
    let gid = app.create_id("c", "/Groups", group).await;
    rounds(&engine, &clock, 1).await;
    let m = app
        .store()
        .get_mapping("c", "User", &u1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.state.as_str(), m.attempts), ("retrying", 1));

    // A group change re-enqueues its members: u1's job starts a new budget.
    let (st, _) = app
        .scim_json(
            Method::PATCH,
            "c",
            &format!("/Groups/{gid}"),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": u2}]}]}),
            ),
        )
        .await;
    assert_eq!(st, 200);
    rounds(&engine, &clock, 6).await;
    let depth: i64 = app
        .store()
        .queue_stats(i64::MAX)
        .await
        .unwrap()
        .iter()
        .map(|q| q.depth)
        .sum();
    assert_eq!(depth, 0, "every job gave up: the queue drained");
    for id in [&u1, &u2] {
        let m = app
            .store()
            .get_mapping("c", "User", id)
            .await
            .unwrap()
            .unwrap();
        let err = m.last_error.clone().unwrap_or_default();
        assert_eq!(m.state, "failed");
        assert!(err.starts_with("gave up after 3 attempts: "), "{err}");
        assert!(
            err.contains("server error (5"),
            "the vendor's failure: {err}"
        );
        assert_eq!(
            m.attempts, 3,
            "the mapping shows the attempts the job made: {m:?}"
        );
    }
    server.shutdown().await;
});

// Found by the long 429-storm and mixed phases: a job that outlives its convergence budget
// is cancelled mid-call. The cancelled call kept its slot of the target's concurrency gate,
// so after `max_concurrency` cuts every call of that target waited forever (the queue never
// drained, even after the vendor recovered) and the history showed no call, only "took
// longer".
both!(
    a_job_cut_by_its_budget_frees_the_gate_and_keeps_its_calls,
    |b| async move {
        let sim = ContrastSim::default();
        let server = sim.start().await.unwrap();
        sim.set_faults(Faults {
            latency_ms: Some((3000, 3000)),
            ..Faults::default()
        });
        let (app, clock, mut engine) = app_and_engine(b, &server.base_url(), 25).await;
        engine.cfg.lease = std::time::Duration::from_secs(1); // budget 0.8 s, vendor timeout 30 s
        let mut ids = Vec::new();
        for i in 0..6 {
            ids.push(
                app.create_id("c", "/Users", user_body(&format!("slow{i}@corp.example")))
                    .await,
            );
        }
        // More cuts than the gate has slots (max_concurrency 4).
        rounds(&engine, &clock, 2).await;
        let m = app
            .store()
            .get_mapping("c", "User", &ids[0])
            .await
            .unwrap()
            .unwrap();
        let err = m.last_error.clone().unwrap_or_default();
        assert_eq!(m.state, "retrying");
        assert!(
            err.starts_with("convergence took longer than 0.8s ("),
            "{err}"
        );
        assert!(
            err.contains("abandoned after"),
            "names the call in flight: {err}"
        );
        let history = app.store().history("c", &ids[0], 50).await.unwrap();
        assert!(
            history.iter().any(|h| h.kind == "call"
                && h.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("abandoned after"))),
            "the cut-off call is in the history: {history:?}"
        );

        // The vendor recovers: every job converges (no slot of the gate was lost).
        sim.set_faults(Faults::default());
        let recovered = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rounds(&engine, &clock, 3),
        )
        .await;
        assert!(recovered.is_ok(), "the engine is not stuck");
        for id in &ids {
            let m = app
                .store()
                .get_mapping("c", "User", id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.state, "synced", "{m:?}");
        }
        assert_eq!(
            sim.users().len(),
            ids.len(),
            "no duplicate from the cut-off creates"
        );
        server.shutdown().await;
    }
);

// Found by the one-vendor-storm phase: while Carbon Black rate-limited and answered slowly,
// every worker sat at its gate and Contrast's new users waited for the storm to pass.
both!(a_slow_vendor_does_not_hold_every_worker, |b| async move {
    let c_sim = ContrastSim::default();
    let c_server = c_sim.start().await.unwrap();
    let cb_sim = CarbonBlackSim::new(CarbonBlackSimConfig::default());
    let cb_server = cb_sim.start().await.unwrap();
    cb_sim.set_faults(Faults {
        latency_ms: Some((4000, 4000)),
        ..Faults::default()
    });
    let mut s = Spawn::new(b);
    s.background = true; // the config's 2 workers
    s.extra_tokens = vec!["c".into(), "cb".into()];
    s.extra_toml = format!(
        "{}{}",
        contrast_toml("c", &c_server.base_url(), ""),
        carbon_black_toml("cb", &cb_server.base_url(), "")
    );
    let app = spawn_with(s).await;
    for i in 0..4 {
        let (st, _) = app
            .scim_json(
                Method::POST,
                "cb",
                "/Users",
                Some(user_body(&format!("slow{i}@corp.example"))),
            )
            .await;
        assert_eq!(st, 201);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (st, _) = app
        .scim_json(
            Method::POST,
            "c",
            "/Users",
            Some(user_body("fast@corp.example")),
        )
        .await;
    assert_eq!(st, 201);
    let started = std::time::Instant::now();
    while c_sim.user_by_username("fast@corp.example").is_none()
        && started.elapsed() < std::time::Duration::from_secs(3)
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        c_sim.user_by_username("fast@corp.example").is_some(),
        "Contrast's user waited for Carbon Black's slow jobs"
    );
    app.app.shutdown.cancel();
    c_server.shutdown().await;
    cb_server.shutdown().await;
});

// Found by the long slow-bodies phase: a Carbon Black user kept the ANALYST role after
// leaving the Analysts group. The PATCH that gave the role landed but its answer was lost
// (slow body, here a 500 after applying); `applied` still said READ_ONLY_ANALYST, so when
// the user left the group the connector saw nothing to change.
both!(
    a_write_whose_answer_was_lost_is_not_trusted_as_unapplied,
    |b| async move {
        let sim = CarbonBlackSim::new(CarbonBlackSimConfig::default());
        let server = sim.start().await.unwrap();
        let toml = carbon_black_toml(
            "cb",
            &server.base_url(),
            "group_roles = { Analysts = \"ANALYST\" }",
        );
        let (app, clock, engine) = app_and_engine_with(b, "cb", toml, 25).await;
        let scim = |m: Method, path: String, body: Value| {
            let app = &app;
            async move {
                let (st, v) = app.scim_json(m, "cb", &path, Some(body)).await;
                assert!(st == 200 || st == 201, "{st} {v}");
                v
            }
        };
        let u = scim(Method::POST, "/Users".into(), user_body("ana@corp.example")).await;
        let uid = u["id"].as_str().unwrap().to_string();
        let g = scim(
            Method::POST,
            "/Groups".into(),
            json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Analysts", "members": []}),
        )
        .await;
        let gid = g["id"].as_str().unwrap().to_string();
        rounds(&engine, &clock, 1).await;
        let role = || sim.user_by_login("ana@corp.example").map(|u| u.role);
        assert_eq!(role().as_deref(), Some("READ_ONLY_ANALYST"));

        // Joins Analysts: the PATCH lands, its answer is a 500.
        sim.set_faults(Faults {
            apply_then_fail_rate: 1.0,
            ..Faults::default()
        });
        let patch = |op: Value| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                   "Operations": [op]})
        };
        scim(
            Method::PATCH,
            format!("/Groups/{gid}"),
            patch(json!({"op": "add", "path": "members", "value": [{"value": uid}]})),
        )
        .await;
        engine.run_until_idle(100).await.unwrap();
        assert_eq!(role().as_deref(), Some("ANALYST"), "applied at the vendor");
        let m = app
            .store()
            .get_mapping("cb", "User", &uid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.state, "retrying");

        // Leaves Analysts before the retry: the vendor must end READ_ONLY_ANALYST again.
        sim.set_faults(Faults::default());
        scim(
            Method::PATCH,
            format!("/Groups/{gid}"),
            patch(json!({"op": "remove", "path": format!("members[value eq \"{uid}\"]")})),
        )
        .await;
        rounds(&engine, &clock, 2).await;
        assert_eq!(role().as_deref(), Some("READ_ONLY_ANALYST"));
        let m = app
            .store()
            .get_mapping("cb", "User", &uid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((m.state.as_str(), m.last_error), ("synced", None));
        server.shutdown().await;
    }
);

//! Vendor end state: the same replays with background delivery to the in-process simulators.

use super::*;

/// Polls the admin API until no mapping of `target` is `pending` or `retrying` (≤ 20 s).
pub(super) async fn converge(app: &TestApp, target: &str) -> Result<Vec<Value>, String> {
    settle(app, target, false).await
}

/// Waits until no mapping of `target` is pending or retrying (and, unless `allow_empty`,
/// there is at least one).
pub(super) async fn settle(
    app: &TestApp,
    target: &str,
    allow_empty: bool,
) -> Result<Vec<Value>, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app
            .admin_get(&format!("/admin/v1/mappings?target={target}&limit=1000"))
            .await;
        if status != 200 {
            return Err(format!("GET /admin/v1/mappings: {status} {body}"));
        }
        let rows = body["mappings"].as_array().cloned().unwrap_or_default();
        let busy = rows
            .iter()
            .any(|r| matches!(r["state"].as_str(), Some("pending" | "retrying")));
        if !busy && (allow_empty || !rows.is_empty()) {
            return Ok(rows);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "mappings of `{target}` did not converge within 20 s: {body}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No mapping failed, and each listed resource has its expected state.
pub(super) fn assert_states(rows: &[Value], want: &[(&str, &str)], what: &str) {
    let all = Value::Array(rows.to_vec());
    assert!(
        !rows.iter().any(|r| r["state"] == "failed"),
        "{what}: a mapping failed: {all}"
    );
    for (id, state) in want {
        let row = rows.iter().find(|r| r["resource_id"] == *id);
        assert_eq!(
            row.map(|r| r["state"].clone()),
            Some(json!(state)),
            "{what}: state of {id}: {all}"
        );
    }
}

/// Loads one scenario and the index of each named step (which must exist).
pub(super) fn scenario_with_steps(
    idp: &str,
    file: &str,
    split_at: &[&str],
) -> (String, Scenario, Vec<usize>) {
    let (f, s) = load_suite(idp)
        .unwrap_or_else(|e| panic!("malformed scenario files:\n{}", e.join("\n")))
        .into_iter()
        .find(|(f, _)| f.ends_with(file))
        .unwrap_or_else(|| panic!("conformance/{idp}/{file} is missing"));
    let idx = split_at
        .iter()
        .map(|n| {
            s.steps
                .iter()
                .position(|st| st.name == *n)
                .unwrap_or_else(|| panic!("{f}: no step `{n}`"))
        })
        .collect();
    (f, s, idx)
}

pub(super) fn finish_report(report: Report, what: &str) {
    assert!(
        report.failures.is_empty() && report.known.is_empty(),
        "{what}: replay failed:\n{}\n{}",
        report.failures.join("\n\n"),
        report.known.join("\n")
    );
}

pub(super) fn var_str(vars: &mut Vars, name: &str) -> String {
    as_text(&vars.eval(name, None).unwrap_or_else(|e| panic!("{e}")))
}

pub(super) async fn okta_vendor_end_state(backend: Backend) {
    use scim_bridge::sim::contrast::{BASE_PATH, ContrastSim};
    let sim = ContrastSim::default();
    let server = sim.start().await.expect("start the Contrast simulator");
    let c = sim.config().clone();
    let mut spawn = Spawn::new(backend);
    spawn.background = true;
    spawn.extra_tokens = vec!["vc".into()];
    spawn.extra_toml = format!(
        "[targets.vc]\nkind = \"contrast\"\ntoken_sha256 = [\"{{token:vc}}\"]\nbase_url = \"{}{BASE_PATH}\"\norg_uuid = \"{}\"\nusername = \"{}\"\nservice_key = \"{}\"\napi_key = \"{}\"\n",
        server.base_url(),
        c.org_uuid,
        c.username,
        c.service_key,
        c.api_key
    );
    let app = spawn_with(spawn).await;
    let (file, sc, _) = scenario_with_steps("okta", "12-vendor-lifecycle.json", &[]);
    let cx = RunCtx {
        file: &file,
        scenario: &sc,
        kind: Kind::Contrast,
        target: "vc",
        backend,
    };
    let mut report = Report::default();
    let mut vars = scenario_vars(&app, &cx, &mut report);
    // Converge after every step, as with an IdP slower than the workers: otherwise a fast
    // replay can deactivate alice before she was ever created at Contrast (then correctly
    // never created), and the disable path below would not be exercised.
    for step in &sc.steps {
        run_steps(
            &app,
            &cx,
            std::slice::from_ref(step),
            &mut vars,
            &mut report,
        )
        .await;
        settle(&app, "vc", true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    finish_report(report, "okta vendor end state");
    let rows = converge(&app, "vc").await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = ["aliceId", "bobId", "groupId"]
        .iter()
        .map(|n| var_str(&mut vars, n))
        .collect();
    assert_states(
        &rows,
        &[
            (&ids[0], "deprovisioned"),
            (&ids[1], "synced"),
            (&ids[2], "synced"),
        ],
        "okta → contrast",
    );

    let (alice, bob) = (var_str(&mut vars, "alice"), var_str(&mut vars, "bob"));
    let a = sim
        .user_by_username(&alice)
        .unwrap_or_else(|| panic!("alice is not in Contrast: {:?}", sim.users()));
    let b = sim
        .user_by_username(&bob)
        .unwrap_or_else(|| panic!("bob is not in Contrast: {:?}", sim.users()));
    assert!(
        !a.enabled,
        "alice was deactivated in Okta, so she is disabled in Contrast: {a:?}"
    );
    assert!(b.enabled, "bob stays enabled: {b:?}");
    assert_eq!(
        (a.first_name.as_str(), a.last_name.as_str()),
        ("Alice", "Liddell")
    );
    let dev = sim
        .groups()
        .into_iter()
        .find(|g| g.name == "Developers")
        .expect("the Developers access group");
    let members = sim.group_members(&dev.group_id);
    assert!(
        !members.contains(&b.user_id),
        "bob was removed from Developers: {members:?}"
    );
    assert!(
        members.contains(&a.user_id),
        "alice stays in Developers (Okta only deactivated her): {members:?}"
    );
    stop(&app).await;
    server.shutdown().await;
}

pub(super) async fn entra_vendor_end_state(backend: Backend) {
    use scim_bridge::sim::carbon_black::{CarbonBlackSim, KeyStatus};
    let sim = CarbonBlackSim::default();
    let server = sim.start().await.expect("start the Carbon Black simulator");
    let c = sim.config().clone();
    let mut spawn = Spawn::new(backend);
    spawn.background = true;
    spawn.extra_tokens = vec!["vcb".into()];
    spawn.extra_toml = format!(
        "[targets.vcb]\nkind = \"carbon_black\"\ntoken_sha256 = [\"{{token:vcb}}\"]\nbase_url = \"{}\"\norg_key = \"{}\"\napi_id = \"{}\"\napi_secret = \"{}\"\n",
        server.base_url(),
        c.org_key,
        c.api_id,
        c.api_secret
    );
    let app = spawn_with(spawn).await;
    let (file, sc, idx) = scenario_with_steps(
        "entra",
        "13-vendor-deprovision.json",
        &["soft delete dave", "hard delete dave"],
    );
    let cx = RunCtx {
        file: &file,
        scenario: &sc,
        kind: Kind::CarbonBlack,
        target: "vcb",
        backend,
    };
    let mut report = Report::default();
    let mut vars = scenario_vars(&app, &cx, &mut report);

    // Phase 1: both users are created in Carbon Black.
    run_steps(&app, &cx, &sc.steps[..idx[0]], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (carol_id, dave_id) = (var_str(&mut vars, "carolId"), var_str(&mut vars, "daveId"));
    assert_states(
        &rows,
        &[(&carol_id, "synced"), (&dave_id, "synced")],
        "entra → carbon black (create)",
    );
    let (carol, dave) = (var_str(&mut vars, "carol"), var_str(&mut vars, "dave"));
    assert!(
        sim.user_by_login(&carol).is_some(),
        "carol is in Carbon Black: {:?}",
        sim.users()
    );
    assert!(
        sim.user_by_login(&dave).is_some(),
        "dave is in Carbon Black: {:?}",
        sim.users()
    );
    let key = sim.add_key(&dave, "dave's automation key");

    // Phase 2: soft delete dave, update carol.
    run_steps(&app, &cx, &sc.steps[idx[0]..idx[1]], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_states(
        &rows,
        &[(&carol_id, "synced"), (&dave_id, "deprovisioned")],
        "entra → carbon black (soft delete)",
    );
    assert!(
        sim.user_by_login(&dave).is_none(),
        "a deactivated user is deleted from Carbon Black: {:?}",
        sim.users()
    );
    let keys = sim.keys();
    assert!(
        !keys
            .iter()
            .any(|k| k.id == key.id && k.status == KeyStatus::Enabled),
        "dave's API key is revoked: {keys:?}"
    );
    let c_user = sim.user_by_login(&carol).expect("carol stays");
    assert_eq!(
        c_user.last_name, "Marvel",
        "carol's update reached Carbon Black: {c_user:?}"
    );

    // Phase 3: the hard delete of an already deprovisioned user converges too.
    run_steps(&app, &cx, &sc.steps[idx[1]..], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_states(
        &rows,
        &[(&carol_id, "synced")],
        "entra → carbon black (hard delete)",
    );
    assert!(sim.user_by_login(&dave).is_none());
    assert!(sim.user_by_login(&carol).is_some());
    finish_report(report, "entra vendor end state");
    stop(&app).await;
    server.shutdown().await;
}

//! Reconcile and drift detection against the vendor simulators: break users at the vendor
//! behind the bridge's back, then the dry run names exactly those drifts and changes nothing,
//! and applying repairs them through the engine.

use std::collections::BTreeSet;

use reqwest::Method;
use scim_bridge::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig, UserStatus};
use scim_bridge::sim::contrast::ContrastSim;
use scim_bridge::store::run_lock::Run;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::{active_patch, carbon_black_toml, contrast_toml, drain, user_body};
use crate::helpers::*;

async fn admin_reconcile(app: &TestApp, token: &str, target: &str, dry_run: bool) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/admin/v1/reconcile", app.base))
        .bearer_auth(token)
        .json(&json!({"target": target, "dry_run": dry_run}))
        .send()
        .await
        .expect("request");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// (kind, key, field) of every drift in a report.
fn drift_set(report: &Value) -> BTreeSet<(String, String, String)> {
    report["drifts"]
        .as_array()
        .expect("drifts")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_string(),
                d["key"].as_str().unwrap_or_default().to_string(),
                d["field"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

async fn create(app: &TestApp, target: &str, name: &str) -> String {
    let (st, u) = app
        .scim_json(Method::POST, target, "/Users", Some(user_body(name)))
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().expect("id").to_string()
}

async fn vendor_id(app: &TestApp, target: &str, id: &str) -> String {
    app.store()
        .get_mapping(target, "User", id)
        .await
        .unwrap()
        .and_then(|m| m.vendor_id)
        .expect("vendor id")
}

both!(contrast_drift_is_detected_and_repaired, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "");
    let app = spawn_with(s).await;

    let _ok = create(&app, "c", "ok@corp.example").await;
    let off = create(&app, "c", "off@corp.example").await;
    let role = create(&app, "c", "role@corp.example").await;
    let gone = create(&app, "c", "gone@corp.example").await;
    drain(&app).await;
    app.scim_json(
        Method::PATCH,
        "c",
        &format!("/Users/{off}"),
        Some(active_patch(false)),
    )
    .await;
    drain(&app).await;
    let (st, clean) = admin_reconcile(&app, &app.admin_token, "c", true).await;
    assert_eq!(st, 200, "{clean}");
    assert_eq!(drift_set(&clean), set(&[]), "in sync after provisioning");

    // Behind the bridge's back.
    let off_v = vendor_id(&app, "c", &off).await;
    let role_v = vendor_id(&app, "c", &role).await;
    let gone_v = vendor_id(&app, "c", &gone).await;
    assert!(sim.set_user_enabled(&off_v, true));
    assert!(sim.set_user_role(&role_v, "ROLE_ADMIN"));
    assert!(sim.delete_user(&gone_v));
    assert!(
        sim.insert_user("stranger@corp.example", "S", "T", "ROLE_ADMIN")
            .is_some()
    );
    sim.clear_calls();

    let (st, plan) = admin_reconcile(&app, &app.admin_token, "c", true).await;
    assert_eq!(st, 200, "{plan}");
    assert_eq!(
        drift_set(&plan),
        set(&[
            ("enabled_mismatch", "off@corp.example", ""),
            ("attribute_drift", "role@corp.example", "role"),
            ("missing_at_vendor", "gone@corp.example", ""),
            ("extra_at_vendor", "stranger@corp.example", ""),
        ])
    );
    assert_eq!(plan["dry_run"], true);
    let writes: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "a dry run writes nothing at the vendor: {writes:?}"
    );
    let m = app
        .store()
        .get_mapping("c", "User", &role)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.state, "drift");
    assert!(
        m.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("ROLE_ADMIN"),
        "{m:?}"
    );

    // Apply, then the engine converges the vendor again.
    let (st, applied) = admin_reconcile(&app, &app.admin_token, "c", false).await;
    assert_eq!(st, 200, "{applied}");
    assert_eq!(applied["repairs_queued"], 3);
    drain(&app).await;
    assert!(!sim.user(&off_v).unwrap().enabled, "re-disabled");
    assert_eq!(sim.user(&role_v).unwrap().role, "ROLE_VIEW");
    let back = sim
        .user_by_username("gone@corp.example")
        .expect("re-created");
    assert_eq!(back.role, "ROLE_VIEW");
    assert!(
        sim.user_by_username("stranger@corp.example").is_some(),
        "unmanaged accounts are never deleted"
    );
    assert_eq!(
        app.store()
            .get_mapping("c", "User", &role)
            .await
            .unwrap()
            .unwrap()
            .state,
        "synced"
    );
    let (_, after) = admin_reconcile(&app, &app.admin_token, "c", true).await;
    assert_eq!(
        drift_set(&after),
        set(&[("extra_at_vendor", "stranger@corp.example", "")])
    );
    let history = app.store().history("c", &role, 100).await.unwrap();
    assert!(
        history.iter().any(|h| h.kind == "admin"
            && h.message.as_deref().is_some_and(|m| m.starts_with(
                "reconcile: role is ROLE_ADMIN at the vendor, ROLE_VIEW desired, repair queued by admin-token:"
            ))),
        "{history:?}"
    );
});

both!(
    carbon_black_drift_is_detected_and_repaired,
    |b| async move {
        let sim = CarbonBlackSim::new(CarbonBlackSimConfig::default());
        let server = sim.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.extra_tokens = vec!["cb".into()];
        s.extra_toml = carbon_black_toml("cb", &server.base_url(), "");
        let app = spawn_with(s).await;

        let _ok = create(&app, "cb", "ok@corp.example").await;
        let off = create(&app, "cb", "off@corp.example").await;
        let role = create(&app, "cb", "role@corp.example").await;
        let gone = create(&app, "cb", "gone@corp.example").await;
        drain(&app).await;
        app.scim_json(
            Method::PATCH,
            "cb",
            &format!("/Users/{off}"),
            Some(active_patch(false)),
        )
        .await;
        drain(&app).await;
        assert!(
            sim.user_by_login("off@corp.example").is_none(),
            "deprovisioned = deleted"
        );
        let want_role = sim.user_by_login("role@corp.example").unwrap().role;
        let (st, clean) = admin_reconcile(&app, &app.admin_token, "cb", true).await;
        assert_eq!(st, 200, "{clean}");
        // The simulator's org owner is the one account the bridge does not manage.
        let owner = ("extra_at_vendor", "owner@example.com", "");
        assert_eq!(drift_set(&clean), set(&[owner]));

        // Re-created at the vendor (Carbon Black has no disabled state), role changed, deleted.
        let other = if want_role == "ADMINISTRATOR" {
            "READ_ONLY_ANALYST"
        } else {
            "ADMINISTRATOR"
        };
        let again = sim
            .insert_user("OFF@corp.example", "ADMINISTRATOR", UserStatus::Active)
            .expect("insert");
        let role_v: u64 = vendor_id(&app, "cb", &role).await.parse().unwrap();
        let gone_v: u64 = vendor_id(&app, "cb", &gone).await.parse().unwrap();
        assert!(sim.set_user_role(role_v, other));
        assert!(sim.delete_user(gone_v));
        sim.clear_calls();

        let (_, plan) = admin_reconcile(&app, &app.admin_token, "cb", true).await;
        assert_eq!(
            drift_set(&plan),
            set(&[
                ("enabled_mismatch", "off@corp.example", ""),
                ("attribute_drift", "role@corp.example", "role"),
                ("missing_at_vendor", "gone@corp.example", ""),
                owner,
            ])
        );
        let writes: Vec<_> = sim
            .calls()
            .into_iter()
            .filter(|c| c.method != "GET")
            .collect();
        assert!(writes.is_empty(), "{writes:?}");

        let (st, applied) = admin_reconcile(&app, &app.admin_token, "cb", false).await;
        assert_eq!(st, 200, "{applied}");
        drain(&app).await;
        assert!(sim.user(again.user_id).is_none(), "deleted again");
        assert_eq!(sim.user(role_v).unwrap().role, want_role);
        assert!(
            sim.user_by_login("gone@corp.example").is_some(),
            "re-created"
        );
        let (_, after) = admin_reconcile(&app, &app.admin_token, "cb", true).await;
        assert_eq!(drift_set(&after), set(&[owner]));
        let history = app.store().history("cb", &off, 100).await.unwrap();
        assert!(
            history.iter().any(|h| h.kind == "admin"
                && h.message
                    .as_deref()
                    .unwrap_or_default()
                    .contains("repair queued by")),
            "{history:?}"
        );
    }
);

both!(reconcile_endpoint_needs_the_admin_token, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "");
    let app = spawn_with(s).await;
    let scim_token = app.tokens["c"].clone();
    let (st, _) = admin_reconcile(&app, &scim_token, "c", true).await;
    assert_eq!(st, 401);
    let (st, body) = admin_reconcile(&app, &app.admin_token, "c", true).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["target"], "c");
    let (st, _) = admin_reconcile(&app, &app.admin_token, "nope", true).await;
    assert_eq!(st, 404);
});

both!(periodic_reconcile_marks_drift, |b| async move {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "reconcile_interval = 1");
    s.background = true;
    let app = spawn_with(s).await;
    let id = create(&app, "c", "jane@corp.example").await;
    assert!(
        crate::delivery::converged(&app, "c", std::time::Duration::from_secs(10)).await,
        "provisioned"
    );
    let vid = vendor_id(&app, "c", &id).await;
    assert!(sim.set_user_role(&vid, "ROLE_ADMIN"));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let m = loop {
        let m = app
            .store()
            .get_mapping("c", "User", &id)
            .await
            .unwrap()
            .unwrap();
        if m.state == "drift" || tokio::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(m.state, "drift", "{m:?}");
    // Detection only (auto_repair is off): the vendor keeps the drift.
    assert_eq!(sim.user(&vid).unwrap().role, "ROLE_ADMIN");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reconcile_lock_is_held_by_one_runner() {
    let app = spawn_app(Backend::Postgres).await;
    let first = app.store().try_run_lock(Run::Reconcile, "c").await.unwrap();
    assert!(first.is_some());
    assert!(
        app.store()
            .try_run_lock(Run::Reconcile, "c")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store()
            .try_run_lock(Run::Reconcile, "other")
            .await
            .unwrap()
            .is_some()
    );
    // Released explicitly: free for the next runner at once.
    first.expect("held").release().await;
    let again = app.store().try_run_lock(Run::Reconcile, "c").await.unwrap();
    assert!(again.is_some(), "free as soon as release returns");
    // Only dropped (a panicking or cancelled run): freed too, once the queued rollback runs.
    drop(again);
    let mut third = None;
    for _ in 0..50 {
        third = app.store().try_run_lock(Run::Reconcile, "c").await.unwrap();
        if third.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(third.is_some(), "released when dropped");
}

//! Carbon Black: lifecycle (delete and API-key revocation), the last-admin refusal, and roles
//! by group through a rename.

use reqwest::Method;
use scim_bridge::sim::SimServer;
use scim_bridge::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig};
use serde_json::json;

use super::*;
use crate::both;
use crate::helpers::*;

/// A bridge with target `cb` on a Carbon Black simulator whose `group_roles` map
/// "SOC Leads" to ADMINISTRATOR and "Analysts" to ANALYST.
async fn with_group_roles(b: Backend) -> (CarbonBlackSim, SimServer, TestApp) {
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
    (sim, server, app)
}

both!(carbon_black_lifecycle, |b| async move {
    let (sim, server, app) = with_group_roles(b).await;
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

// A group's name is what `group_roles` maps, so renaming a group changes its members'
// roles: a rename by PATCH (Okta's path-less replace, Entra's `displayName` path) or by PUT
// must re-sync every member, not only the group.
both!(
    carbon_black_group_rename_changes_members_roles,
    |b| async move {
        let (sim, server, app) = with_group_roles(b).await;
        let mut ids = Vec::new();
        for login in ["ren1@corp.example", "ren2@corp.example"] {
            ids.push(app.create_id("cb", "/Users", user_body(login)).await);
        }
        let members: Vec<_> = ids.iter().map(|id| json!({"value": id})).collect();
        let gid = app
            .create_id(
                "cb",
                "/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Analysts", "members": members}),
            )
            .await;
        drain(&app).await;
        let role = |login: &str| sim.user_by_login(login).expect("at Carbon Black").role;
        assert_eq!(role("ren1@corp.example"), "ANALYST");
        // Okta's path-less replace carrying the id.
        let (st, _) = app
            .scim_json(
                Method::PATCH,
                "cb",
                &format!("/Groups/{gid}"),
                Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "SOC Leads"}}]})),
            )
            .await;
        assert_eq!(st, 200);
        drain(&app).await;
        for login in ["ren1@corp.example", "ren2@corp.example"] {
            assert_eq!(
                role(login),
                "ADMINISTRATOR",
                "{login} after the PATCH rename"
            );
        }
        // A whole PUT renaming it back, members unchanged.
        let (st, _) = app
            .scim_json(
                Method::PUT,
                "cb",
                &format!("/Groups/{gid}"),
                Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Analysts", "members": members})),
            )
            .await;
        assert_eq!(st, 200);
        drain(&app).await;
        for login in ["ren1@corp.example", "ren2@corp.example"] {
            assert_eq!(role(login), "ANALYST", "{login} after the PUT rename");
        }
        server.shutdown().await;
    }
);

//! Abnormal Security enrichment end to end: read-only risk attributes on SCIM users.

use reqwest::Method;
use scim_bridge::clock::SystemClock;
use scim_bridge::sim::Faults;
use scim_bridge::sim::abnormal::{AbnormalSim, AbnormalSimConfig, LastPageStyle};
use scim_bridge::sync::TargetDriver;
use serde_json::json;

use crate::both;
use crate::delivery::{drain, user_body};
use crate::helpers::*;

const EXT: &str = "urn:scim-bridge:schemas:extension:abnormal:2.0:User";

pub(crate) fn abnormal_toml(sim_base: &str, token: &str) -> String {
    format!(
        "[targets.ab]\nkind = \"abnormal\"\ntoken_sha256 = [\"{{token:ab}}\"]\nbase_url = \"{sim_base}\"\ntoken = \"{token}\"\n\
         [targets.c]\nkind = \"contrast\"\nenrich_from = \"ab\"\ntoken_sha256 = [\"{{token:c}}\"]\n\
         base_url = \"http://127.0.0.1:9/Contrast/api/ng\"\norg_uuid = \"o\"\nusername = \"u@x\"\nservice_key = \"s\"\napi_key = \"a\"\n"
    )
}

pub(crate) async fn sweep(app: &TestApp) -> (usize, usize) {
    let rt = app.app.engine.targets.get("ab").expect("ab target");
    let TargetDriver::Enrichment(client) = &rt.driver else {
        panic!("ab is an enrichment target")
    };
    scim_bridge::sync::enrichment::sweep(app.store(), client, "ab", 4, &SystemClock)
        .await
        .expect("sweep")
}

both!(
    risk_attributes_are_read_only_filterable_and_survive_outages,
    |b| async move {
        // Three pages of 10 accounts, the last page without `nextPageNumber`.
        let cfg = AbnormalSimConfig {
            page_size: 10,
            last_page_style: LastPageStyle::Absent,
            ..AbnormalSimConfig::default()
        };
        let sim = AbnormalSim::seeded_with(cfg.clone(), 25, 7);
        let server = sim.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.extra_tokens = vec!["ab".into(), "c".into()];
        s.extra_toml = abnormal_toml(&server.base_url(), &cfg.token);
        let app = spawn_with(s).await;
        let people: Vec<String> = (1..=12).map(|i| format!("person{i}@example.com")).collect();
        let mut ids = Vec::new();
        for p in &people {
            let (st, u) = app
                .scim_json(
                    Method::POST,
                    "ab",
                    "/Users",
                    Some(user_body(&p.to_uppercase())),
                )
                .await;
            assert_eq!(st, 201, "{u}");
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        let (seen, refreshed) = sweep(&app).await;
        assert_eq!(
            (seen, refreshed),
            (25, 25),
            "all pages read, null-or-absent last page"
        );
        assert!(
            sim.calls().iter().any(|c| c.path.contains("%40")),
            "email URL-encoded in the path"
        );

        // Every user shows Abnormal's values (matched case-insensitively by email).
        for (p, id) in people.iter().zip(&ids) {
            let acct = sim.account(p).expect("seeded");
            let (st, u) = app
                .scim_json(Method::GET, "ab", &format!("/Users/{id}"), None)
                .await;
            assert_eq!(st, 200);
            let e = &u[EXT];
            assert_eq!(e["riskScore"], acct.risk_score, "{p}: {u}");
            assert_eq!(e["riskLevel"], acct.risk_level);
            assert_eq!(e["isVip"], acct.is_vip);
            assert_eq!(e["isActive"], acct.is_active);
            assert_eq!(e["compromisedSince"], json!(acct.compromised_since));
            assert!(e["lastRefreshed"].is_string());
            assert!(u["schemas"].as_array().unwrap().contains(&json!(EXT)));
            let open = sim
                .cases()
                .iter()
                .filter(|c| c.affected_employee.eq_ignore_ascii_case(p) && c.status == "Open")
                .count();
            assert_eq!(e["openCaseCount"], open, "{p}");
        }

        // Filter in SQL: exactly the high-risk users.
        let want: std::collections::HashSet<String> = people
            .iter()
            .zip(&ids)
            .filter(|(p, _)| {
                sim.account(p)
                    .unwrap()
                    .risk_level
                    .eq_ignore_ascii_case("high")
            })
            .map(|(_, id)| id.clone())
            .collect();
        let f =
            url::form_urlencoded::byte_serialize(format!("{EXT}:riskLevel eq \"high\"").as_bytes())
                .collect::<String>();
        let (st, l) = app
            .scim_json(
                Method::GET,
                "ab",
                &format!("/Users?filter={f}&count=100"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{l}");
        let got: std::collections::HashSet<String> = l["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "riskLevel filter");
        assert!(!want.is_empty(), "the seed has high-risk people");
        let sort = url::form_urlencoded::byte_serialize(format!("{EXT}:riskScore").as_bytes())
            .collect::<String>();
        let (st, _) = app
            .scim_json(Method::GET, "ab", &format!("/Users?sortBy={sort}"), None)
            .await;
        assert_eq!(st, 200);

        // Read-only: PATCH refused with mutability, POST values ignored.
        let (st, e) = app
            .scim_json(
                Method::PATCH,
                "ab",
                &format!("/Users/{}", ids[0]),
                Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": format!("{EXT}:riskScore"), "value": "low"}]})),
            )
            .await;
        assert_scim_error(st, &e, 400, Some("mutability"));
        let mut body = user_body("nobody@example.com");
        body[EXT] = json!({"riskScore": "low", "isVip": true});
        let (st, u) = app
            .scim_json(Method::POST, "ab", "/Users", Some(body))
            .await;
        assert_eq!(st, 201, "{u}");
        assert!(
            u[EXT].get("riskScore").is_none() && u[EXT].get("isVip").is_none(),
            "client values ignored: {u}"
        );

        // A user created over SCIM is looked up at once by its job; mapping says enrichment.
        sim.upsert_account({
            let mut a = sim.account("person1@example.com").unwrap();
            a.email = "late@example.com".into();
            a.risk_score = "high".into();
            a.risk_level = "HIGH".into();
            a
        });
        let (_, late) = app
            .scim_json(
                Method::POST,
                "ab",
                "/Users",
                Some(user_body("late@example.com")),
            )
            .await;
        let late_id = late["id"].as_str().unwrap().to_string();
        drain(&app).await;
        let (_, got) = app
            .scim_json(Method::GET, "ab", &format!("/Users/{late_id}"), None)
            .await;
        assert_eq!(
            got[EXT]["riskLevel"], "HIGH",
            "looked up without waiting for the sweep: {got}"
        );
        let m = app
            .store()
            .get_mapping("ab", "User", &late_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.state, "enrichment");
        assert_eq!(
            sim.calls().iter().filter(|c| c.method != "GET").count(),
            0,
            "nothing is ever written to Abnormal"
        );

        // Another target enriched from this one shows the same attributes.
        let (_, cu) = app
            .scim_json(
                Method::POST,
                "c",
                "/Users",
                Some(user_body("person2@example.com")),
            )
            .await;
        assert_eq!(
            cu[EXT]["riskLevel"],
            sim.account("person2@example.com").unwrap().risk_level
        );

        // Abnormal rate-limiting, then down: SCIM reads keep the last values.
        sim.set_faults(Faults {
            rate_limit_per_sec: Some(0.001),
            rate_limit_burst: Some(1),
            ..Faults::default()
        });
        let rt = app.app.engine.targets.get("ab").unwrap();
        let TargetDriver::Enrichment(client) = &rt.driver else {
            unreachable!()
        };
        assert!(
            scim_bridge::sync::enrichment::sweep(app.store(), client, "ab", 4, &SystemClock)
                .await
                .is_err()
        );
        server.shutdown().await;
        assert!(
            scim_bridge::sync::enrichment::sweep(app.store(), client, "ab", 4, &SystemClock)
                .await
                .is_err()
        );
        let (st, u) = app
            .scim_json(Method::GET, "ab", &format!("/Users/{}", ids[1]), None)
            .await;
        assert_eq!(st, 200);
        assert_eq!(
            u[EXT]["riskLevel"],
            sim.account(&people[1]).unwrap().risk_level,
            "last known values served"
        );
        let (st, _) = app
            .scim_json(Method::GET, "ab", &format!("/Users?filter={f}"), None)
            .await;
        assert_eq!(st, 200);

        // Discovery lists the extension for enriched targets.
        let (_, rt) = app
            .scim_json(Method::GET, "ab", "/ResourceTypes/User", None)
            .await;
        assert!(rt["schemaExtensions"].to_string().contains(EXT));
        let (st, sc) = app
            .scim_json(Method::GET, "ab", &format!("/Schemas/{EXT}"), None)
            .await;
        assert_eq!(st, 200);
        assert!(
            sc["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["mutability"] == "readOnly"),
            "{sc}"
        );
    }
);

/// Several replicas on one Postgres: one sweeps at a time, and a sweep that succeeded less
/// than an interval ago is not repeated by another (Abnormal sees one sweep per interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_sweep_abnormal_once_per_interval() {
    use scim_bridge::store::run_lock::Run;
    use scim_bridge::sync::enrichment::{PollOutcome, poll_once};
    use std::time::Duration;

    let cfg = AbnormalSimConfig::default();
    let sim = AbnormalSim::seeded_with(cfg.clone(), 5, 3);
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(Backend::Postgres);
    s.extra_tokens = vec!["ab".into(), "c".into()];
    s.extra_toml = abnormal_toml(&server.base_url(), &cfg.token);
    let app = spawn_with(s).await;
    let rt = app.app.engine.targets.get("ab").expect("ab target");
    let TargetDriver::Enrichment(client) = &rt.driver else {
        panic!("ab is an enrichment target")
    };
    let hour = Duration::from_secs(3600);
    let poll = || poll_once(app.store(), client, "ab", hour, 4, &SystemClock);

    // Another replica is sweeping (holds the lock): this one leaves Abnormal alone.
    let other = app
        .store()
        .try_run_lock(Run::EnrichmentSweep, "ab")
        .await
        .unwrap()
        .expect("lock free at first");
    assert_eq!(poll().await, PollOutcome::HeldElsewhere);
    assert!(sim.calls().is_empty(), "{:?}", sim.calls());
    // The reconcile lock of the same target is a different lock.
    assert!(
        app.store()
            .try_run_lock(Run::Reconcile, "ab")
            .await
            .unwrap()
            .is_some()
    );
    other.release().await;

    // Once it is released, the next replica to poll sweeps.
    let outcome = poll().await;
    assert_eq!(outcome, PollOutcome::Swept(5, 5));
    let calls = sim.calls().len();
    assert!(calls > 0);

    // The next replica to poll within the interval finds the sweep recent and skips it.
    match poll().await {
        PollOutcome::SweptRecently { age_ms } => assert!((0..60_000).contains(&age_ms)),
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_eq!(
        sim.calls().len(),
        calls,
        "no second sweep within the interval"
    );

    // With a short interval the sweep is due again.
    let again = poll_once(
        app.store(),
        client,
        "ab",
        Duration::from_millis(1),
        4,
        &SystemClock,
    )
    .await;
    assert_eq!(
        again,
        PollOutcome::Swept(5, 0),
        "nothing changed at Abnormal"
    );

    // A failed sweep is recorded and does not count as recent.
    server.shutdown().await;
    let failed = poll_once(app.store(), client, "ab", hour, 4, &SystemClock);
    // Still recent: skipped without calling the (now stopped) simulator.
    assert!(matches!(failed.await, PollOutcome::SweptRecently { .. }));
    let down = poll_once(
        app.store(),
        client,
        "ab",
        Duration::from_millis(1),
        4,
        &SystemClock,
    )
    .await;
    assert!(matches!(down, PollOutcome::Failed(_)), "{down:?}");
    assert_eq!(
        app.store().enrichment_last_success_ms("ab").await.unwrap(),
        None
    );
}

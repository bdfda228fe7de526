//! `GET /Users?filter=userName eq "…"` goes through `Store::find_user_by_user_name` (on
//! Postgres concurrent lookups share one query). Its answers must be the general list
//! path's, byte for byte, and fresh: a lookup sent after a write sees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::user_body;
use crate::enrichment::{abnormal_toml, sweep};
use crate::helpers::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The lookup (`userName eq`, the fast path) and its general-path twin: the parentheses
/// keep it off the fast path and mean the same.
fn lookup_and_twin(name: &str, extra: &str) -> (String, String) {
    let lit = serde_json::to_string(name).unwrap();
    (
        format!(
            "/Users?filter={}{extra}",
            enc(&format!("userName eq {lit}"))
        ),
        format!(
            "/Users?filter={}{extra}",
            enc(&format!("(userName eq {lit})"))
        ),
    )
}

async fn post_user(app: &TestApp, target: &str, name: &str) -> String {
    let (st, u) = app
        .scim_json(Method::POST, target, "/Users", Some(user_body(name)))
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

both!(
    concurrent_lookups_answer_like_the_general_filter,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        let names: Vec<String> = (0..20).map(|i| format!("look{i}@corp.example")).collect();
        let mut ids = Vec::new();
        for n in &names {
            ids.push(post_user(&app, "t1", n).await);
        }
        for (g, members) in [("Eng", &ids[0..5]), ("Ops", &ids[3..8])] {
            let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                          "displayName": g, "members": members});
            let (st, v) = app
                .scim_json(Method::POST, "t1", "/Groups", Some(body))
                .await;
            assert_eq!(st, 201, "{v}");
        }
        // Existing users in other cases, missing users, projections, another target's token.
        let mut asks: Vec<(String, String, String)> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let variant = if i % 2 == 0 {
                n.to_uppercase()
            } else {
                n.clone()
            };
            let extra = match i % 4 {
                0 => "",
                1 => "&attributes=userName,groups",
                2 => "&excludedAttributes=groups",
                _ => "&count=5",
            };
            let (l, t) = lookup_and_twin(&variant, extra);
            asks.push(("t1".into(), l, t));
            let (l, t) = lookup_and_twin(&format!("nobody{i}@corp.example"), "");
            asks.push(("t1".into(), l, t));
            let (l, t) = lookup_and_twin(n, "");
            asks.push(("t2".into(), l, t));
        }
        let asks: Vec<_> = asks.iter().cycle().take(240).cloned().collect();
        let answers = join_all(asks.iter().map(|(target, lookup, twin)| {
            let app = app.clone();
            async move {
                let (a, b) = tokio::join!(
                    app.scim_json(Method::GET, target, lookup, None),
                    app.scim_json(Method::GET, target, twin, None)
                );
                (a, b)
            }
        }))
        .await;
        let mut found = 0;
        for ((target, lookup, _), ((sa, a), (sb, b))) in asks.iter().zip(answers) {
            assert_eq!((sa, sb), (200, 200), "{target} {lookup}: {a} / {b}");
            assert_eq!(a, b, "{target} {lookup}");
            found += a["totalResults"].as_i64().unwrap();
        }
        // 80 asks of each kind: t1's existing users found, missing ones and t2's not.
        assert_eq!(found, 80);
        // The groups are there (the membership column was read).
        let (_, u) = app
            .scim_json(Method::GET, "t1", &lookup_and_twin(&names[4], "").0, None)
            .await;
        assert_eq!(
            u["Resources"][0]["groups"].as_array().unwrap().len(),
            2,
            "{u}"
        );
    }
);

both!(
    a_lookup_sees_the_write_committed_before_it,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        for i in 0..10 {
            post_user(&app, "t1", &format!("busy{i}@corp.example")).await;
        }
        // Other lookups keep batches forming while the checks run.
        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = (0..8)
            .map(|w| {
                let (app, stop) = (app.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let (path, _) =
                            lookup_and_twin(&format!("busy{}@corp.example", (w + n) % 10), "");
                        let (st, v) = app.scim_json(Method::GET, "t1", &path, None).await;
                        assert_eq!((st, v["totalResults"].clone()), (200, json!(1)), "{v}");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for i in 0..30 {
            let name = format!("fresh{i}@corp.example");
            let (path, _) = lookup_and_twin(&name, "");
            let (_, before) = app.scim_json(Method::GET, "t1", &path, None).await;
            assert_eq!(before["totalResults"], 0);
            let id = post_user(&app, "t1", &name).await;
            let (st, after) = app.scim_json(Method::GET, "t1", &path, None).await;
            assert_eq!(st, 200);
            assert_eq!(after["totalResults"], 1, "created, then not found: {after}");
            assert_eq!(after["Resources"][0]["id"], id);
            let r = app
                .scim(Method::DELETE, "t1", &format!("/Users/{id}"), None)
                .await;
            assert_eq!(r.status(), 204);
            let (_, gone) = app.scim_json(Method::GET, "t1", &path, None).await;
            assert_eq!(gone["totalResults"], 0, "deleted, then still found: {gone}");
        }
        stop.store(true, Ordering::Relaxed);
        let lookups: u32 = join_all(load).await.into_iter().map(|n| n.unwrap()).sum();
        assert!(lookups > 0);
    }
);

both!(
    lookups_keep_the_filter_errors_and_the_other_pages,
    |b| async move {
        let app = spawn_app(b).await;
        post_user(&app, "t1", "err@corp.example").await;
        // A U+0000 in the value is refused before any query, as on the general path.
        let (st, v) = app
            .scim_json(Method::GET, "t1", &lookup_and_twin("a\u{0}b", "").0, None)
            .await;
        assert_scim_error(st, &v, 400, Some("invalidFilter"));
        // A long value (under the filter's 8 KiB cap) is a lookup like any other.
        let (l, t) = lookup_and_twin(&"x".repeat(2000), "");
        let (long, twin) = tokio::join!(
            app.scim_json(Method::GET, "t1", &l, None),
            app.scim_json(Method::GET, "t1", &t, None)
        );
        assert_eq!(long, twin);
        assert_eq!(long.1["totalResults"], 0);
        let (st, v) = app
            .scim_json(
                Method::GET,
                "t1",
                &lookup_and_twin("err@corp.example", "&sortOrder=sideways").0,
                None,
            )
            .await;
        assert_scim_error(st, &v, 400, Some("invalidValue"));
        // count=0 and later pages still answer like the general path.
        for extra in ["&count=0", "&startIndex=2", "&sortBy=userName"] {
            let (l, t) = lookup_and_twin("ERR@corp.example", extra);
            let (sa, a) = app.scim_json(Method::GET, "t1", &l, None).await;
            let (sb, b) = app.scim_json(Method::GET, "t1", &t, None).await;
            assert_eq!((sa, &a), (sb, &b), "{extra}");
        }
        let (_, zero) = app
            .scim_json(
                Method::GET,
                "t1",
                &lookup_and_twin("err@corp.example", "&count=0").0,
                None,
            )
            .await;
        assert_eq!(
            (zero["totalResults"].clone(), zero["itemsPerPage"].clone()),
            (json!(1), json!(0))
        );
    }
);

both!(enriched_lookups_carry_the_risk_attributes, |b| async move {
    use scim_bridge::sim::abnormal::{AbnormalSim, AbnormalSimConfig};
    let cfg = AbnormalSimConfig::default();
    let sim = AbnormalSim::seeded_with(cfg.clone(), 6, 3);
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(b);
    s.extra_tokens = vec!["ab".into(), "c".into()];
    s.extra_toml = abnormal_toml(&server.base_url(), &cfg.token);
    let app = Arc::new(spawn_with(s).await);
    let people: Vec<String> = (1..=6).map(|i| format!("person{i}@example.com")).collect();
    for p in &people {
        post_user(&app, "ab", p).await;
    }
    sweep(&app).await;
    let answers = join_all(people.iter().map(|p| {
        let app = app.clone();
        let (l, t) = lookup_and_twin(&p.to_uppercase(), "");
        async move {
            tokio::join!(
                app.scim_json(Method::GET, "ab", &l, None),
                app.scim_json(Method::GET, "ab", &t, None)
            )
        }
    }))
    .await;
    for (p, ((sa, a), (sb, b))) in people.iter().zip(answers) {
        assert_eq!((sa, sb), (200, 200));
        assert_eq!(a, b, "{p}");
        let ext = &a["Resources"][0]["urn:scim-bridge:schemas:extension:abnormal:2.0:User"];
        assert_eq!(
            ext["riskLevel"],
            json!(sim.account(p).unwrap().risk_level),
            "{a}"
        );
    }
});

/// Postgres' row estimate of `scim_resources` (-1: never analyzed).
async fn reltuples(pool: &sqlx::PgPool) -> f64 {
    sqlx::query_scalar(
        "SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass('scim_resources')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The plan Postgres picks now for a lookup by userName.
async fn lookup_plan(pool: &sqlx::PgPool) -> String {
    let rows: Vec<(String,)> = sqlx::query_as(
        "EXPLAIN SELECT r.id, r.data FROM scim_resources r \
         WHERE r.target = 't1' AND r.resource_type = 'User' AND r.user_name_lc IN ('x@corp.example')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(l,)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table analyzed while empty, then an IdP's first import: 16k users whose names arrive
/// in no particular order (so the userName index grows by page splits, as it does under
/// an IdP's pushes). With "empty" statistics Postgres then plans the lookup on the paging
/// index and reads every user (docs/performance.md, round 7); the bridge's refresh
/// re-analyzes and the lookup is back on the userName index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_analyzed_empty_is_analyzed_again_once_users_arrive() {
    let url = fresh_pg_database().await;
    let mut s = Spawn::new(Backend::Postgres);
    s.database_url = Some(url.clone());
    let app = spawn_with(s).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("ANALYZE scim_resources")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        !app.store().refresh_planner_stats().await.unwrap(),
        "nothing changed yet"
    );
    // On its own connection, closed after: a backend that exits reports its row counts at
    // once (an idle one within 10 s).
    let mut writer = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO scim_resources (target, resource_type, id, user_name_lc, data, version, created, last_modified) \
         SELECT 't1', 'User', 'u' || g, md5(g::text) || '@corp.example', '{}'::jsonb, 1, 'c', 'm' \
         FROM generate_series(1, 16000) g",
    )
    .execute(&mut writer)
    .await
    .unwrap();
    sqlx::Connection::close(writer).await.unwrap();
    assert!(reltuples(&pool).await <= 0.0, "statistics still say empty");
    let before = lookup_plan(&pool).await;
    assert!(
        before.contains("scim_resources_type_seq"),
        "the trap this guards against (Postgres 15): the paging index\n{before}"
    );
    let mut analyzed = false;
    for _ in 0..150 {
        analyzed = app.store().refresh_planner_stats().await.unwrap();
        if analyzed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(analyzed, "stale statistics were not refreshed");
    assert_eq!(reltuples(&pool).await, 16000.0);
    let after = lookup_plan(&pool).await;
    assert!(after.contains("scim_resources_user_name"), "{after}");
    assert!(
        !app.store().refresh_planner_stats().await.unwrap(),
        "fresh statistics are left alone"
    );
}

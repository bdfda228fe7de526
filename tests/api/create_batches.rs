//! Concurrent `POST /Users` share one statement and one commit on Postgres
//! (`store/create_batches.rs`) and one transaction on SQLite
//! (`store/create_batches_sqlite.rs`). Each request must still be answered for its own row only:
//! its 201 means its rows (resource, job, pending mapping, history) committed, a taken
//! userName is that request's 409, and one row that breaks the statement fails alone.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use scim_bridge::scim::ResourceType;
use scim_bridge::store::StoreError;
use scim_bridge::store::resources::ResourceWrite;

use crate::both;
use crate::helpers::*;

fn body(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Bat", "familyName": "Ch"},
        "emails": [{"value": name, "primary": true}],
    })
}

both!(
    concurrent_creates_each_answer_for_their_own_row,
    |b| async move {
        let app = Arc::new(spawn_app(b).await);
        let before = app.summary("scim_bridge_store_create_batch_rows").await;
        // 48 distinct users, and 8 userNames sent twice (other case): one 201 each, one 409.
        let mut names: Vec<String> = (0..48).map(|i| format!("batch{i}@corp.example")).collect();
        names.extend((0..8).map(|i| format!("BATCH{i}@corp.example")));
        let answers = join_all(names.iter().map(|n| {
            let app = Arc::clone(&app);
            let n = n.clone();
            async move {
                let (st, v) = app
                    .scim_json(Method::POST, "t1", "/Users", Some(body(&n)))
                    .await;
                (n, st, v)
            }
        }))
        .await;
        let mut by_lc: HashMap<String, Vec<(u16, Value)>> = HashMap::new();
        for (n, st, v) in answers {
            by_lc.entry(n.to_lowercase()).or_default().push((st, v));
        }
        assert_eq!(by_lc.len(), 48);
        for (n, got) in &by_lc {
            let created: Vec<&Value> = got
                .iter()
                .filter(|(s, _)| *s == 201)
                .map(|(_, v)| v)
                .collect();
            assert_eq!(created.len(), 1, "{n}: exactly one create wins: {got:?}");
            for (st, v) in got.iter().filter(|(s, _)| *s != 201) {
                assert_scim_error(*st, v, 409, Some("uniqueness"));
            }
            // The 201 is durable and complete: the resource reads back as answered, its job
            // is queued, its mapping pending, its history says accepted.
            let u = created[0];
            let id = u["id"].as_str().unwrap();
            let (st, read) = app
                .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
                .await;
            assert_eq!(st, 200);
            assert_eq!(&read, u, "{n}");
            let m = app
                .store()
                .get_mapping("t1", "User", id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.state, "pending");
            let (_, hist) = app.admin_get(&format!("/admin/v1/mappings/t1/{id}")).await;
            let h = hist["history"].as_array().unwrap();
            assert_eq!(h.len(), 1, "{hist}");
            assert_eq!(h[0]["message"], "accepted from the IdP (version 1)");
        }
        let q = app.store().queue_stats(i64::MAX).await.unwrap();
        assert_eq!(
            q.iter().map(|s| s.depth).sum::<i64>(),
            48,
            "one job per created user"
        );
        let (_, list) = app.admin_get("/admin/v1/mappings?target=t1").await;
        assert_eq!(
            list["mappings"].as_array().map(Vec::len),
            Some(48),
            "{list}"
        );
        let (st, all) = app
            .scim_json(Method::GET, "t1", "/Users?count=0", None)
            .await;
        assert_eq!((st, all["totalResults"].as_i64()), (200, Some(48)));
        let after = app.summary("scim_bridge_store_create_batch_rows").await;
        let (rows, statements) = (after.0 - before.0, after.1 - before.1);
        assert!(
            rows > statements,
            "{b:?}: 56 concurrent creates shared statements ({rows} rows in {statements})"
        );
    }
);

// The SCIM layer refuses indexed values over 1024 bytes, so no HTTP request can break a
// shared statement; the store's own callers could, and that must still fail alone.
both!(
    a_row_that_breaks_the_statement_fails_alone,
    |b| async move {
        let app = spawn_app(b).await;
        let store = app.store();
        // Too long for a btree index entry (random, so compression cannot shrink it):
        // Postgres refuses the insert, and with it the statement it is in.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let long: String = (0..3000)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + ((x >> 33) % 26) as u8)
            })
            .collect();
        let mut created = 0i64;
        // Bursts until a long row has shared a statement with others (Postgres), at most 8.
        for burst in 0..8 {
            let splits = app
                .metric("scim_bridge_store_create_batch_split_total")
                .await;
            let rows: Vec<(String, String, serde_json::Map<String, Value>)> = (0..88)
                .map(|i| {
                    let name = match i % 11 {
                        5 => format!("{long}{burst}-{i}@corp.example"),
                        _ => format!("ok{burst}-{i}@corp.example"),
                    };
                    let data = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                      "userName": name, "active": true});
                    let Value::Object(data) = data else {
                        unreachable!()
                    };
                    (format!("id-{burst}-{i}"), name, data)
                })
                .collect();
            let writes: Vec<ResourceWrite<'_>> = rows
                .iter()
                .map(|(id, _, data)| ResourceWrite {
                    target: "t1",
                    resource_type: ResourceType::User,
                    id,
                    data,
                    members: None,
                    now_ms: 1_700_000_000_000,
                    method: "POST",
                })
                .collect();
            let answers = join_all(writes.iter().map(|w| store.create_resource(w))).await;
            for ((_, name, _), res) in rows.iter().zip(&answers) {
                if name.starts_with("ok") {
                    assert!(res.is_ok(), "{name}: {res:?}");
                } else if b == Backend::Postgres {
                    // The caller's data, so a clear invalid value (400), not a server fault.
                    assert!(
                        matches!(res, Err(StoreError::Invalid(m)) if m.contains("too long")),
                        "{res:?}"
                    );
                }
            }
            created += answers.iter().filter(|r| r.is_ok()).count() as i64;
            if b == Backend::Sqlite
                || app
                    .metric("scim_bridge_store_create_batch_split_total")
                    .await
                    > splits
            {
                let (st, all) = app
                    .scim_json(Method::GET, "t1", "/Users?count=0", None)
                    .await;
                assert_eq!(st, 200);
                assert_eq!(
                    all["totalResults"].as_i64(),
                    Some(created),
                    "nothing lost, nothing half-written"
                );
                let q = app.store().queue_stats(i64::MAX).await.unwrap();
                assert_eq!(
                    q.iter().map(|s| s.depth).sum::<i64>(),
                    created,
                    "a job per row"
                );
                return;
            }
        }
        panic!("in 8 bursts of 88 creates no long row shared a statement");
    }
);

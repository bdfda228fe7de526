//! `startIndex` paging: walks give the same rows as one big page (keyset continuation is a
//! shortcut, not a different answer), and `totalResults` stays exact through creates and
//! deletes (trigger-kept counts for unfiltered lists, COUNT(*) for filtered ones).

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

async fn ids(app: &TestApp, query: &str) -> (i64, Vec<String>) {
    let (s, body) = app
        .scim_json(Method::GET, "t1", &format!("/Users?{query}"), None)
        .await;
    assert_eq!(s, 200, "{body}");
    let ids = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    (body["totalResults"].as_i64().unwrap(), ids)
}

async fn create(app: &TestApp, name: &str) -> String {
    let (s, u) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

both!(walks_match_one_page_and_totals_stay_exact, |b| async move {
    let app = spawn_app(b).await;
    for i in 0..25 {
        create(&app, &format!("page{i:02}@corp.example")).await;
    }
    let (total, all) = ids(&app, "count=100").await;
    assert_eq!((total, all.len()), (25, 25));
    // Walk twice: the first walk leaves hints, the second follows them.
    for _ in 0..2 {
        let mut walked = Vec::new();
        for start in [1, 11, 21] {
            let (total, page) = ids(&app, &format!("startIndex={start}&count=10")).await;
            assert_eq!(total, 25);
            walked.extend(page);
        }
        assert_eq!(walked, all);
    }
    // Out-of-order and past-the-end requests still use positions.
    assert_eq!(
        ids(&app, "startIndex=21&count=10").await.1,
        all[20..].to_vec()
    );
    assert_eq!(ids(&app, "startIndex=26&count=10").await, (25, vec![]));
    assert_eq!(
        ids(&app, "startIndex=6&count=10").await.1,
        all[5..15].to_vec()
    );

    // Deletes and creates keep totals exact on full pages (no COUNT(*) for unfiltered lists).
    for id in &all[..3] {
        let r = app
            .scim(Method::DELETE, "t1", &format!("/Users/{id}"), None)
            .await;
        assert_eq!(r.status(), 204);
    }
    create(&app, "late@corp.example").await;
    assert_eq!(ids(&app, "count=5").await.0, 23);
    assert_eq!(ids(&app, "count=0").await, (23, vec![]));
    // Filtered lists count the matches.
    let (total, page) = ids(&app, "filter=userName%20sw%20%22page1%22&count=4").await;
    assert_eq!((total, page.len()), (10, 4));
    // Another target's users are not counted.
    let (s, other) = app
        .scim_json(Method::GET, "t2", "/Users?count=1", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(other["totalResults"], Value::from(0));
});

both!(a_walk_is_not_shifted_by_deletes_behind_it, |b| async move {
    let app = spawn_app(b).await;
    for i in 0..20 {
        create(&app, &format!("shift{i:02}@corp.example")).await;
    }
    let (_, all) = ids(&app, "count=100").await;
    let (_, first) = ids(&app, "startIndex=1&count=10").await;
    assert_eq!(first, all[..10].to_vec());
    // A user the client has already seen goes away before it asks for the next page.
    let r = app
        .scim(Method::DELETE, "t1", &format!("/Users/{}", all[2]), None)
        .await;
    assert_eq!(r.status(), 204);
    // The next page continues after the last row served (OFFSET would skip all[10]).
    let (total, second) = ids(&app, "startIndex=11&count=10").await;
    assert_eq!(total, 19);
    assert_eq!(second, all[10..].to_vec());
});

both!(random_positions_without_a_walk, |b| async move {
    let app = spawn_app(b).await;
    for i in 0..12 {
        create(&app, &format!("pos{i:02}@corp.example")).await;
    }
    let (_, all) = ids(&app, "count=100").await;
    for start in [2, 5, 12, 13, 40] {
        let (total, page) = ids(&app, &format!("startIndex={start}&count=3")).await;
        assert_eq!(total, 12, "startIndex={start}");
        let from = (start - 1).min(12) as usize;
        assert_eq!(
            page,
            all[from..(from + 3).min(12)].to_vec(),
            "startIndex={start}"
        );
    }
    // With a filter and a sort the position is still honoured.
    let (total, page) = ids(&app, "filter=userName%20sw%20%22pos%22&sortBy=userName&sortOrder=descending&startIndex=4&count=2").await;
    assert_eq!(total, 12);
    let (_, mut desc) = ids(&app, "sortBy=userName&count=100").await;
    desc.reverse();
    assert_eq!(page, desc[3..5].to_vec());
});

/// Positions found from the block counts (Postgres, `page_position.rs`) match one big page
/// at every `startIndex`, across block boundaries, with empty and partly deleted blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_across_count_blocks_match_one_page() {
    let url = fresh_pg_database().await;
    let mut spawn = Spawn::new(Backend::Postgres);
    spawn.database_url = Some(url.clone());
    let app = spawn_with(spawn).await;
    for i in 0..5 {
        create(&app, &format!("low{i}@corp.example")).await;
    }
    // Rows with seq values far apart: blocks of 8192 hold 0, 1 or several of them, and
    // block boundaries fall between neighbours (8191 | 8192).
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let seqs: Vec<i64> = (0..30)
        .map(|i| 1_000_000 + i * 1500)
        .chain([8_191 * 200, 8_192 * 200, 8_192 * 200 + 1, 8_192 * 300 - 1])
        .collect();
    for (i, seq) in seqs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO scim_resources (target, resource_type, id, user_name_lc, label, data, \
             version, created, last_modified, seq) VALUES ('t1', 'User', $1, $2, $2, \
             jsonb_build_object('schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', $2), \
             1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', $3)",
        )
        .bind(format!("raw-{i:02}"))
        .bind(format!("raw{i:02}@corp.example"))
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    }
    let (_, before) = ids(&app, "count=100").await;
    // Deletes through SCIM: one whole block's row, and rows in shared blocks.
    for id in ["raw-00", "raw-07", "raw-08", "raw-31"] {
        assert!(before.contains(&id.to_string()));
        let r = app
            .scim(Method::DELETE, "t1", &format!("/Users/{id}"), None)
            .await;
        assert_eq!(r.status(), 204);
    }
    let late = create(&app, "late@corp.example").await;
    let (total, all) = ids(&app, "count=100").await;
    assert_eq!((total, all.len()), (36, 36));
    // Insertion order, not `created` (the raw rows claim an older `created`).
    assert_eq!(all[..5], before[..5]);
    assert_eq!(all[5], late);
    assert_eq!(all[6], "raw-01");
    // Highest position first, so no request follows a hint a previous page left.
    for k in (0..=37usize).rev() {
        let (t, page) = ids(&app, &format!("startIndex={}&count=3", k + 1)).await;
        assert_eq!(t, 36, "startIndex={}", k + 1);
        let from = k.min(36);
        assert_eq!(
            page,
            all[from..(from + 3).min(36)].to_vec(),
            "startIndex={}",
            k + 1
        );
    }
}

/// Upgrading a database made before migration 0003: existing rows keep their old order
/// (`created, id`), counts stay exact, and new rows come after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0003_numbers_existing_rows_in_their_old_order() {
    let url = fresh_pg_database().await;
    let old = tempfile::tempdir().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    for f in ["0001_init.sql", "0002_resource_counts.sql"] {
        std::fs::copy(format!("{dir}/{f}"), old.path().join(f)).unwrap();
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    // Inserted, created and id orders all differ: the old list order is by `created, id`.
    for (id, created) in [
        ("a", "2026-01-03"),
        ("z", "2026-01-01"),
        ("y2", "2026-01-02"),
        ("y1", "2026-01-02"),
    ] {
        sqlx::query(
            "INSERT INTO scim_resources (target, resource_type, id, user_name_lc, label, data, \
             version, created, last_modified) VALUES ('t1', 'User', $1, $1, $1, \
             jsonb_build_object('schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', $1), \
             1, $2, $2)",
        )
        .bind(id)
        .bind(format!("{created}T00:00:00.000Z"))
        .execute(&pool)
        .await
        .unwrap();
    }
    let mut spawn = Spawn::new(Backend::Postgres);
    spawn.database_url = Some(url);
    let app = spawn_with(spawn).await; // applies 0003
    let new = create(&app, "new@corp.example").await;
    let (total, all) = ids(&app, "count=100").await;
    assert_eq!(total, 5);
    assert_eq!(all, vec!["z", "y1", "y2", "a", new.as_str()]);
    let (total, page) = ids(&app, "startIndex=3&count=2").await;
    assert_eq!((total, page), (5, vec!["y2".to_string(), "a".to_string()]));
}

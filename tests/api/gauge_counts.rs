//! The gauges' trigger-kept counts (`store::gauge_counts`, migration 0004) equal a count of
//! the rows after every kind of write: bulk inserts, upserts that update, updates that move
//! rows between states and ones that don't, deletes, and compaction.

use scim_bridge::store::gauge_counts::QueueDepth;
use scim_bridge::store::{PoolOptions, Store};
use secrecy::SecretString;

use crate::both;
use crate::helpers::*;

enum Raw {
    Pg(sqlx::PgPool),
    Lite(sqlx::SqlitePool),
}

impl Raw {
    async fn exec(&self, sql: &'static str) {
        match self {
            Raw::Pg(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Raw::Lite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn mappings(&self) -> Vec<(String, String, i64)> {
        const SQL: &str = "SELECT target, state, COUNT(*) FROM sync_mappings \
                           GROUP BY target, state ORDER BY target, state";
        match self {
            Raw::Pg(p) => sqlx::query_as(SQL).fetch_all(p).await,
            Raw::Lite(p) => sqlx::query_as(SQL).fetch_all(p).await,
        }
        .unwrap()
    }

    async fn jobs(&self) -> Vec<QueueDepth> {
        const SQL: &str = "SELECT target, COUNT(*), MIN(enqueued_at) FROM sync_jobs \
                           GROUP BY target ORDER BY target";
        let rows: Vec<(String, i64, Option<i64>)> = match self {
            Raw::Pg(p) => sqlx::query_as(SQL).fetch_all(p).await,
            Raw::Lite(p) => sqlx::query_as(SQL).fetch_all(p).await,
        }
        .unwrap();
        rows.into_iter()
            .map(|(target, depth, oldest_enqueued_at)| QueueDepth {
                target,
                depth,
                oldest_enqueued_at,
            })
            .collect()
    }

    async fn count_rows(&self, sql: &'static str) -> i64 {
        match self {
            Raw::Pg(p) => sqlx::query_scalar(sql).fetch_one(p).await,
            Raw::Lite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        }
        .unwrap()
    }
}

async fn assert_counts(store: &Store, raw: &Raw, step: &str) {
    assert_eq!(
        store.mapping_counts().await.unwrap(),
        raw.mappings().await,
        "mappings by state after {step}"
    );
    assert_eq!(
        store.queue_depths().await.unwrap(),
        raw.jobs().await,
        "queue depths after {step}"
    );
}

const STEPS: &[(&str, &str)] = &[
    (
        "a bulk insert",
        "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300) \
         INSERT INTO sync_mappings (target, resource_type, resource_id, state, updated_at) \
         SELECT 'a', 'User', 'u' || i, CASE i % 3 WHEN 0 THEN 'pending' WHEN 1 THEN 'synced' ELSE 'failed' END, 0 FROM g; \
         WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 200) \
         INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
         SELECT CASE i % 2 WHEN 0 THEN 'a' ELSE 'b' END, 'User', 'u' || i, 1, i, 0, 1000 + i FROM g",
    ),
    (
        "upserts that update one row and insert another",
        "INSERT INTO sync_mappings (target, resource_type, resource_id, state, updated_at) \
         VALUES ('a', 'User', 'u1', 'retrying', 0), ('b', 'User', 'n1', 'pending', 0) \
         ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET state = excluded.state; \
         INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
         VALUES ('a', 'User', 'u2', 1, 0, 0, 5), ('b', 'User', 'n1', 1, 0, 0, 7) \
         ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET generation = sync_jobs.generation + 1",
    ),
    (
        "an update moving many rows",
        "UPDATE sync_mappings SET state = 'synced' WHERE state = 'pending'",
    ),
    (
        "updates that move nothing (claims, timestamps)",
        "UPDATE sync_mappings SET updated_at = updated_at + 1; \
         UPDATE sync_jobs SET locked_by = 'w', attempts = attempts + 1",
    ),
    (
        "deletes",
        "DELETE FROM sync_mappings WHERE resource_id LIKE 'u1%'; \
         DELETE FROM sync_jobs WHERE target = 'b' OR resource_id = 'u2'",
    ),
    (
        "deleting every row",
        "DELETE FROM sync_mappings; DELETE FROM sync_jobs",
    ),
];

both!(gauge_counts_equal_a_count_of_the_rows, |b| async move {
    let tmp = tempfile::tempdir().unwrap();
    let url = match b {
        Backend::Postgres => fresh_pg_database().await,
        Backend::Sqlite => format!("sqlite://{}", tmp.path().join("g.db").display()),
    };
    let store = Store::connect(&SecretString::from(url.clone()), PoolOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let raw = match b {
        Backend::Postgres => Raw::Pg(sqlx::PgPool::connect(&url).await.unwrap()),
        Backend::Sqlite => Raw::Lite(sqlx::SqlitePool::connect(&url).await.unwrap()),
    };
    assert_counts(&store, &raw, "migrating").await;
    for (i, (step, sql)) in STEPS.iter().enumerate() {
        raw.exec(sql).await;
        assert_counts(&store, &raw, step).await;
        if i % 2 == 1 {
            store.compact_gauge_counts().await.unwrap();
            assert_counts(&store, &raw, &format!("{step}, compacted")).await;
            let keys = store.mapping_counts().await.unwrap().len() as i64;
            let rows = raw
                .count_rows("SELECT COUNT(*) FROM sync_mapping_counts WHERE n <> 0")
                .await;
            assert_eq!(rows, keys, "one row per key after compaction");
        }
    }
    assert!(store.mapping_counts().await.unwrap().is_empty());
    assert!(store.queue_depths().await.unwrap().is_empty());
});

//! What the 10-second gauges read: mappings by state and queue depth per target, from the
//! trigger-kept count tables of migration 0004, so that a gauge costs a few rows whatever
//! the number of mappings and jobs. (A `GROUP BY` over 1M mappings was a parallel scan of
//! ~90 ms on both cores every 10 s; docs/performance.md, round 8.)
//!
//! On Postgres the count tables are append-only deltas (no row lock shared by writers) and
//! [`Store::compact_gauge_counts`] folds them into one row per key; on SQLite a trigger
//! updates one row per key. Either way a count is `SUM(n)` over its key.

use sqlx::Row;

use super::{Db, Store, StoreResult, with_pool};

/// One target's waiting jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub target: String,
    pub depth: i64,
    /// `enqueued_at` (epoch ms) of the oldest waiting job; `None` when the queue is empty.
    pub oldest_enqueued_at: Option<i64>,
}

impl Store {
    /// Mappings by target and state (states with no mapping are left out), ordered.
    pub async fn mapping_counts(&self) -> StoreResult<Vec<(String, String, i64)>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT target, state, CAST(SUM(n) AS BIGINT) AS n FROM sync_mapping_counts \
                 GROUP BY target, state HAVING SUM(n) <> 0 ORDER BY target, state",
            )
            .fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push((r.try_get("target")?, r.try_get("state")?, r.try_get("n")?));
            }
            Ok(out)
        })
    }

    /// Waiting jobs per target (targets with none are left out), ordered, with the oldest
    /// job's `enqueued_at` (one probe of `sync_jobs_oldest` per target).
    pub async fn queue_depths(&self) -> StoreResult<Vec<QueueDepth>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT d.target, d.depth, \
                   (SELECT MIN(j.enqueued_at) FROM sync_jobs j WHERE j.target = d.target) AS oldest \
                 FROM (SELECT target, CAST(SUM(n) AS BIGINT) AS depth FROM sync_job_counts \
                       GROUP BY target HAVING SUM(n) <> 0) d \
                 ORDER BY d.target",
            )
            .fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(QueueDepth {
                    target: r.try_get("target")?,
                    depth: r.try_get("depth")?,
                    oldest_enqueued_at: r.try_get("oldest")?,
                });
            }
            Ok(out)
        })
    }

    /// Folds the Postgres count deltas into one row per key (keys that sum to zero go).
    /// Safe beside writers and beside another replica compacting: each run deletes rows and
    /// re-inserts their sum in one statement. SQLite keeps one row per key already.
    pub async fn compact_gauge_counts(&self) -> StoreResult<()> {
        let Db::Pg(pool) = &self.db else {
            return Ok(());
        };
        for (table, key) in [
            ("sync_mapping_counts", "target, state"),
            ("sync_job_counts", "target"),
        ] {
            let sql = format!(
                "WITH gone AS (DELETE FROM {table} RETURNING {key}, n) \
                 INSERT INTO {table} ({key}, n) \
                 SELECT {key}, SUM(n) FROM gone GROUP BY {key} HAVING SUM(n) <> 0"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
        }
        Ok(())
    }
}

//! Claiming due jobs: a worker leases the oldest due jobs, of any target or of some.

use sqlx::{AssertSqlSafe, Row};

use super::jobs::Job;
use super::write_tx::with_writer;
use super::{Dialect, Store, StoreResult};

/// The claim statement: `$1` worker, `$2` lease end, `$3` now, `$4` limit, then `targets`
/// target names (`$5…`); with none, jobs of any target by `sync_jobs_due`.
fn claim_sql(dialect: Dialect, targets: usize) -> String {
    let lock = match dialect {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let due = "run_after <= $3 AND (locked_until IS NULL OR locked_until < $3)";
    let chosen = if targets == 0 {
        format!(
            "SELECT target, resource_type, resource_id FROM sync_jobs \
             WHERE {due} ORDER BY run_after LIMIT $4 {lock}"
        )
    } else {
        let branches: Vec<String> = (0..targets)
            .map(|i| {
                format!(
                    "SELECT * FROM (SELECT target, resource_type, resource_id, run_after FROM sync_jobs \
                     WHERE target = ${} AND {due} ORDER BY run_after LIMIT $4 {lock}) b{i}",
                    i + 5
                )
            })
            .collect();
        format!(
            "SELECT target, resource_type, resource_id FROM ({}) due ORDER BY run_after LIMIT $4",
            branches.join(" UNION ALL ")
        )
    };
    format!(
        "UPDATE sync_jobs SET locked_by = $1, locked_until = $2 \
         WHERE (target, resource_type, resource_id) IN ({chosen}) \
         RETURNING target, resource_type, resource_id, generation, attempts, enqueued_at"
    )
}

impl Store {
    /// Claims up to `limit` due jobs for this worker, leased until `now + lease_ms`, oldest
    /// `run_after` first, of any target (a job of a target no longer configured included:
    /// the worker fails it). Postgres: `FOR UPDATE SKIP LOCKED`, so replicas never claim
    /// the same job.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<Job>> {
        self.claim(worker, limit, now_ms, lease_ms, &[]).await
    }

    /// [`Self::claim_jobs`] from `targets` only (the engine's fair share of workers between
    /// targets, `sync::share`): the oldest due jobs of each, by `sync_jobs_target_due`, then
    /// the oldest of those. A target skipped costs nothing; through `run_after` alone the
    /// skipped targets' due jobs were all walked first, on every claim (round 27).
    pub async fn claim_jobs_of(
        &self,
        worker: &str,
        targets: &[String],
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<Job>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        self.claim(worker, limit, now_ms, lease_ms, targets).await
    }

    /// Leases the due jobs of `targets` (of any target when empty).
    async fn claim(
        &self,
        worker: &str,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
        targets: &[String],
    ) -> StoreResult<Vec<Job>> {
        let sql = claim_sql(self.dialect(), targets.len());
        with_writer!(self, p => {
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(worker).bind(now_ms + lease_ms).bind(now_ms).bind(limit);
            for t in targets {
                q = q.bind(t);
            }
            let rows = q.fetch_all(p).await?;
            let mut jobs = Vec::with_capacity(rows.len());
            for r in rows {
                jobs.push(Job {
                    target: r.try_get("target")?,
                    resource_type: r.try_get("resource_type")?,
                    resource_id: r.try_get("resource_id")?,
                    generation: r.try_get("generation")?,
                    attempts: r.try_get("attempts")?,
                    enqueued_at: r.try_get("enqueued_at")?,
                });
            }
            Ok(jobs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::write_tx::tests::sqlite_store;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Target `busy` has 300 due jobs older than any of `quiet`'s.
    async fn queue(store: &Store) {
        for i in 0..300 {
            store
                .enqueue("busy", "User", &format!("b{i:03}"), 1_000 + i)
                .await
                .unwrap();
        }
        store.enqueue("quiet", "User", "q1", 5_000).await.unwrap();
        store.enqueue("quiet", "User", "q2", 6_000).await.unwrap();
    }

    async fn ids(store: &Store, targets: &[String], limit: i64) -> Vec<String> {
        store
            .claim_jobs_of("w", targets, limit, 10_000, 60_000)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.resource_id)
            .collect()
    }

    #[tokio::test]
    async fn a_claim_from_some_targets_takes_their_oldest_due_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        queue(&store).await;
        assert_eq!(ids(&store, &names(&["quiet"]), 1).await, ["q1"]);
        assert_eq!(
            ids(&store, &names(&["quiet", "busy"]), 2).await,
            ["b000", "b001"]
        );
        assert_eq!(
            ids(&store, &names(&["nobody"]), 1).await,
            Vec::<String>::new()
        );
        assert!(ids(&store, &[], 1).await.is_empty(), "no target: nothing");
        // Leased jobs are skipped; a job not yet due is not taken.
        store
            .enqueue("quiet", "User", "later", 20_000)
            .await
            .unwrap();
        assert_eq!(ids(&store, &names(&["quiet"]), 5).await, ["q2"]);
        let any = store.claim_jobs("w", 1, 10_000, 60_000).await.unwrap();
        assert_eq!(any[0].resource_id, "b002", "any target: the oldest due job");
    }

    /// The claim seeks each named target's due jobs by `sync_jobs_target_due`: it never walks
    /// `sync_jobs_due`, where a skipped target's due jobs come first (round 27).
    #[tokio::test]
    async fn a_claim_from_some_targets_seeks_each_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        queue(&store).await;
        let crate::store::Db::Sqlite(pool) = &store.db else {
            panic!("sqlite")
        };
        let sql = format!("EXPLAIN QUERY PLAN {}", claim_sql(Dialect::Sqlite, 2));
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind("w")
            .bind(0_i64)
            .bind(10_000_i64)
            .bind(1_i64)
            .bind("quiet")
            .bind("busy")
            .fetch_all(pool)
            .await
            .unwrap();
        let plan: Vec<String> = rows.into_iter().map(|r| r.3).collect();
        let seeks = plan
            .iter()
            .filter(|d| d.contains("USING INDEX sync_jobs_target_due (target=? AND run_after<?)"))
            .count();
        assert_eq!(seeks, 2, "{plan:#?}");
        assert!(
            !plan.iter().any(|d| d.contains("sync_jobs_due ")),
            "{plan:#?}"
        );
    }
}

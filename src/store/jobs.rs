//! The outbox: one job row per resource that needs converging. Writes upsert it (bumping
//! `generation`), workers claim due jobs under a lease and finish them with the outcome.

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};

use super::write_tx::with_writer;
use super::{Store, StoreError, StoreResult, with_pool};
use crate::connectors::{CallRecord, SyncState, VendorLink};

/// Upserts the job of one resource inside a write transaction.
macro_rules! enqueue_in {
    ($conn:expr, $target:expr, $rt:expr, $id:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
             VALUES ($1, $2, $3, 1, $4, 0, $4) \
             ON CONFLICT (target, resource_type, resource_id) DO UPDATE \
             SET generation = sync_jobs.generation + 1, run_after = $4, attempts = 0",
        )
        .bind($target)
        .bind($rt)
        .bind($id)
        .bind($now)
        .execute($conn)
        .await?;
    };
}
pub(crate) use enqueue_in;

/// Enqueues every member of a group (their group-derived roles may change).
macro_rules! enqueue_members_in {
    ($conn:expr, $target:expr, $group_id:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
             SELECT target, 'User', member_id, 1, $3, 0, $3 FROM scim_group_members WHERE target = $1 AND group_id = $2 \
             ORDER BY member_id \
             ON CONFLICT (target, resource_type, resource_id) DO UPDATE \
             SET generation = sync_jobs.generation + 1, run_after = $3, attempts = 0",
        )
        .bind($target)
        .bind($group_id)
        .bind($now)
        .execute($conn)
        .await?;
    };
}
pub(crate) use enqueue_members_in;

/// Marks the mapping pending (creating it when new) and records the accepted IdP write.
macro_rules! record_accepted_in {
    ($conn:expr, $target:expr, $rt:expr, $id:expr, $key:expr, $now:expr, $method:expr, $version:expr) => {
        sqlx::query(
            "INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, '{}') \
             ON CONFLICT (target, resource_type, resource_id) DO UPDATE \
             SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending', \
                 attempts = 0, next_attempt = NULL, updated_at = $5",
        )
        .bind($target)
        .bind($rt)
        .bind($id)
        .bind($key)
        .bind($now)
        .execute($conn)
        .await?;
        sqlx::query(
            "INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message) \
             VALUES ($1, $2, $3, $4, 'scim', $5, $6)",
        )
        .bind($target)
        .bind($rt)
        .bind($id)
        .bind($now)
        .bind($method)
        .bind(format!("accepted from the IdP (version {})", $version))
        .execute($conn)
        .await?;
    };
}
pub(crate) use record_accepted_in;

/// Refuses group members that are not users of the target. `$lock` is `" FOR SHARE"` on
/// Postgres: a user being deleted is then either gone before the check (refused) or
/// deleted after the membership's commit (its DELETE removes the membership), never
/// deleted between the check and the commit, which left a membership naming no user.
macro_rules! check_members {
    ($conn:expr, $target:expr, $members:expr, $lock:expr) => {
        for chunk in $members.chunks(500) {
            let ph: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT id FROM scim_resources WHERE target = $1 AND resource_type = 'User' AND id IN ({}){}",
                ph.join(", "),
                $lock
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind($target);
            for m in chunk {
                q = q.bind(m);
            }
            let found: std::collections::HashSet<String> = q
                .fetch_all($conn)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?;
            if let Some(missing) = chunk.iter().find(|m| !found.contains(*m)) {
                return Err($crate::store::StoreError::Invalid(format!(
                    "group member `{missing}` is not a user of this target"
                )));
            }
        }
    };
}
pub(crate) use check_members;

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub target: String,
    pub resource_type: String,
    pub resource_id: String,
    pub generation: i64,
    pub attempts: i32,
    pub enqueued_at: i64,
}

/// How a job ended, to be recorded.
#[derive(Debug, Clone)]
pub enum JobResult {
    Done {
        link: VendorLink,
        state: SyncState,
        note: Option<String>,
    },
    /// Try again at `next_attempt_ms`.
    Retry { error: String, next_attempt_ms: i64 },
    /// Give up until the resource changes or an admin retries.
    Failed { error: String },
}

/// Queue depth per target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueStat {
    pub target: String,
    pub depth: i64,
    pub due: i64,
    pub oldest_enqueued_at: Option<i64>,
}

impl Store {
    /// Records a job's outcome: mapping row, history (every vendor call and the outcome) and
    /// the job itself (deleted when done and not re-dirtied meanwhile, else released), in one
    /// transaction. Returns false when this worker no longer held the lease.
    pub async fn finish_job(
        &self,
        worker: &str,
        job: &Job,
        calls: &[CallRecord],
        result: &JobResult,
        now_ms: i64,
    ) -> StoreResult<bool> {
        use super::write_tx::BeginWrite;
        let (state, outcome_msg) = match result {
            JobResult::Done { state, note, .. } => (
                state.as_str(),
                match note {
                    Some(n) => format!("{}: {n}", state.as_str()),
                    None => state.as_str().to_string(),
                },
            ),
            JobResult::Retry { error, .. } => ("retrying", format!("will retry: {error}")),
            JobResult::Failed { error } => ("failed", format!("failed: {error}")),
        };
        let lock = match self.dialect() {
            super::Dialect::Postgres => " FOR UPDATE",
            super::Dialect::Sqlite => "",
        };
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            // Lock the job row first (Postgres): the same order as SCIM writes, which lock the
            // job before the mapping, so the two never deadlock.
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT generation FROM sync_jobs WHERE target = $1 AND resource_type = $2 AND resource_id = $3 AND locked_by = $4{lock}"
            )))
            .bind(&job.target).bind(&job.resource_type).bind(&job.resource_id).bind(worker)
            .fetch_optional(&mut *tx).await?;
            let Some(held) = held else {
                tx.rollback().await?;
                return Ok(false);
            };
            let generation: i64 = held.try_get("generation")?;
            let dirty = generation != job.generation;
            // The mapping shows the job's own count of failed attempts (what max_attempts is
            // checked against), not a running total: a newer write (dirty) starts it over.
            let failed_attempts = if dirty { 0 } else { job.attempts.saturating_add(1) };
            // Every call, then the outcome, in as few statements as the chunk size allows
            // (one for any usual job): a statement is a round trip, or on SQLite a hop to
            // the connection's thread, and the one writer waits for them all.
            let chunks: Vec<&[CallRecord]> = if calls.is_empty() {
                vec![&[]]
            } else {
                calls.chunks(super::history_rows::HISTORY_CHUNK).collect()
            };
            let last = chunks.len() - 1;
            for (i, chunk) in chunks.into_iter().enumerate() {
                let outcome = (i == last).then_some(outcome_msg.as_str());
                let mut q = sqlx::query(AssertSqlSafe(super::history_rows::history_sql(chunk.len(), outcome.is_some())))
                    .bind(&job.target).bind(&job.resource_type).bind(&job.resource_id).bind(now_ms);
                for c in chunk {
                    q = q.bind(&c.method).bind(&c.path).bind(c.status.map(i32::from)).bind(&c.outcome);
                }
                if let Some(o) = outcome {
                    q = q.bind(o);
                }
                q.execute(&mut *tx).await?;
            }
            match result {
                JobResult::Done { link, .. } => {
                    let applied = serde_json::to_string(&link.applied).unwrap_or_else(|_| "{}".into());
                    // A newer write is pending: the row stays pending for it.
                    let shown = if dirty { "pending" } else { state };
                    sqlx::query(
                        "UPDATE sync_mappings SET vendor_id = $4, vendor_key = $5, vendor_status = $6, state = $7, \
                         last_error = NULL, attempts = 0, next_attempt = NULL, last_synced = $8, updated_at = $8, applied = $9 \
                         WHERE target = $1 AND resource_type = $2 AND resource_id = $3",
                    )
                    .bind(&job.target).bind(&job.resource_type).bind(&job.resource_id)
                    .bind(&link.vendor_id).bind(&link.vendor_key).bind(&link.vendor_status).bind(shown)
                    .bind(now_ms).bind(applied)
                    .execute(&mut *tx).await?;
                }
                JobResult::Retry { error, next_attempt_ms } => {
                    sqlx::query(
                        "UPDATE sync_mappings SET state = 'retrying', last_error = $4, attempts = $7, \
                         next_attempt = $5, updated_at = $6 WHERE target = $1 AND resource_type = $2 AND resource_id = $3",
                    )
                    .bind(&job.target).bind(&job.resource_type).bind(&job.resource_id)
                    .bind(error).bind(if dirty { now_ms } else { *next_attempt_ms }).bind(now_ms)
                    .bind(failed_attempts)
                    .execute(&mut *tx).await?;
                }
                JobResult::Failed { error } => {
                    sqlx::query(
                        "UPDATE sync_mappings SET state = $4, last_error = $5, attempts = $7, \
                         next_attempt = NULL, updated_at = $6 WHERE target = $1 AND resource_type = $2 AND resource_id = $3",
                    )
                    .bind(&job.target).bind(&job.resource_type).bind(&job.resource_id)
                    .bind(if dirty { "pending" } else { "failed" }).bind(error).bind(now_ms)
                    .bind(failed_attempts)
                    .execute(&mut *tx).await?;
                }
            }
            let key = (&job.target, &job.resource_type, &job.resource_id);
            match (result, dirty) {
                // Re-dirtied while we worked: release it to run again now.
                (_, true) => {
                    sqlx::query("UPDATE sync_jobs SET locked_by = NULL, locked_until = NULL, attempts = 0 \
                                 WHERE target = $1 AND resource_type = $2 AND resource_id = $3")
                        .bind(key.0).bind(key.1).bind(key.2).execute(&mut *tx).await?;
                }
                (JobResult::Retry { next_attempt_ms, .. }, false) => {
                    sqlx::query("UPDATE sync_jobs SET locked_by = NULL, locked_until = NULL, attempts = attempts + 1, run_after = $4 \
                                 WHERE target = $1 AND resource_type = $2 AND resource_id = $3")
                        .bind(key.0).bind(key.1).bind(key.2).bind(*next_attempt_ms).execute(&mut *tx).await?;
                }
                (_, false) => {
                    sqlx::query("DELETE FROM sync_jobs WHERE target = $1 AND resource_type = $2 AND resource_id = $3 AND generation = $4")
                        .bind(key.0).bind(key.1).bind(key.2).bind(job.generation).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Enqueues a job outside a SCIM write (admin retry, a member's account appearing, reconcile).
    pub async fn enqueue(&self, target: &str, rt: &str, id: &str, now_ms: i64) -> StoreResult<()> {
        use super::write_tx::BeginWrite;
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            enqueue_in!(&mut *tx, target, rt, id, now_ms);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Depth, due count and oldest job per target.
    pub async fn queue_stats(&self, now_ms: i64) -> StoreResult<Vec<QueueStat>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT target, COUNT(*) AS depth, SUM(CASE WHEN run_after <= $1 THEN 1 ELSE 0 END) AS due, \
                 MIN(enqueued_at) AS oldest FROM sync_jobs GROUP BY target ORDER BY target",
            )
            .bind(now_ms)
            .fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows {
                out.push(QueueStat {
                    target: r.try_get("target")?,
                    depth: r.try_get("depth")?,
                    due: r.try_get::<Option<i64>, _>("due")?.unwrap_or(0),
                    oldest_enqueued_at: r.try_get("oldest")?,
                });
            }
            Ok(out)
        })
    }
}

/// Reads `applied` JSON text.
pub(crate) fn parse_applied(s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("applied: {e}")))
}

//! Keeps a periodic background run (reconcile, the Abnormal sweep) to one replica at a
//! time: on Postgres a transaction holding `pg_try_advisory_xact_lock`, on SQLite nothing
//! (one process owns the file).

use sqlx::Row;

use super::{Db, Store, StoreResult};

/// What the lock is for; each (run, target) pair has its own lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Periodic drift detection of a write target.
    Reconcile,
    /// The poll of an enrichment source (Abnormal).
    EnrichmentSweep,
}

impl Run {
    fn key_prefix(self) -> &'static str {
        match self {
            Run::Reconcile => "scim-bridge:reconcile:",
            Run::EnrichmentSweep => "scim-bridge:enrichment-sweep:",
        }
    }
}

/// Held while a run goes on: on Postgres an open transaction holding the advisory lock.
/// [`RunLock::release`] ends it before returning; a lock that is only dropped (panic,
/// cancellation) is released too, but asynchronously: sqlx queues the rollback, so for a
/// moment another replica may still find it held. A dead connection releases it as well.
pub struct RunLock {
    tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

impl RunLock {
    /// Ends the run: the lock is free for other replicas when this returns (a failed
    /// rollback closes the connection, which frees it as well).
    pub async fn release(mut self) {
        if let Some(tx) = self.tx.take()
            && let Err(e) = tx.rollback().await
        {
            tracing::debug!(error = %e, "run lock: rollback failed; the connection is dropped");
        }
    }
}

/// A stable 63-bit key for the advisory lock of one run of one target.
fn lock_key(run: Run, target: &str) -> i64 {
    // FNV-1a: stable across builds and processes (unlike the std hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run.key_prefix().bytes().chain(target.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) as i64
}

impl Store {
    /// Takes the lock of `run` for `target` if no other replica holds it (Postgres);
    /// always succeeds on SQLite.
    pub async fn try_run_lock(&self, run: Run, target: &str) -> StoreResult<Option<RunLock>> {
        match &self.db {
            Db::Pg(p) => {
                let mut tx = p.begin().await?;
                let got: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS ok")
                    .bind(lock_key(run, target))
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("ok")?;
                Ok(got.then_some(RunLock { tx: Some(tx) }))
            }
            Db::Sqlite(_) => Ok(Some(RunLock { tx: None })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_per_run_and_target_and_are_stable() {
        let r = Run::Reconcile;
        assert_ne!(lock_key(r, "a"), lock_key(r, "b"));
        assert_ne!(lock_key(r, "a"), lock_key(Run::EnrichmentSweep, "a"));
        assert_eq!(lock_key(r, "a"), lock_key(r, "a"));
        assert!(lock_key(r, "a") >= 0);
    }
}

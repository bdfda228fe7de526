//! Table statistics the lookup's plan depends on (Postgres).
//!
//! Without column statistics, Postgres estimates both the unique userName index and the
//! `(target, resource_type, seq)` paging index at one row for the lookup an IdP sends
//! before every create, and may take the paging index: then every lookup reads every user
//! of the target (12–15 ms at 25k users against ~0.1 ms; docs/performance.md, round 7).
//! Autovacuum analyzes soon after the first writes, but it can be off, and the first
//! import of a new database is exactly when lookups come fastest. So the bridge analyzes
//! `scim_resources` itself when the table has more than doubled since it was last
//! analyzed (and changed by at least [`MIN_CHANGES`] rows): that catches a table analyzed
//! empty or small, and leaves a large table to autovacuum.

use sqlx::Row;

use super::{Db, Store, StoreResult};

/// Fewer changed rows than this never trigger an ANALYZE (a scan of a few hundred rows is
/// cheap whatever the plan).
pub const MIN_CHANGES: f64 = 1000.0;

/// Whether a table with `reltuples` (Postgres' last estimate; -1 = never analyzed) and
/// `changed` rows since its last ANALYZE should be analyzed now.
pub fn stale(reltuples: f64, changed: f64) -> bool {
    changed >= MIN_CHANGES && changed > reltuples.max(0.0)
}

impl Store {
    /// Analyzes `scim_resources` when its statistics are stale by [`stale`]. Returns
    /// whether it did. SQLite: nothing to do (its planner prefers the unique index
    /// without statistics).
    pub async fn refresh_planner_stats(&self) -> StoreResult<bool> {
        let Db::Pg(pool) = &self.db else {
            return Ok(false);
        };
        let row = sqlx::query(
            "SELECT c.reltuples::float8 AS reltuples, s.n_mod_since_analyze::float8 AS changed \
             FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid \
             WHERE c.oid = to_regclass('scim_resources')",
        )
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let reltuples: f64 = row.try_get("reltuples")?;
        let changed: f64 = row.try_get("changed")?;
        if !stale(reltuples, changed) {
            return Ok(false);
        }
        sqlx::query("ANALYZE scim_resources").execute(pool).await?;
        tracing::info!(
            rows_at_last_analyze = reltuples,
            changed,
            "analyzed scim_resources (statistics were stale)"
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::stale;

    #[test]
    fn a_table_analyzed_empty_or_small_is_stale_once_it_doubles() {
        assert!(!stale(-1.0, 999.0), "a few hundred rows are cheap to scan");
        assert!(stale(-1.0, 1000.0), "never analyzed");
        assert!(stale(0.0, 25_000.0), "analyzed empty");
        assert!(!stale(10_000.0, 9_000.0));
        assert!(stale(10_000.0, 10_001.0));
        assert!(!stale(1_000_000.0, 50_000.0), "left to autovacuum");
    }
}

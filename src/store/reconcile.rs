//! Store side of reconcile: the target's SCIM users, drift marks in the mapping table,
//! queued repairs, and the Postgres advisory lock that keeps periodic reconcile to one
//! replica at a time.

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::types::Json;

use super::resources::BeginWrite;
use super::{Db, Store, StoreResult, with_pool};

/// Keys of `VendorLink::applied` that are history, not "what was last applied": kept when a
/// repair clears the rest so the connector re-sends every attribute.
const HISTORY_KEYS: [&str; 2] = ["previous_user_ids", "revoked_keys"];

/// `applied` without the remembered attributes (history kept).
pub fn forget_applied(applied: &Value) -> Value {
    let mut m = Map::new();
    if let Some(o) = applied.as_object() {
        for k in HISTORY_KEYS {
            if let Some(v) = o.get(k) {
                m.insert(k.to_string(), v.clone());
            }
        }
    }
    Value::Object(m)
}

/// Held while a periodic reconcile runs: on Postgres an open transaction holding
/// `pg_try_advisory_xact_lock` (released when dropped or finished, even on panic).
pub struct RunLock {
    _tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

/// A stable 63-bit key for the advisory lock of one target's reconcile.
fn lock_key(target: &str) -> i64 {
    // FNV-1a: stable across builds and processes (unlike the std hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "scim-bridge:reconcile:".bytes().chain(target.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) as i64
}

impl Store {
    /// Every SCIM user of a target: (id, canonical data).
    pub async fn target_users(
        &self,
        target: &str,
    ) -> StoreResult<Vec<(String, Map<String, Value>)>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, data FROM scim_resources WHERE target = $1 AND resource_type = 'User' ORDER BY id",
            )
            .bind(target)
            .fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows {
                let Json(data): Json<Map<String, Value>> = r.try_get("data")?;
                out.push((r.try_get("id")?, data));
            }
            Ok(out)
        })
    }

    /// Marks a settled user mapping as drifted (`last_error` says how). In-flight or failed
    /// mappings keep their state: their own sync reports them.
    pub async fn mark_drift(
        &self,
        target: &str,
        id: &str,
        message: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        with_pool!(self, p => {
            let r = sqlx::query(
                "UPDATE sync_mappings SET state = 'drift', last_error = $3, updated_at = $4 \
                 WHERE target = $1 AND resource_type = 'User' AND resource_id = $2 \
                 AND state IN ('synced', 'deprovisioned', 'drift')",
            )
            .bind(target).bind(id).bind(message).bind(now_ms)
            .execute(p).await?;
            Ok(r.rows_affected() > 0)
        })
    }

    /// A drifted mapping that reconcile now finds in order goes back to `state`.
    pub async fn clear_drift(
        &self,
        target: &str,
        id: &str,
        state: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        with_pool!(self, p => {
            sqlx::query(
                "UPDATE sync_mappings SET state = $3, last_error = NULL, updated_at = $4 \
                 WHERE target = $1 AND resource_type = 'User' AND resource_id = $2 AND state = 'drift'",
            )
            .bind(target).bind(id).bind(state).bind(now_ms)
            .execute(p).await?;
            Ok(())
        })
    }

    /// Queues the repair of one user in one transaction: forgets the applied attributes (so
    /// the connector re-sends them), adopts `vendor_id` when given, marks the mapping
    /// pending, enqueues the job and records one admin history event per message.
    pub async fn queue_repair(
        &self,
        target: &str,
        id: &str,
        vendor_id: Option<&str>,
        messages: &[String],
        now_ms: i64,
    ) -> StoreResult<()> {
        with_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row = sqlx::query(
                "SELECT applied FROM sync_mappings WHERE target = $1 AND resource_type = 'User' AND resource_id = $2",
            )
            .bind(target).bind(id)
            .fetch_optional(&mut *tx).await?;
            if let Some(r) = row {
                let applied: String = r.try_get("applied")?;
                let old = super::jobs::parse_applied(&applied)?;
                let new = forget_applied(&old).to_string();
                sqlx::query(
                    "UPDATE sync_mappings SET applied = $3, vendor_id = COALESCE($4, vendor_id), \
                     state = 'pending', next_attempt = NULL, updated_at = $5 \
                     WHERE target = $1 AND resource_type = 'User' AND resource_id = $2",
                )
                .bind(target).bind(id).bind(new).bind(vendor_id).bind(now_ms)
                .execute(&mut *tx).await?;
            }
            super::jobs::enqueue_in!(&mut *tx, target, "User", id, now_ms);
            for m in messages {
                sqlx::query(
                    "INSERT INTO sync_history (target, resource_type, resource_id, at, kind, message) \
                     VALUES ($1, 'User', $2, $3, 'admin', $4)",
                )
                .bind(target).bind(id).bind(now_ms).bind(m)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Takes the reconcile lock of `target` if no other replica holds it (Postgres);
    /// always succeeds on SQLite (one process).
    pub async fn try_reconcile_lock(&self, target: &str) -> StoreResult<Option<RunLock>> {
        match &self.db {
            Db::Pg(p) => {
                let mut tx = p.begin().await?;
                let got: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS ok")
                    .bind(lock_key(target))
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("ok")?;
                Ok(got.then_some(RunLock { _tx: Some(tx) }))
            }
            Db::Sqlite(_) => Ok(Some(RunLock { _tx: None })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forget_keeps_history_only() {
        let a = json!({"role": "ROLE_VIEW", "enabled": true, "previous_user_ids": ["1"], "revoked_keys": ["K"]});
        assert_eq!(
            forget_applied(&a),
            json!({"previous_user_ids": ["1"], "revoked_keys": ["K"]})
        );
        assert_eq!(forget_applied(&Value::Null), json!({}));
    }

    #[test]
    fn lock_keys_differ_per_target_and_are_stable() {
        assert_ne!(lock_key("a"), lock_key("b"));
        assert_eq!(lock_key("a"), lock_key("a"));
        assert!(lock_key("a") >= 0);
    }
}

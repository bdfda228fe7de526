//! Store side of reconcile: the target's SCIM users, drift marks in the mapping table,
//! queued repairs (the lock that keeps periodic reconcile to one replica is in
//! [`super::run_lock`]).

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::types::Json;

use super::write_tx::BeginWrite;
use super::write_tx::with_writer;
use super::{Store, StoreResult, with_pool};

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
        with_writer!(self, p => {
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
        with_writer!(self, p => {
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
        with_writer!(self, p => {
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
}

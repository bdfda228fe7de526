//! The mapping table and its history: what admins read to answer "why doesn't jane have
//! access", and what workers read to know which vendor object a resource is.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};

use super::jobs::parse_applied;
use super::write_tx::with_writer;
use super::{Store, StoreResult, with_pool};
use crate::connectors::{MemberRef, VendorLink};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingRow {
    pub target: String,
    pub resource_type: String,
    pub resource_id: String,
    pub scim_key: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_key: Option<String>,
    pub vendor_status: Option<String>,
    pub state: String,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub next_attempt: Option<i64>,
    pub last_synced: Option<i64>,
    pub updated_at: i64,
    pub applied: serde_json::Value,
}

impl MappingRow {
    pub fn link(&self) -> VendorLink {
        VendorLink {
            vendor_id: self.vendor_id.clone(),
            vendor_key: self.vendor_key.clone(),
            vendor_status: self.vendor_status.clone(),
            applied: self.applied.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<i32>,
    pub message: Option<String>,
}

/// Which mappings to list.
#[derive(Debug, Clone, Default)]
pub struct MappingFilter {
    pub target: Option<String>,
    pub state: Option<String>,
    /// Case-insensitive substring of the SCIM key, or an exact SCIM / vendor id.
    pub search: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

const MAPPING_COLUMNS: &str = "target, resource_type, resource_id, scim_key, vendor_id, vendor_key, vendor_status, \
     state, last_error, attempts, next_attempt, last_synced, updated_at, applied";

macro_rules! row_to_mapping {
    ($r:expr) => {{
        let r = $r;
        let applied: String = r.try_get("applied")?;
        MappingRow {
            target: r.try_get("target")?,
            resource_type: r.try_get("resource_type")?,
            resource_id: r.try_get("resource_id")?,
            scim_key: r.try_get("scim_key")?,
            vendor_id: r.try_get("vendor_id")?,
            vendor_key: r.try_get("vendor_key")?,
            vendor_status: r.try_get("vendor_status")?,
            state: r.try_get("state")?,
            last_error: r.try_get("last_error")?,
            attempts: r.try_get("attempts")?,
            next_attempt: r.try_get("next_attempt")?,
            last_synced: r.try_get("last_synced")?,
            updated_at: r.try_get("updated_at")?,
            applied: parse_applied(&applied)?,
        }
    }};
}

impl Store {
    pub async fn get_mapping(
        &self,
        target: &str,
        rt: &str,
        id: &str,
    ) -> StoreResult<Option<MappingRow>> {
        let sql = format!(
            "SELECT {MAPPING_COLUMNS} FROM sync_mappings WHERE target = $1 AND resource_type = $2 AND resource_id = $3"
        );
        with_pool!(self, p => {
            match sqlx::query(AssertSqlSafe(sql)).bind(target).bind(rt).bind(id).fetch_optional(p).await? {
                Some(r) => Ok(Some(row_to_mapping!(r))),
                None => Ok(None),
            }
        })
    }

    /// A page of mappings and the total.
    pub async fn list_mappings(&self, f: &MappingFilter) -> StoreResult<(i64, Vec<MappingRow>)> {
        let mut conds = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        if let Some(t) = &f.target {
            binds.push(t.clone());
            conds.push(format!("target = ${}", binds.len()));
        }
        if let Some(s) = &f.state {
            binds.push(s.clone());
            conds.push(format!("state = ${}", binds.len()));
        }
        if let Some(q) = &f.search {
            let escaped = q
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            binds.push(format!("%{escaped}%"));
            let like = binds.len();
            binds.push(q.clone());
            let exact = binds.len();
            conds.push(format!(
                "(lower(scim_key) LIKE ${like} ESCAPE '\\' OR lower(vendor_key) LIKE ${like} ESCAPE '\\' \
                 OR resource_id = ${exact} OR vendor_id = ${exact})"
            ));
        }
        let where_ = conds.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS n FROM sync_mappings WHERE {where_}");
        let page_sql = format!(
            "SELECT {MAPPING_COLUMNS} FROM sync_mappings WHERE {where_} \
             ORDER BY target, resource_type, scim_key, resource_id LIMIT {} OFFSET {}",
            f.limit.clamp(0, 10_000),
            f.offset.max(0)
        );
        with_pool!(self, p => {
            let mut cq = sqlx::query(AssertSqlSafe(count_sql));
            for b in &binds { cq = cq.bind(b); }
            let total: i64 = cq.fetch_one(p).await?.try_get("n")?;
            let mut pq = sqlx::query(AssertSqlSafe(page_sql));
            for b in &binds { pq = pq.bind(b); }
            let mut rows = Vec::new();
            for r in pq.fetch_all(p).await? {
                rows.push(row_to_mapping!(r));
            }
            Ok((total, rows))
        })
    }

    /// Mappings matching a SCIM id, a userName/displayName (case-insensitive) or a vendor id.
    pub async fn find_mappings(
        &self,
        key: &str,
        target: Option<&str>,
    ) -> StoreResult<Vec<MappingRow>> {
        let sql = format!(
            "SELECT {MAPPING_COLUMNS} FROM sync_mappings WHERE (resource_id = $1 OR lower(scim_key) = $2 OR vendor_id = $1 \
             OR lower(vendor_key) = $2) AND ($3 = '' OR target = $3) ORDER BY target, resource_type LIMIT 100"
        );
        with_pool!(self, p => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(key).bind(key.to_lowercase()).bind(target.unwrap_or(""))
                .fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows { out.push(row_to_mapping!(r)); }
            Ok(out)
        })
    }

    /// The newest `limit` history events of a resource, oldest first.
    pub async fn history(
        &self,
        target: &str,
        id: &str,
        limit: i64,
    ) -> StoreResult<Vec<HistoryRow>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, at, kind, method, path, status, message FROM sync_history \
                 WHERE target = $1 AND resource_id = $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(target).bind(id).bind(limit)
            .fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows {
                out.push(HistoryRow {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    method: r.try_get("method")?,
                    path: r.try_get("path")?,
                    status: r.try_get("status")?,
                    message: r.try_get("message")?,
                });
            }
            out.reverse();
            Ok(out)
        })
    }

    /// Group members with their vendor ids (None when not yet provisioned).
    pub async fn member_links(&self, target: &str, group_id: &str) -> StoreResult<Vec<MemberRef>> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT gm.member_id, m.vendor_id FROM scim_group_members gm \
                 LEFT JOIN sync_mappings m ON m.target = gm.target AND m.resource_type = 'User' AND m.resource_id = gm.member_id \
                 WHERE gm.target = $1 AND gm.group_id = $2 ORDER BY gm.member_id",
            )
            .bind(target).bind(group_id)
            .fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows {
                out.push(MemberRef { scim_id: r.try_get("member_id")?, vendor_id: r.try_get("vendor_id")? });
            }
            Ok(out)
        })
    }

    /// Re-enqueues failed (or all matching) mappings; returns how many. Records an admin event.
    pub async fn retry_mappings(
        &self,
        target: Option<&str>,
        resource_id: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> StoreResult<u64> {
        use super::write_tx::BeginWrite;
        let state_cond = if resource_id.is_some() {
            "1 = 1"
        } else {
            "state IN ('failed', 'retrying')"
        };
        let sql = format!(
            "SELECT target, resource_type, resource_id FROM sync_mappings \
             WHERE {state_cond} AND ($1 = '' OR target = $1) AND ($2 = '' OR resource_id = $2)"
        );
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(target.unwrap_or("")).bind(resource_id.unwrap_or(""))
                .fetch_all(&mut *tx).await?;
            let mut n = 0u64;
            for r in rows {
                let (t, rt, id): (String, String, String) = (r.try_get("target")?, r.try_get("resource_type")?, r.try_get("resource_id")?);
                super::jobs::enqueue_in!(&mut *tx, &t, &rt, &id, now_ms);
                sqlx::query("UPDATE sync_mappings SET state = 'pending', next_attempt = NULL, updated_at = $4 \
                             WHERE target = $1 AND resource_type = $2 AND resource_id = $3")
                    .bind(&t).bind(&rt).bind(&id).bind(now_ms).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO sync_history (target, resource_type, resource_id, at, kind, message) \
                             VALUES ($1, $2, $3, $4, 'admin', $5)")
                    .bind(&t).bind(&rt).bind(&id).bind(now_ms).bind(format!("retry requested by {actor}"))
                    .execute(&mut *tx).await?;
                n += 1;
            }
            tx.commit().await?;
            Ok(n)
        })
    }
}

impl Store {
    /// Every user mapping of a target (reconcile).
    pub async fn user_mappings(&self, target: &str) -> StoreResult<Vec<MappingRow>> {
        let sql = format!(
            "SELECT {MAPPING_COLUMNS} FROM sync_mappings WHERE target = $1 AND resource_type = 'User' \
             ORDER BY resource_id"
        );
        with_pool!(self, p => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(target).fetch_all(p).await?;
            let mut out = Vec::new();
            for r in rows { out.push(row_to_mapping!(r)); }
            Ok(out)
        })
    }
}

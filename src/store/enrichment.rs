//! The Abnormal Security enrichment cache: one row per (abnormal target, email), refreshed by
//! the poller, joined onto SCIM users by lowercase email so reads never wait on the vendor.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::write_tx::with_writer;
use super::{Store, StoreResult, with_pool};

/// Columns selected as `en.<col>` when a user query joins the cache.
pub const ENRICHMENT_COLUMNS: &[&str] = &[
    "risk_score",
    "risk_level",
    "compromised_since",
    "is_vip",
    "department",
    "title",
    "is_active",
    "open_case_count",
    "cases",
    "last_refreshed",
];

/// One cached Abnormal account, as shown in the SCIM extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnrichmentRow {
    pub risk_score: Option<String>,
    pub risk_level: Option<String>,
    pub compromised_since: Option<String>,
    pub is_vip: Option<bool>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub is_active: Option<bool>,
    pub open_case_count: Option<i32>,
    /// JSON array of `{caseId, severity, status}`.
    pub cases: Option<String>,
    pub last_refreshed: Option<String>,
}

/// Reads the `en.*` columns of a joined row; None when no cache row matched.
macro_rules! row_to_enrichment {
    ($row:expr) => {{
        let row = &$row;
        let last: Option<String> = row.try_get("last_refreshed")?;
        last.map(|last_refreshed| -> Result<_, sqlx::Error> {
            Ok($crate::store::enrichment::EnrichmentRow {
                risk_score: row.try_get("risk_score")?,
                risk_level: row.try_get("risk_level")?,
                compromised_since: row.try_get("compromised_since")?,
                is_vip: row.try_get("is_vip")?,
                department: row.try_get("department")?,
                title: row.try_get("title")?,
                is_active: row.try_get("is_active")?,
                open_case_count: row.try_get("open_case_count")?,
                cases: row.try_get("cases")?,
                last_refreshed: Some(last_refreshed),
            })
        })
        .transpose()?
    }};
}
pub(crate) use row_to_enrichment;

impl Store {
    /// Upserts one account; returns true when anything but `last_refreshed` changed.
    pub async fn upsert_enrichment(
        &self,
        source: &str,
        email: &str,
        row: &EnrichmentRow,
        fingerprint: &str,
    ) -> StoreResult<bool> {
        let email_lc = email.to_lowercase();
        with_writer!(self, p => {
            let old: Option<Option<String>> = sqlx::query("SELECT fingerprint FROM enrichment_accounts WHERE source = $1 AND email_lc = $2")
                .bind(source).bind(&email_lc).fetch_optional(p).await?
                .map(|r| r.try_get::<Option<String>, _>("fingerprint")).transpose()?;
            sqlx::query(
                "INSERT INTO enrichment_accounts (source, email_lc, risk_score, risk_level, compromised_since, is_vip, \
                 department, title, is_active, open_case_count, cases, last_refreshed, fingerprint) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (source, email_lc) DO UPDATE SET risk_score = excluded.risk_score, \
                 risk_level = excluded.risk_level, compromised_since = excluded.compromised_since, \
                 is_vip = excluded.is_vip, department = excluded.department, title = excluded.title, \
                 is_active = excluded.is_active, open_case_count = excluded.open_case_count, cases = excluded.cases, \
                 last_refreshed = excluded.last_refreshed, fingerprint = excluded.fingerprint",
            )
            .bind(source).bind(&email_lc).bind(&row.risk_score).bind(&row.risk_level)
            .bind(&row.compromised_since).bind(row.is_vip).bind(&row.department).bind(&row.title)
            .bind(row.is_active).bind(row.open_case_count).bind(&row.cases).bind(&row.last_refreshed)
            .bind(fingerprint)
            .execute(p).await?;
            Ok(old.flatten().as_deref() != Some(fingerprint))
        })
    }

    /// The stored fingerprint per email of a source (to skip unchanged accounts).
    pub async fn enrichment_fingerprints(
        &self,
        source: &str,
    ) -> StoreResult<std::collections::HashMap<String, String>> {
        with_pool!(self, p => {
            let rows = sqlx::query("SELECT email_lc, fingerprint FROM enrichment_accounts WHERE source = $1")
                .bind(source).fetch_all(p).await?;
            let mut out = std::collections::HashMap::new();
            for r in rows {
                if let Some(fp) = r.try_get::<Option<String>, _>("fingerprint")? {
                    out.insert(r.try_get("email_lc")?, fp);
                }
            }
            Ok(out)
        })
    }

    /// Records a sweep's result for a source.
    pub async fn set_enrichment_status(
        &self,
        source: &str,
        last_sweep: Option<&str>,
        last_error: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        with_writer!(self, p => {
            sqlx::query(
                "INSERT INTO enrichment_status (source, last_sweep, last_error, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source) DO UPDATE SET last_sweep = COALESCE(excluded.last_sweep, enrichment_status.last_sweep), \
                 last_error = excluded.last_error, updated_at = excluded.updated_at",
            )
            .bind(source).bind(last_sweep).bind(last_error).bind(now_ms)
            .execute(p).await?;
            Ok(())
        })
    }

    /// When the last sweep of a source finished, in ms, if it succeeded (`None` after a
    /// failure or before the first sweep). Replicas read it to sweep once per interval.
    pub async fn enrichment_last_success_ms(&self, source: &str) -> StoreResult<Option<i64>> {
        with_pool!(self, p => {
            let r = sqlx::query(
                "SELECT updated_at FROM enrichment_status \
                 WHERE source = $1 AND last_error IS NULL AND last_sweep IS NOT NULL",
            )
            .bind(source).fetch_optional(p).await?;
            match r {
                Some(r) => Ok(Some(r.try_get("updated_at")?)),
                None => Ok(None),
            }
        })
    }

    /// (last successful sweep, last error) of a source.
    pub async fn enrichment_status(
        &self,
        source: &str,
    ) -> StoreResult<Option<(Option<String>, Option<String>)>> {
        with_pool!(self, p => {
            let r = sqlx::query("SELECT last_sweep, last_error FROM enrichment_status WHERE source = $1")
                .bind(source).fetch_optional(p).await?;
            match r {
                Some(r) => Ok(Some((r.try_get("last_sweep")?, r.try_get("last_error")?))),
                None => Ok(None),
            }
        })
    }
}

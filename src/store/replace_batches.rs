//! Postgres: concurrent `PUT` and `PATCH` of different users share one statement and one
//! commit, as creates do (`create_batches.rs`).
//!
//! A user's replace is one statement already (`single_statement.rs`); what is left of its
//! cost is Postgres' per-statement and per-commit work, as for a create. The [`Coalescer`]
//! queues replaces: with a free slot and no queue a replace runs alone at once (its own
//! one-row statement); replaces arriving while every slot is busy go into the next
//! statement together.
//!
//! **Each request is answered after its own row committed, with its own version**, and
//! rows are independent:
//! - the resource rows are locked in (target, id) order before any is written, and the
//!   job, mapping and history rows are written in that order too, so two statements never
//!   wait on each other in opposite orders;
//! - a row the statement did not write (another request of the same batch replaces the
//!   same user, its version is not the `If-Match`'s or the PATCH's, the user is gone) is
//!   missing from the answer and is replaced by a statement of its own, whose answer is
//!   the request's, as if it had never been queued;
//! - if Postgres refuses the statement as a whole (a userName taken), each of its rows is
//!   run alone, so one row's failure is that row's error only (a lost connection is not
//!   retried: the statement may have committed; every row gets 503 and the IdP retries).

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use sqlx::Row;

use super::coalesce::{BatchLookup, Coalescer};
use super::conn_shelf::ConnShelf;
use super::resources::{Derived, ResourceWrite, StoredResource, uniqueness};
use super::single_statement::replace_user_pg;
use super::{Store, StoreError, StoreResult, with_pg_conn};
use crate::scim::ResourceType;

/// Statements in flight at once (each holds a shelf connection). Four, not the creates'
/// two: at 4 clients two slots queued half the replaces into two-row statements, whose
/// array plan Postgres makes anew at every execution, and ran 0.7× as fast as one-row
/// statements; four slots keep 4 clients on one-row statements and still share
/// statements at 20 and 64 (docs/performance.md, round 24).
const MAX_IN_FLIGHT: usize = 4;
/// Rows in one statement.
const MAX_BATCH: usize = 32;

const REPLACE_BATCH_SQL: &str = "\
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::text[],
                       $13::bigint[], $14::text[])
    AS t(seq, target, id, expected, external_id, user_name_lc, display_name_lc, email_lc,
         active, label, data, last_modified, now_ms, method)
), one AS (
  SELECT DISTINCT ON (target, id) * FROM input ORDER BY target, id, seq
), locked AS (
  SELECT s.target, s.id FROM scim_resources s JOIN one i
    ON s.target = i.target AND s.resource_type = 'User' AND s.id = i.id
  ORDER BY s.target, s.id
  FOR UPDATE OF s
), r AS (
  UPDATE scim_resources s SET external_id = i.external_id, user_name_lc = i.user_name_lc,
         display_name_lc = i.display_name_lc, email_lc = i.email_lc, active = i.active,
         label = i.label, data = i.data::jsonb, version = s.version + 1,
         last_modified = i.last_modified
  FROM one i JOIN locked l ON l.target = i.target AND l.id = i.id
  WHERE s.target = i.target AND s.resource_type = 'User' AND s.id = i.id
    AND (i.expected IS NULL OR s.version = i.expected)
  RETURNING s.target, s.id, s.version, s.created
), done AS (
  SELECT i.*, r.version, r.created FROM r JOIN one i ON i.target = r.target AND i.id = r.id
), j AS (
  INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
  SELECT target, 'User', id, 1, now_ms, 0, now_ms FROM done ORDER BY target, id
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0
), m AS (
  INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
  SELECT target, 'User', id, label, 'pending', 0, now_ms, '{}' FROM done ORDER BY target, id
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
      attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at
), h AS (
  INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
  SELECT target, 'User', id, now_ms, 'scim', method,
         'accepted from the IdP (version ' || version || ')' FROM done ORDER BY target, id
)
SELECT seq, version, created FROM done";

/// Numbers every queued replace: rows are equal only to themselves, so two requests never
/// share an answer.
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

/// One user's replace, owned (it waits in a queue).
#[derive(Debug, Clone)]
pub(crate) struct ReplaceRow {
    seq: i64,
    target: String,
    id: String,
    pub(super) derived: Derived,
    data: Map<String, Value>,
    pub(super) last_modified: String,
    now_ms: i64,
    method: String,
    pub(super) expected_version: Option<i64>,
}

impl ReplaceRow {
    pub(super) fn new(
        w: &ResourceWrite<'_>,
        d: &Derived,
        now: &str,
        expected_version: Option<i64>,
    ) -> Self {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        Self {
            seq: i64::try_from(seq).unwrap_or(i64::MAX),
            target: w.target.to_string(),
            id: w.id.to_string(),
            derived: d.clone(),
            data: w.data.clone(),
            last_modified: now.to_string(),
            now_ms: w.now_ms,
            method: w.method.to_string(),
            expected_version,
        }
    }

    pub(super) fn write(&self) -> ResourceWrite<'_> {
        ResourceWrite {
            target: &self.target,
            resource_type: ResourceType::User,
            id: &self.id,
            data: &self.data,
            members: None,
            now_ms: self.now_ms,
            method: &self.method,
        }
    }
}

impl PartialEq for ReplaceRow {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl Eq for ReplaceRow {}
impl Hash for ReplaceRow {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.seq.hash(state);
    }
}

/// A row's outcome: `Ok(Some((version, created)))` written; `Ok(None)` not written by its
/// own statement (the user is gone or at another version); `Err` its own failure (shared:
/// errors are not `Clone`). A row missing from a shared statement's answer was not
/// written there and must run alone.
pub(crate) type ReplaceOutcome = Result<Option<(i64, String)>, Arc<StoreError>>;

#[derive(Debug)]
pub(crate) struct PgReplaceBatch {
    shelf: Arc<ConnShelf>,
}

impl PgReplaceBatch {
    /// One row alone: the one-row statement, whose plan Postgres keeps.
    async fn alone(&self, row: &ReplaceRow) -> StoreResult<Option<(i64, String)>> {
        let mut lease = self.shelf.lease().await?;
        let conn = lease
            .conn()
            .ok_or_else(|| StoreError::Unavailable("connection lease already returned".into()))?;
        let w = row.write();
        let res = replace_user_pg(
            &mut *conn,
            &w,
            &row.derived,
            &row.last_modified,
            row.expected_version,
        )
        .await;
        // After an error the connection goes back through the pool (ping), never onto the
        // shelf (ARCHITECTURE.md, invariant 11).
        let written = res.map_err(|e| uniqueness(e, &w))?;
        lease.done();
        Ok(written)
    }

    /// Runs one statement for `rows`: `(seq, version, created)` of the rows written.
    async fn statement(&self, rows: &[ReplaceRow]) -> StoreResult<Vec<(i64, i64, String)>> {
        metrics::histogram!("scim_bridge_store_replace_batch_rows").record(rows.len() as f64);
        let mut lease = self.shelf.lease().await?;
        let conn = lease
            .conn()
            .ok_or_else(|| StoreError::Unavailable("connection lease already returned".into()))?;
        let text = |f: fn(&ReplaceRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
        let answer = sqlx::query(REPLACE_BATCH_SQL)
            .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind(text(|r| Some(r.target.clone())))
            .bind(text(|r| Some(r.id.clone())))
            .bind(rows.iter().map(|r| r.expected_version).collect::<Vec<_>>())
            .bind(text(|r| r.derived.external_id.clone()))
            .bind(text(|r| r.derived.user_name_lc.clone()))
            .bind(text(|r| r.derived.display_name_lc.clone()))
            .bind(text(|r| r.derived.email_lc.clone()))
            .bind(rows.iter().map(|r| r.derived.active).collect::<Vec<_>>())
            .bind(text(|r| r.derived.label.clone()))
            .bind(text(|r| serde_json::to_string(&r.data).ok()))
            .bind(text(|r| Some(r.last_modified.clone())))
            .bind(rows.iter().map(|r| r.now_ms).collect::<Vec<_>>())
            .bind(text(|r| Some(r.method.clone())))
            .fetch_all(conn)
            .await?;
        lease.done();
        answer
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("seq")?,
                    row.try_get("version")?,
                    row.try_get("created")?,
                ))
            })
            .collect()
    }
}

impl BatchLookup for PgReplaceBatch {
    type Shape = ();
    type Key = ReplaceRow;
    type Value = ReplaceOutcome;

    async fn run(
        &self,
        _: &(),
        rows: Vec<ReplaceRow>,
    ) -> StoreResult<Vec<(ReplaceRow, ReplaceOutcome)>> {
        if let [row] = rows.as_slice() {
            let outcome = self.alone(row).await.map_err(Arc::new);
            return Ok(vec![(row.clone(), outcome)]);
        }
        let written = match self.statement(&rows).await {
            Ok(written) => written,
            // No answer from Postgres (connection lost, pool closed, a driver error): the
            // statement may have committed, so it is not run again (a replace would be
            // applied twice); every row's request gets the error (503 or 500) and the IdP
            // retries.
            Err(e) if !e.refused_by_database() => return Err(e),
            // Postgres refused the statement (nothing of it committed), and one row may be
            // why: each row alone, each with its own answer.
            Err(_) => {
                metrics::counter!("scim_bridge_store_replace_batch_split_total").increment(1);
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let outcome = self.alone(&row).await.map_err(Arc::new);
                    out.push((row, outcome));
                }
                return Ok(out);
            }
        };
        let mut written: std::collections::HashMap<i64, (i64, String)> = written
            .into_iter()
            .map(|(seq, version, created)| (seq, (version, created)))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let w = written.remove(&r.seq)?;
                Some((r, Ok(Some(w))))
            })
            .collect())
    }
}

/// Concurrent replaces of member-less users, queued to share a statement (Postgres) or a
/// transaction (SQLite, `replace_batches_sqlite.rs`).
#[derive(Debug, Clone)]
pub(crate) enum ReplaceBatches {
    Pg(Arc<Coalescer<PgReplaceBatch>>),
    Sqlite(Arc<Coalescer<super::replace_batches_sqlite::SqliteReplaceBatch>>),
}

impl ReplaceBatches {
    /// The row's outcome; `None`: no batch wrote it (Postgres: another write of the same
    /// user was in its statement), so it runs alone.
    async fn replace(&self, row: ReplaceRow) -> StoreResult<Option<ReplaceOutcome>> {
        match self {
            ReplaceBatches::Pg(c) => c.get((), row).await,
            ReplaceBatches::Sqlite(c) => c.get((), row).await,
        }
    }
}

/// The replace coalescer of a Postgres store with a shelf.
pub(crate) fn pg_replaces(shelf: Arc<ConnShelf>) -> ReplaceBatches {
    ReplaceBatches::Pg(Arc::new(Coalescer::new(
        PgReplaceBatch { shelf },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    )))
}

impl Store {
    /// A member-less user's replace: in a shared statement (Postgres) or transaction
    /// (SQLite) when others are queued; on Postgres in one statement of its own when none
    /// is, or when the shared statement did not write it. `None`: not run (SQLite without
    /// a batch), for the caller's transaction.
    pub(super) async fn replace_user_batched(
        &self,
        w: &ResourceWrite<'_>,
        d: &Derived,
        now: String,
        expected_version: Option<i64>,
    ) -> StoreResult<Option<StoredResource>> {
        let shared = match &self.replaces {
            Some(replaces) => {
                let row = ReplaceRow::new(w, d, &now, expected_version);
                replaces.replace(row).await?
            }
            None => None,
        };
        let row = match (shared, &self.db) {
            (Some(outcome), _) => outcome.map_err(|e| e.clone_lossy()),
            // Not written by a shared statement: alone, as if never queued.
            (None, super::Db::Pg(pool)) => with_pg_conn!(self, pool, c => {
                replace_user_pg(c, w, d, &now, expected_version).await.map_err(|e| uniqueness(e, w))
            }),
            (None, super::Db::Sqlite(_)) => return Ok(None),
        };
        let (version, created) = match row {
            Ok(Some(row)) => row,
            // Nothing written: the user is gone, or at another version than the one named.
            Ok(None) => {
                return Err(match (self.current_version(w).await?, expected_version) {
                    (Some(current), Some(_)) => StoreError::VersionMismatch { current },
                    _ => StoreError::NotFound,
                });
            }
            Err(e) => return Err(self.precondition_first(w, e, expected_version).await),
        };
        Ok(Some(StoredResource {
            id: w.id.to_string(),
            resource_type: w.resource_type,
            data: w.data.clone(),
            version,
            created,
            last_modified: now,
            enrichment: None,
            links: None,
        }))
    }
}

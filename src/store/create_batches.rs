//! Postgres: concurrent `POST /Users` without group members share one statement and one
//! commit (group commit in the bridge).
//!
//! A create is one statement already (`single_statement.rs`), and what is left of its cost
//! is Postgres' per-statement and per-commit work (the executor, the counting trigger, the
//! commit record and its WAL flush): pgbench does ~5k one-row creates/s at 20 clients and
//! ~12k/s as 4-row statements at 5 (docs/performance.md, round 5). The [`Coalescer`] of
//! the lookups queues creates: with a free slot and no queue a create runs alone at once;
//! creates arriving while both slots are busy go into the next statement together.
//!
//! **Each request is answered after its own row committed**, and rows are independent:
//! - a userName already taken (or taken by an earlier row of the same statement) is
//!   skipped by `ON CONFLICT DO NOTHING` and answered 409, the other rows commit;
//! - rows are inserted in `user_name_lc` order, so two statements never wait on each
//!   other's userNames in opposite orders (no deadlock);
//! - if Postgres refuses the statement as a whole, each of its rows is retried alone, so
//!   one row's failure is that row's error only (a lost connection is not retried: the
//!   statement may have committed; every row gets 503 and the IdP retries).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sqlx::Row;

use super::coalesce::{BatchLookup, Coalescer};
use super::conn_shelf::ConnShelf;
use serde_json::{Map, Value};

use super::resources::{Derived, ResourceWrite};
use super::single_statement::create_pg;
use super::{StoreError, StoreResult};
use crate::scim::ResourceType;

/// Statements in flight at once (each holds a shelf connection), as for lookups.
const MAX_IN_FLIGHT: usize = 2;
/// Rows in one statement.
const MAX_BATCH: usize = 32;

const CREATE_BATCH_SQL: &str = "\
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[],
                       $12::bigint[], $13::text[])
    AS t(target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc,
         active, label, data, created, now_ms, method)
), r AS (
  INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc,
                              email_lc, active, label, data, version, created, last_modified)
  SELECT target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc,
         active, label, data::jsonb, 1, created, created FROM input
  ORDER BY user_name_lc, id
  ON CONFLICT DO NOTHING
  RETURNING target, resource_type, id
), done AS (
  SELECT i.* FROM r JOIN input i ON i.target = r.target AND i.id = r.id
), j AS (
  INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
  SELECT target, resource_type, id, 1, now_ms, 0, now_ms FROM done
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0
), m AS (
  INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
  SELECT target, resource_type, id, label, 'pending', 0, now_ms, '{}' FROM done
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
      attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at
), h AS (
  INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
  SELECT target, resource_type, id, now_ms, 'scim', method, 'accepted from the IdP (version 1)' FROM done
)
SELECT target, id FROM r";

/// One row to create, owned (it waits in a queue). Equal and hashed by target and id.
#[derive(Debug, Clone)]
pub(crate) struct CreateRow {
    pub(super) target: String,
    pub(super) resource_type: ResourceType,
    pub(super) id: String,
    pub(super) derived: Derived,
    pub(super) data: Map<String, Value>,
    pub(super) created: String,
    pub(super) now_ms: i64,
    pub(super) method: String,
}

impl CreateRow {
    pub(super) fn new(w: &ResourceWrite<'_>, d: &Derived, created: &str) -> Self {
        Self {
            target: w.target.to_string(),
            resource_type: w.resource_type,
            id: w.id.to_string(),
            derived: d.clone(),
            data: w.data.clone(),
            created: created.to_string(),
            now_ms: w.now_ms,
            method: w.method.to_string(),
        }
    }

    /// The row as the write it was made from (members: none).
    pub(super) fn write(&self) -> ResourceWrite<'_> {
        ResourceWrite {
            target: &self.target,
            resource_type: self.resource_type,
            id: &self.id,
            data: &self.data,
            members: None,
            now_ms: self.now_ms,
            method: &self.method,
        }
    }
}

impl PartialEq for CreateRow {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.id == other.id
    }
}
impl Eq for CreateRow {}
impl Hash for CreateRow {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.target.hash(state);
        self.id.hash(state);
    }
}

/// A row's outcome: `Ok` committed; `Err` its own failure (shared, errors are not `Clone`).
/// A row missing from the answer was skipped as a uniqueness conflict.
pub(crate) type RowOutcome = Result<(), Arc<StoreError>>;

#[derive(Debug)]
pub(crate) struct PgCreateBatch {
    shelf: Arc<ConnShelf>,
}

impl PgCreateBatch {
    /// Runs one statement for `rows`: the (target, id) of the rows inserted.
    async fn statement(&self, rows: &[CreateRow]) -> StoreResult<Vec<(String, String)>> {
        metrics::histogram!("scim_bridge_store_create_batch_rows").record(rows.len() as f64);
        let mut lease = self.shelf.lease().await?;
        let conn = lease
            .conn()
            .ok_or_else(|| StoreError::Unavailable("connection lease already returned".into()))?;
        // One row: the one-row statement, whose plan Postgres keeps (the array statement's
        // is re-planned at every execution, which cost a quarter of the rate at c = 4).
        if let [row] = rows {
            return match create_pg(&mut *conn, &row.write(), &row.derived, &row.created).await {
                Ok(()) => {
                    lease.done();
                    Ok(vec![(row.target.clone(), row.id.clone())])
                }
                // Skipped like a taken userName in a shared statement. After an error the
                // connection goes back through the pool (ping), never onto the shelf
                // (ARCHITECTURE.md, invariant 11).
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(Vec::new()),
                Err(e) => Err(e.into()),
            };
        }
        let col = |f: fn(&CreateRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
        let answer = sqlx::query(CREATE_BATCH_SQL)
            .bind(col(|r| Some(r.target.clone())))
            .bind(col(|r| Some(r.resource_type.as_str().to_string())))
            .bind(col(|r| Some(r.id.clone())))
            .bind(col(|r| r.derived.external_id.clone()))
            .bind(col(|r| r.derived.user_name_lc.clone()))
            .bind(col(|r| r.derived.display_name_lc.clone()))
            .bind(col(|r| r.derived.email_lc.clone()))
            .bind(rows.iter().map(|r| r.derived.active).collect::<Vec<_>>())
            .bind(col(|r| r.derived.label.clone()))
            .bind(col(|r| serde_json::to_string(&r.data).ok()))
            .bind(col(|r| Some(r.created.clone())))
            .bind(rows.iter().map(|r| r.now_ms).collect::<Vec<_>>())
            .bind(col(|r| Some(r.method.clone())))
            .fetch_all(conn)
            .await?;
        lease.done();
        answer
            .iter()
            .map(|row| Ok((row.try_get("target")?, row.try_get("id")?)))
            .collect()
    }
}

impl BatchLookup for PgCreateBatch {
    type Shape = ();
    type Key = CreateRow;
    type Value = RowOutcome;

    async fn run(&self, _: &(), rows: Vec<CreateRow>) -> StoreResult<Vec<(CreateRow, RowOutcome)>> {
        let inserted = match self.statement(&rows).await {
            Ok(ids) => ids,
            Err(e) if rows.len() == 1 => return Err(e),
            // No answer from Postgres (connection lost, pool closed, a driver error): the
            // statement may have committed, so it is not run again; every row's request
            // gets the error (503 or 500) and the IdP retries, as for a create of its own.
            Err(e) if !e.refused_by_database() => return Err(e),
            // Postgres refused the statement (nothing of it committed), and one row may be
            // why: each row alone, each with its own answer.
            Err(_) => {
                metrics::counter!("scim_bridge_store_create_batch_split_total").increment(1);
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    match self.statement(std::slice::from_ref(&row)).await {
                        Ok(ids) if ids.is_empty() => {} // skipped: taken userName
                        Ok(_) => out.push((row, Ok(()))),
                        Err(e) => out.push((row, Err(Arc::new(e)))),
                    }
                }
                return Ok(out);
            }
        };
        let inserted: std::collections::HashSet<(String, String)> = inserted.into_iter().collect();
        Ok(rows
            .into_iter()
            .filter(|r| inserted.contains(&(r.target.clone(), r.id.clone())))
            .map(|r| (r, Ok(())))
            .collect())
    }
}

/// Concurrent member-less user creates, queued to share a statement (Postgres) or a
/// transaction (SQLite, `create_batches_sqlite.rs`).
#[derive(Debug, Clone)]
pub(crate) enum CreateBatches {
    Pg(Arc<Coalescer<PgCreateBatch>>),
    Sqlite(Arc<Coalescer<super::create_batches_sqlite::SqliteCreateBatch>>),
}

impl CreateBatches {
    /// `None`: skipped as a uniqueness conflict; `Some` the row's own outcome.
    pub(crate) async fn create(&self, row: CreateRow) -> StoreResult<Option<RowOutcome>> {
        match self {
            CreateBatches::Pg(c) => c.get((), row).await,
            CreateBatches::Sqlite(c) => c.get((), row).await,
        }
    }
}

/// The create coalescer of a Postgres store with a shelf.
pub(crate) fn pg_creates(shelf: Arc<ConnShelf>) -> CreateBatches {
    CreateBatches::Pg(Arc::new(Coalescer::new(
        PgCreateBatch { shelf },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    )))
}

//! SQLite: concurrent `POST /Users` without group members share one transaction (group
//! commit on the one write connection, `write_tx.rs`).
//!
//! A create was BEGIN, four statements and COMMIT, each a hop to the connection's thread
//! and back, and its commit wrote ~33 pages to the WAL (the resource, its indexes, the
//! job, mapping, history and count rows): 1.2–1.3k creates/s at 8 clients, whatever the
//! lock order (docs/performance.md, round 10). Here the creates queued while one batch
//! runs go into the next: one `BEGIN IMMEDIATE`, then per row ONE multi-statement
//! execute (a savepoint around the four inserts, in the layout of `single_statement.rs`),
//! then one COMMIT, whose pages are shared by its rows.
//!
//! **Each request is answered after its own row committed**, and rows are independent: a
//! row that fails (a taken userName is a 409; anything else is that row's error) is
//! rolled back to its savepoint, so none of its rows stay, and the batch goes on. If the
//! COMMIT fails, nothing committed and every request of the batch gets that error.

use std::sync::Arc;

use sqlx::SqlitePool;

use super::coalesce::{BatchLookup, Coalescer};
use super::create_batches::{CreateRow, RowOutcome};
use super::single_statement::bind_create;
use super::write_tx::BeginWrite;
use super::{StoreError, StoreResult};

/// One writer, so one batch at a time.
const MAX_IN_FLIGHT: usize = 1;
/// Rows in one transaction.
const MAX_BATCH: usize = 32;

/// The rows of one create, all or none (`$n` as in `single_statement.rs`: $1 target,
/// $2 type, $3 id, $4–$9 derived columns, $10 data, $11 created, $12 now, $13 method).
const CREATE_ROW_SQL: &str = "\
SAVEPOINT create_row;
INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc,
                            email_lc, active, label, data, version, created, last_modified)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11);
INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
VALUES ($1, $2, $3, 1, $12, 0, $12)
ON CONFLICT (target, resource_type, resource_id) DO UPDATE
SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0;
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
VALUES ($1, $2, $3, $9, 'pending', 0, $12, '{}')
ON CONFLICT (target, resource_type, resource_id) DO UPDATE
SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
    attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at;
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
VALUES ($1, $2, $3, $12, 'scim', $13, 'accepted from the IdP (version 1)');
RELEASE create_row";

/// Undoes the row whose statements stopped at an error (its savepoint is still open).
const UNDO_ROW_SQL: &str = "ROLLBACK TO create_row; RELEASE create_row";

#[derive(Debug)]
pub(crate) struct SqliteCreateBatch {
    writer: SqlitePool,
}

async fn insert_row(conn: &mut sqlx::SqliteConnection, row: &CreateRow) -> sqlx::Result<()> {
    let w = row.write();
    bind_create!(sqlx::query(CREATE_ROW_SQL), w, row.derived, &row.created)
        .execute(conn)
        .await?;
    Ok(())
}

impl BatchLookup for SqliteCreateBatch {
    type Shape = ();
    type Key = CreateRow;
    type Value = RowOutcome;

    async fn run(&self, _: &(), rows: Vec<CreateRow>) -> StoreResult<Vec<(CreateRow, RowOutcome)>> {
        metrics::histogram!("scim_bridge_store_create_batch_rows").record(rows.len() as f64);
        let mut tx = self.writer.begin_write().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match insert_row(&mut tx, &row).await {
                Ok(()) => out.push((row, Ok(()))),
                Err(e) => {
                    sqlx::query(UNDO_ROW_SQL).execute(&mut *tx).await?;
                    match StoreError::from(e) {
                        // Skipped: the caller answers 409 for a taken userName.
                        StoreError::Conflict(_) => {}
                        other => out.push((row, Err(Arc::new(other)))),
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// The create coalescer of a SQLite store: batches run on `writer`, the write connection.
pub(crate) fn sqlite_creates(writer: SqlitePool) -> Arc<Coalescer<SqliteCreateBatch>> {
    Arc::new(Coalescer::new(
        SqliteCreateBatch { writer },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::ResourceType;
    use crate::store::Db;
    use crate::store::resources::{ResourceWrite, derive};
    use crate::store::write_tx::tests::sqlite_store;

    fn row(id: &str, user_name: &str) -> CreateRow {
        let serde_json::Value::Object(data) = json!({"userName": user_name, "active": true}) else {
            unreachable!()
        };
        let w = ResourceWrite {
            target: "t1",
            resource_type: ResourceType::User,
            id,
            data: &data,
            members: None,
            now_ms: 1_700_000_000_000,
            method: "POST",
        };
        CreateRow::new(
            &w,
            &derive(ResourceType::User, &data),
            "2023-11-14T22:13:20.000Z",
        )
    }

    async fn count(pool: &SqlitePool, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .unwrap()
    }

    /// A row whose later statement fails leaves none of its rows: the savepoint undoes its
    /// resource insert, and the other rows of the batch still commit.
    #[tokio::test]
    async fn a_row_that_fails_midway_leaves_nothing_and_the_others_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        let Db::Sqlite(pool) = &store.db else {
            panic!("sqlite")
        };
        // The history insert of user "bad" fails after its resource row went in.
        sqlx::query(
            "CREATE TRIGGER refuse_bad BEFORE INSERT ON sync_history \
             WHEN NEW.resource_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(pool)
        .await
        .unwrap();
        let batch = SqliteCreateBatch {
            writer: store.sqlite_writer.clone().unwrap(),
        };
        let rows = vec![
            row("a", "a@corp.example"),
            row("bad", "bad@corp.example"),
            row("dup", "A@corp.example"),
            row("c", "c@corp.example"),
        ];
        let out = batch.run(&(), rows).await.unwrap();
        let got: Vec<(&str, bool)> = out
            .iter()
            .map(|(r, o)| (r.id.as_str(), o.is_ok()))
            .collect();
        // "dup" is a taken userName: skipped (the caller's 409), not an error.
        assert_eq!(got, vec![("a", true), ("bad", false), ("c", true)]);
        assert_eq!(count(pool, "scim_resources").await, 2);
        assert_eq!(count(pool, "sync_jobs").await, 2);
        assert_eq!(count(pool, "sync_mappings").await, 2);
        assert_eq!(count(pool, "sync_history").await, 2);
    }
}

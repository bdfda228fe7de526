//! SQLite: concurrent `PUT` and `PATCH` of users share one transaction, as creates do
//! (`create_batches_sqlite.rs`), on the one write connection (`write_tx.rs`).
//!
//! A replace was BEGIN, the `UPDATE`, the job, mapping and history statements and COMMIT:
//! six hops to the connection's thread and back, and a commit of its own. Here the
//! replaces queued while one batch runs go into the next: one `BEGIN IMMEDIATE`, then
//! per row two multi-statement executes (a savepoint and the `UPDATE … RETURNING`; the
//! job, mapping and history rows and the release), then one COMMIT.
//!
//! **Each request is answered after its own row committed, with its own version**, and
//! rows run one after another in their queue order, so two replaces of one user in a
//! batch are two versions, and a stale `If-Match` or PATCH read is not written (the
//! `UPDATE` compares the version, as on Postgres: `single_statement.rs`). A row not
//! written (the user is gone or at another version) is `Ok(None)`; a row that fails (a
//! taken userName) is rolled back to its savepoint and is that row's error; the batch goes
//! on. If the COMMIT fails, nothing committed and every request of the batch gets that
//! error.

use std::sync::Arc;

use sqlx::SqlitePool;
use sqlx::types::Json;

use super::StoreResult;
use super::coalesce::{BatchLookup, Coalescer};
use super::replace_batches::{ReplaceOutcome, ReplaceRow};
use super::resources::uniqueness;
use super::write_tx::BeginWrite;

/// One writer, so one batch at a time.
const MAX_IN_FLIGHT: usize = 1;
/// Rows in one transaction.
const MAX_BATCH: usize = 32;

/// The row's new data, if its version is `$12` (NULL: any): `$1` target, `$2` id, `$3`–`$8`
/// the derived columns, `$9` data, `$10` last modified.
const UPDATE_ROW_SQL: &str = "\
SAVEPOINT replace_row;
UPDATE scim_resources SET external_id = $3, user_name_lc = $4, display_name_lc = $5, email_lc = $6,
       active = $7, label = $8, data = $9, version = version + 1, last_modified = $10
WHERE target = $1 AND resource_type = 'User' AND id = $2 AND ($11 IS NULL OR version = $11)
RETURNING version, created";

/// The job, the `pending` mapping and the history event of a written row, as `enqueue_in!`
/// and `record_accepted_in!` write them: `$1` target, `$2` id, `$3` the mapping's key,
/// `$4` now, `$5` method, `$6` the new version.
const OUTBOX_ROW_SQL: &str = "\
INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
VALUES ($1, 'User', $2, 1, $4, 0, $4)
ON CONFLICT (target, resource_type, resource_id) DO UPDATE
SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0;
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
VALUES ($1, 'User', $2, $3, 'pending', 0, $4, '{}')
ON CONFLICT (target, resource_type, resource_id) DO UPDATE
SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
    attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at;
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
VALUES ($1, 'User', $2, $4, 'scim', $5, 'accepted from the IdP (version ' || $6 || ')');
RELEASE replace_row";

/// Undoes the row whose statements stopped (its savepoint is still open).
const UNDO_ROW_SQL: &str = "ROLLBACK TO replace_row; RELEASE replace_row";

#[derive(Debug)]
pub(crate) struct SqliteReplaceBatch {
    writer: SqlitePool,
}

/// One row inside the batch's transaction, its savepoint left open when it wrote nothing
/// or failed (the caller undoes it). `Ok(None)`: not written.
async fn replace_row(
    conn: &mut sqlx::SqliteConnection,
    row: &ReplaceRow,
) -> sqlx::Result<Option<(i64, String)>> {
    let (w, d) = (row.write(), &row.derived);
    let written: Vec<(i64, String)> = sqlx::query_as(UPDATE_ROW_SQL)
        .bind(w.target)
        .bind(w.id)
        .bind(&d.external_id)
        .bind(&d.user_name_lc)
        .bind(&d.display_name_lc)
        .bind(&d.email_lc)
        .bind(d.active)
        .bind(&d.label)
        .bind(Json(w.data))
        .bind(&row.last_modified)
        .bind(row.expected_version)
        .fetch_all(&mut *conn)
        .await?;
    let Some((version, created)) = written.into_iter().next() else {
        return Ok(None);
    };
    sqlx::query(OUTBOX_ROW_SQL)
        .bind(w.target)
        .bind(w.id)
        .bind(&d.label)
        .bind(w.now_ms)
        .bind(w.method)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    Ok(Some((version, created)))
}

impl BatchLookup for SqliteReplaceBatch {
    type Shape = ();
    type Key = ReplaceRow;
    type Value = ReplaceOutcome;

    async fn run(
        &self,
        _: &(),
        rows: Vec<ReplaceRow>,
    ) -> StoreResult<Vec<(ReplaceRow, ReplaceOutcome)>> {
        metrics::histogram!("scim_bridge_store_replace_batch_rows").record(rows.len() as f64);
        let mut tx = self.writer.begin_write().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let outcome = match replace_row(&mut tx, &row).await {
                Ok(Some(written)) => Ok(Some(written)),
                Ok(None) => {
                    sqlx::query(UNDO_ROW_SQL).execute(&mut *tx).await?;
                    Ok(None)
                }
                Err(e) => {
                    sqlx::query(UNDO_ROW_SQL).execute(&mut *tx).await?;
                    Err(Arc::new(uniqueness(e, &row.write())))
                }
            };
            out.push((row, outcome));
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// The replace coalescer of a SQLite store: batches run on `writer`, the write connection.
pub(crate) fn sqlite_replaces(writer: SqlitePool) -> Arc<Coalescer<SqliteReplaceBatch>> {
    Arc::new(Coalescer::new(
        SqliteReplaceBatch { writer },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};
    use sqlx::Row;

    use super::*;
    use crate::scim::ResourceType;
    use crate::store::resources::{ResourceWrite, derive};
    use crate::store::write_tx::tests::sqlite_store;
    use crate::store::{Db, StoreError};

    fn data(user_name: &str, display: &str) -> Map<String, Value> {
        let Value::Object(data) = json!({"userName": user_name, "displayName": display}) else {
            unreachable!()
        };
        data
    }

    fn write<'a>(id: &'a str, data: &'a Map<String, Value>, method: &'a str) -> ResourceWrite<'a> {
        ResourceWrite {
            target: "t1",
            resource_type: ResourceType::User,
            id,
            data,
            members: None,
            now_ms: 1_700_000_000_000,
            method,
        }
    }

    fn row(id: &str, user_name: &str, display: &str, expected: Option<i64>) -> ReplaceRow {
        let data = data(user_name, display);
        let w = write(id, &data, "PUT");
        ReplaceRow::new(
            &w,
            &derive(ResourceType::User, &data),
            "2023-11-14T22:13:20.000Z",
            expected,
        )
    }

    /// Rows run in queue order in one transaction: two writes of one user are two
    /// versions, a stale version and an unknown id write nothing, and a row that fails
    /// midway (a taken userName, a refused history row) leaves none of its rows while the
    /// others commit.
    #[tokio::test]
    async fn rows_apply_in_order_and_a_failed_row_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        for id in ["a", "bad", "c"] {
            let d = data(&format!("{id}@corp.example"), "v1");
            store.create_resource(&write(id, &d, "POST")).await.unwrap();
        }
        let Db::Sqlite(pool) = &store.db else {
            panic!("sqlite")
        };
        sqlx::query(
            "CREATE TRIGGER refuse_bad BEFORE INSERT ON sync_history \
             WHEN NEW.resource_id = 'bad' AND NEW.method = 'PUT' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(pool)
        .await
        .unwrap();
        let batch = SqliteReplaceBatch {
            writer: store.sqlite_writer.clone().unwrap(),
        };
        let rows = vec![
            row("a", "a@corp.example", "first", None),
            row("a", "a@corp.example", "second", Some(2)),
            row("a", "a@corp.example", "stale", Some(2)),
            row("bad", "bad@corp.example", "refused", None),
            row("c", "A@corp.example", "taken", None),
            row("gone", "gone@corp.example", "x", None),
        ];
        let out = batch.run(&(), rows).await.unwrap();
        let got: Vec<String> = out
            .iter()
            .map(|(r, o)| match o {
                Ok(Some((v, _))) => format!("{} v{v}", r.write().id),
                Ok(None) => format!("{} none", r.write().id),
                Err(e) => match **e {
                    StoreError::Conflict(_) => format!("{} conflict", r.write().id),
                    _ => format!("{} error", r.write().id),
                },
            })
            .collect();
        assert_eq!(
            got,
            [
                "a v2",
                "a v3",
                "a none",
                "bad error",
                "c conflict",
                "gone none"
            ]
        );
        let users: Vec<(String, i64, String)> = sqlx::query(
            "SELECT id, version, json_extract(data, '$.displayName') AS d FROM scim_resources ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("id"), r.get("version"), r.get("d")))
        .collect();
        let want = [("a", 3, "second"), ("bad", 1, "v1"), ("c", 1, "v1")];
        let want: Vec<(String, i64, String)> = want
            .iter()
            .map(|(i, v, d)| (i.to_string(), *v, d.to_string()))
            .collect();
        assert_eq!(users, want);
        let history: Vec<String> = sqlx::query_scalar(
            "SELECT resource_id || ' ' || message FROM sync_history WHERE method = 'PUT' ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(
            history,
            [
                "a accepted from the IdP (version 2)",
                "a accepted from the IdP (version 3)"
            ]
        );
        let generations: Vec<(String, i64)> =
            sqlx::query_as("SELECT resource_id, generation FROM sync_jobs ORDER BY resource_id")
                .fetch_all(pool)
                .await
                .unwrap();
        let want = [("a", 3), ("bad", 1), ("c", 1)];
        let want: Vec<(String, i64)> = want.iter().map(|(i, g)| (i.to_string(), *g)).collect();
        assert_eq!(generations, want);
    }
}

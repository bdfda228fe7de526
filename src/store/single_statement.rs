//! Postgres: a create without group members, and a user's replace (PUT or PATCH), as ONE
//! statement in autocommit. The resource row, its job, its `pending` mapping and the
//! history event are data-modifying CTEs of a single statement, which Postgres runs
//! atomically, so the outbox invariant holds (ARCHITECTURE.md, invariant 1) with one round
//! trip instead of six (BEGIN, four statements, COMMIT). The SQL mirrors `enqueue_in!` and
//! `record_accepted_in!` in `jobs.rs`; `tests/api/outbox.rs` checks both paths write the
//! same rows.

use super::resources::{Derived, ResourceWrite};

/// The job upsert and the `pending` mapping of the resource in CTE `r` (its `target`,
/// `resource_type` and `id`), as `enqueue_in!` and `record_accepted_in!` write them:
/// `$9` the mapping's key (the label), `$12` now.
macro_rules! job_and_mapping_ctes {
    () => {
        "), j AS (
  INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
  SELECT target, resource_type, id, 1, $12, 0, $12 FROM r
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0
), m AS (
  INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
  SELECT target, resource_type, id, $9, 'pending', 0, $12, '{}' FROM r
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE
  SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
      attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at
)"
    };
}

const CREATE_SQL: &str = concat!(
    "WITH r AS (
  INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc,
                              email_lc, active, label, data, version, created, last_modified)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11)
  RETURNING target, resource_type, id
",
    job_and_mapping_ctes!(),
    "
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
SELECT target, resource_type, id, $12, 'scim', $13, 'accepted from the IdP (version 1)' FROM r"
);

/// Binds a create's 13 parameters in the layout of `CREATE_SQL` (also the SQLite per-row
/// create's, `create_batches_sqlite.rs`): `$1` target, `$2` type, `$3` id, `$4`–`$9` the
/// derived columns, `$10` data, `$11` created, `$12` now, `$13` method.
macro_rules! bind_create {
    ($query:expr, $w:expr, $d:expr, $created:expr) => {
        $query
            .bind($w.target)
            .bind($w.resource_type.as_str())
            .bind($w.id)
            .bind(&$d.external_id)
            .bind(&$d.user_name_lc)
            .bind(&$d.display_name_lc)
            .bind(&$d.email_lc)
            .bind($d.active)
            .bind(&$d.label)
            .bind(sqlx::types::Json($w.data))
            .bind($created)
            .bind($w.now_ms)
            .bind($w.method)
    };
}
pub(super) use bind_create;

/// Runs the one-statement create. Errors are returned as sqlx gives them (a unique
/// violation becomes the caller's 409).
pub(super) async fn create_pg<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    w: &ResourceWrite<'_>,
    d: &Derived,
    created: &str,
) -> Result<(), sqlx::Error> {
    bind_create!(sqlx::query(CREATE_SQL), w, d, created)
        .execute(executor)
        .await?;
    Ok(())
}

/// A user's replace: the version is compared and bumped by the `UPDATE` itself, under the
/// row's lock, so a writer that waited for another's commit compares against the version
/// that commit wrote (`$14`, the `If-Match` or PATCH's read version; NULL: any version).
/// No row back: the user is gone or its version is not `$14`.
const REPLACE_USER_SQL: &str = concat!(
    "WITH r AS (
  UPDATE scim_resources SET external_id = $4, user_name_lc = $5, display_name_lc = $6, email_lc = $7,
         active = $8, label = $9, data = $10, version = version + 1, last_modified = $11
  WHERE target = $1 AND resource_type = $2 AND id = $3 AND ($14::int8 IS NULL OR version = $14)
  RETURNING target, resource_type, id, version, created
",
    job_and_mapping_ctes!(),
    ", h AS (
  INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
  SELECT target, resource_type, id, $12, 'scim', $13, 'accepted from the IdP (version ' || version || ')' FROM r
)
SELECT version, created FROM r"
);

/// Runs the one-statement replace of a user: `Some((version, created))` of the new version,
/// or `None` when no row had the id (and `expected_version`, when given).
pub(super) async fn replace_user_pg<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    w: &ResourceWrite<'_>,
    d: &Derived,
    now: &str,
    expected_version: Option<i64>,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    bind_create!(sqlx::query_as(REPLACE_USER_SQL), w, d, now)
        .bind(expected_version)
        .fetch_optional(executor)
        .await
}

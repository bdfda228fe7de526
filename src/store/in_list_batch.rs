//! What the two batched point reads share (`user_name_lookups.rs`, `id_lookups.rs`): keys
//! bound as an IN-list of placeholders padded to a size class, run on a shelved connection.
//!
//! The keys are a list of placeholders, not one array parameter: with an array parameter
//! Postgres keeps choosing custom plans (its generic plan guesses 10 rows) and plans the
//! whole query, membership subquery included, at every execution; with `IN ($3, $4, …)`
//! it knows the count and keeps one generic plan per size class.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgRow;

use super::conn_shelf::ConnShelf;
use super::{StoreError, StoreResult};

/// Keys in one query: the largest size class.
pub(super) const MAX_BATCH: usize = 64;

/// Keys of one batch query are padded (with the last key) up to one of these counts, so a
/// connection prepares at most this many statements per read.
const SIZE_CLASSES: [usize; 7] = [1, 2, 4, 8, 16, 32, MAX_BATCH];

pub(super) fn size_class(n: usize) -> usize {
    SIZE_CLASSES
        .into_iter()
        .find(|c| *c >= n)
        .unwrap_or(MAX_BATCH)
}

/// The first key's placeholder: after `$1` (the target) and `$2` (the enrichment source)
/// when joined.
pub(super) fn first_key(enriched: bool) -> usize {
    if enriched { 3 } else { 2 }
}

/// `$first, $first+1, …` for `keys` keys (at least one).
pub(super) fn placeholders(first: usize, keys: usize) -> String {
    (first..first + keys.max(1))
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` (built for `size_class(keys.len())` keys) on a shelved connection: `$1` the
/// target, `$2` the enrichment source when given, then `keys` padded with the last one.
pub(super) async fn fetch_padded(
    shelf: &ConnShelf,
    sql: String,
    target: &str,
    enrichment_source: Option<&str>,
    keys: &[String],
) -> StoreResult<Vec<PgRow>> {
    let Some(last) = keys.last() else {
        return Ok(Vec::new());
    };
    let mut lease = shelf.lease().await?;
    let conn = lease
        .conn()
        .ok_or_else(|| StoreError::Unavailable("connection lease already returned".into()))?;
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(target);
    if let Some(source) = enrichment_source {
        q = q.bind(source);
    }
    for key in keys
        .iter()
        .chain(std::iter::repeat(last))
        .take(size_class(keys.len()))
    {
        q = q.bind(key);
    }
    let rows = q.fetch_all(conn).await?;
    lease.done();
    Ok(rows)
}

//! Where a page of the default order (`seq`) starts, without a walk's hint: the SQL that
//! finds the first `seq` at 0-based position `k` of a target's resources of one type.
//!
//! On Postgres, `scim_resource_counts` holds exact counts per block of `2^BLOCK_BITS`
//! consecutive `seq` values (migration 0003). A running sum over the blocks names the block
//! that holds position `k` and how many of its rows come before it, so the index-only skip
//! is at most one block long, whatever `k` is. Counts and rows are read in one statement,
//! one snapshot, so the position is exact under concurrent writes. SQLite skips `k` rows of
//! the `(target, resource_type, seq)` index (the embedded store is for small targets).

use super::Dialect;
use crate::scim::ResourceType;

/// log2 of the block size the Postgres count triggers use (`seq >> 13`, migration 0003).
pub(super) const BLOCK_BITS: u32 = 13;

/// The SQL that positions a page: a `WITH` prefix for the page query (empty on SQLite) and
/// a condition on `r.seq` for its WHERE clause. `$1` is the target; placeholder number
/// `position_param` is the 0-based position (an `i64` bind).
pub(super) fn start_at_position(
    dialect: Dialect,
    rt: ResourceType,
    position_param: usize,
) -> (String, String) {
    let k = position_param;
    let rt = rt.as_str();
    match dialect {
        Dialect::Postgres => (
            format!(
                "WITH page_blocks AS (SELECT block, SUM(n) AS n, SUM(SUM(n)) OVER (ORDER BY block) AS upto \
                 FROM scim_resource_counts WHERE target = $1 AND resource_type = '{rt}' GROUP BY block), \
                 page_start AS (SELECT block, CAST(${k} - (upto - n) AS BIGINT) AS skip FROM page_blocks \
                 WHERE upto > ${k} ORDER BY block LIMIT 1) "
            ),
            format!(
                " AND r.seq >= (SELECT s.seq FROM scim_resources s WHERE s.target = $1 \
                 AND s.resource_type = '{rt}' AND s.seq >= ((SELECT block FROM page_start) << {BLOCK_BITS}) \
                 ORDER BY s.seq LIMIT 1 OFFSET (SELECT skip FROM page_start))"
            ),
        ),
        Dialect::Sqlite => (
            String::new(),
            format!(
                " AND r.seq >= (SELECT s.seq FROM scim_resources s WHERE s.target = $1 \
                 AND s.resource_type = '{rt}' ORDER BY s.seq LIMIT 1 OFFSET ${k})"
            ),
        ),
    }
}

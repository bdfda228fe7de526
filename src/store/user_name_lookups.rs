//! `GET /Users?filter=userName eq "…"`, the lookup Okta and Entra send before every create
//! and update, as a store read of its own: on Postgres concurrent lookups of one target
//! share one `user_name_lc IN ($2, …)` query (`coalesce.rs`); on SQLite, and on a Postgres
//! pool too small for a shelf, each is one query. Either way the answer is what the list
//! query with that filter returns (`tests/api/users.rs` compares them).

use std::sync::Arc;

use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};

use super::coalesce::{BatchLookup, Coalescer};
use super::conn_shelf::ConnShelf;
use super::in_list_batch::{MAX_BATCH, fetch_padded, first_key, placeholders, size_class};
use super::resource_reads::{ListedResource, row_to_resource, select_list};
use super::{Dialect, Store, StoreError, StoreResult, with_conn};
use crate::scim::ResourceType;

/// At most this many batch queries per shape at once (each holds a shelf connection);
/// lookups beyond them queue for the next batch. 1 against 2 (docs/performance.md, round
/// 8): the same at c = 4, +12-18 % at c = 20, and 20-28 % less Postgres CPU per lookup at a
/// moderate fixed rate, where 2 let most lookups run alone; 4 and 8 batch too little.
const MAX_IN_FLIGHT: usize = 1;

/// What a lookup reads besides the user: which target, the enrichment join, membership.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LookupShape {
    pub target: String,
    /// The abnormal target whose cache is joined (None: no join).
    pub enrichment_source: Option<String>,
    /// Read the user's groups too (`ListedResource::links`).
    pub with_links: bool,
}

/// The SQL of a lookup of `keys` lowercased userNames: `$1` target, `$2` the enrichment
/// source when joined, then the keys (`in_list_batch.rs`).
fn lookup_sql(dialect: Dialect, shape: &LookupShape, keys: usize) -> String {
    let enriched = shape.enrichment_source.is_some();
    let list = placeholders(first_key(enriched), keys);
    format!(
        "SELECT {}, r.user_name_lc AS lookup_key FROM scim_resources r {} \
         WHERE r.target = $1 AND r.resource_type = 'User' AND r.user_name_lc IN ({list})",
        select_list(
            enriched,
            shape.with_links.then_some((dialect, ResourceType::User))
        ),
        if enriched {
            "LEFT JOIN enrichment_accounts en ON en.source = $2 AND en.email_lc = r.email_lc"
        } else {
            ""
        },
    )
}

/// The Postgres batch runner: one query on a shelved connection.
#[derive(Debug)]
pub(crate) struct PgUserNameBatch {
    shelf: Arc<ConnShelf>,
}

impl BatchLookup for PgUserNameBatch {
    type Shape = LookupShape;
    type Key = String;
    type Value = ListedResource;

    async fn run(
        &self,
        shape: &LookupShape,
        keys: Vec<String>,
    ) -> StoreResult<Vec<(String, ListedResource)>> {
        let enriched = shape.enrichment_source.is_some();
        let sql = lookup_sql(Dialect::Postgres, shape, size_class(keys.len()));
        let source = shape.enrichment_source.as_deref();
        let rows = fetch_padded(&self.shelf, sql, &shape.target, source, &keys).await?;
        rows.into_iter()
            .map(|row| {
                let key: String = row.try_get("lookup_key")?;
                Ok((key, row_to_resource!(row, enriched, shape.with_links)))
            })
            .collect()
    }
}

pub(crate) type UserNameLookups = Coalescer<PgUserNameBatch>;

/// The coalescer of a Postgres store with a shelf.
pub(crate) fn pg_lookups(shelf: Arc<ConnShelf>) -> Arc<UserNameLookups> {
    Arc::new(Coalescer::new(
        PgUserNameBatch { shelf },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    ))
}

impl Store {
    /// The user of `shape.target` whose userName equals `user_name` case-insensitively
    /// (userName is unique per target, case-insensitively), read after this call began.
    pub async fn find_user_by_user_name(
        &self,
        shape: LookupShape,
        user_name: &str,
    ) -> StoreResult<Option<ListedResource>> {
        // The same folding as the filter compiler's (`filter_sql/leaf.rs`) and the stored
        // `user_name_lc` column.
        let key = user_name.to_lowercase();
        if let Some(lookups) = &self.user_name_lookups {
            return lookups.get(shape, key).await;
        }
        let enriched = shape.enrichment_source.is_some();
        let sql = lookup_sql(self.dialect(), &shape, 1);
        with_conn!(self, c => {
            let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(&shape.target);
            if let Some(source) = &shape.enrichment_source {
                q = q.bind(source);
            }
            match q.bind(&key).fetch_optional(c).await? {
                Some(row) => Ok(Some(row_to_resource!(row, enriched, shape.with_links))),
                None => Ok(None),
            }
        })
    }
}

//! One resource by id (`GET /{Users,Groups}/{id}`, Okta's read before a PUT, and every read
//! before a write or a sync): on Postgres concurrent reads of one target and type share one
//! `r.id IN (…)` query (`coalesce.rs`), as userName lookups do (`user_name_lookups.rs`); on
//! SQLite, and on a Postgres pool too small for a shelf, each is one query. A read is only
//! answered by a query sent after it began, so it sees every write committed before.

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

/// At most this many batch queries per shape at once; reads beyond them queue for the next
/// batch (as `user_name_lookups::MAX_IN_FLIGHT`, and for the same reasons).
const MAX_IN_FLIGHT: usize = 1;

/// What a read by id joins besides the resource: which target and type, enrichment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdShape {
    pub target: String,
    pub resource_type: ResourceType,
    /// The abnormal target whose cache is joined (None: no join; always None for groups).
    pub enrichment_source: Option<String>,
}

/// The SQL of a read of `keys` ids, membership included: `$1` target, `$2` the enrichment
/// source when joined, then the ids (`in_list_batch.rs`).
fn by_id_sql(dialect: Dialect, shape: &IdShape, keys: usize) -> String {
    let enriched = shape.enrichment_source.is_some();
    let list = placeholders(first_key(enriched), keys);
    format!(
        "SELECT {} FROM scim_resources r {} \
         WHERE r.target = $1 AND r.resource_type = '{}' AND r.id IN ({list})",
        select_list(enriched, Some((dialect, shape.resource_type))),
        if enriched {
            "LEFT JOIN enrichment_accounts en ON en.source = $2 AND en.email_lc = r.email_lc"
        } else {
            ""
        },
        shape.resource_type.as_str(),
    )
}

/// The Postgres batch runner: one query on a shelved connection.
#[derive(Debug)]
pub(crate) struct PgIdBatch {
    shelf: Arc<ConnShelf>,
}

impl BatchLookup for PgIdBatch {
    type Shape = IdShape;
    type Key = String;
    type Value = ListedResource;

    async fn run(
        &self,
        shape: &IdShape,
        keys: Vec<String>,
    ) -> StoreResult<Vec<(String, ListedResource)>> {
        let enriched = shape.enrichment_source.is_some();
        let sql = by_id_sql(Dialect::Postgres, shape, size_class(keys.len()));
        let source = shape.enrichment_source.as_deref();
        let rows = fetch_padded(&self.shelf, sql, &shape.target, source, &keys).await?;
        rows.into_iter()
            .map(|row| {
                let r = row_to_resource!(row, enriched, true);
                Ok((r.id.clone(), r))
            })
            .collect()
    }
}

pub(crate) type IdLookups = Coalescer<PgIdBatch>;

/// The coalescer of a Postgres store with a shelf.
pub(crate) fn pg_id_lookups(shelf: Arc<ConnShelf>) -> Arc<IdLookups> {
    Arc::new(Coalescer::new(
        PgIdBatch { shelf },
        MAX_IN_FLIGHT,
        MAX_BATCH,
    ))
}

impl Store {
    /// One resource with its membership (and enrichment when the target has a source),
    /// with the stored JSON left as text: a single GET writes it out as stored when it can
    /// (`scim::list_body::spliceable`). Read by a query sent after this call began.
    pub async fn get_listed_resource(
        &self,
        target: &str,
        rt: ResourceType,
        id: &str,
        enrichment_source: Option<&str>,
    ) -> StoreResult<Option<ListedResource>> {
        // No resource has such an id (ids are the bridge's UUIDs), and Postgres would
        // refuse the bind: with it, a batch would fail for every read it holds.
        if id.contains('\0') {
            return Ok(None);
        }
        let shape = IdShape {
            target: target.to_string(),
            resource_type: rt,
            enrichment_source: enrichment_source
                .filter(|_| rt == ResourceType::User)
                .map(str::to_string),
        };
        if let Some(lookups) = &self.id_lookups {
            return lookups.get(shape, id.to_string()).await;
        }
        let enriched = shape.enrichment_source.is_some();
        let sql = by_id_sql(self.dialect(), &shape, 1);
        with_conn!(self, c => {
            let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(target);
            if let Some(source) = &shape.enrichment_source {
                q = q.bind(source);
            }
            match q.bind(id).fetch_optional(c).await? {
                Some(row) => Ok(Some(row_to_resource!(row, enriched, true))),
                None => Ok(None),
            }
        })
    }
}

//! Resource reads: one resource, or a page of a filtered list. Membership (a user's
//! `groups`, a group's `members`) comes back in the same query as a JSON column, so a GET
//! is one round trip.

use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};

use super::enrichment::ENRICHMENT_COLUMNS;
use super::enrichment::EnrichmentRow;
use super::page_hints::PageEnd;
use super::page_position;
use super::resources::{MemberLinks, StoredResource};
use super::{Dialect, Store, StoreError, StoreResult, bind_values, with_conn};
use crate::scim::ResourceType;

/// The `links` column: the resource's membership as a JSON array of `[id, label]`, ordered
/// by id (a user's groups with the group's name; a group's members with the `display` the
/// client sent). Only members/groups that exist are shown.
fn links_column(dialect: Dialect, rt: ResourceType) -> &'static str {
    match (dialect, rt) {
        (Dialect::Postgres, ResourceType::User) => {
            "(SELECT json_agg(json_build_array(gm.group_id, o.label) ORDER BY gm.group_id)::text \
             FROM scim_group_members gm JOIN scim_resources o ON o.target = gm.target AND o.id = gm.group_id \
             WHERE gm.target = r.target AND gm.member_id = r.id) AS links"
        }
        (Dialect::Postgres, ResourceType::Group) => {
            "(SELECT json_agg(json_build_array(gm.member_id, gm.display) ORDER BY gm.member_id)::text \
             FROM scim_group_members gm JOIN scim_resources o ON o.target = gm.target AND o.id = gm.member_id \
             WHERE gm.target = r.target AND gm.group_id = r.id) AS links"
        }
        (Dialect::Sqlite, ResourceType::User) => {
            "(SELECT json_group_array(json_array(k, l)) FROM (SELECT gm.group_id AS k, o.label AS l \
             FROM scim_group_members gm JOIN scim_resources o ON o.target = gm.target AND o.id = gm.group_id \
             WHERE gm.target = r.target AND gm.member_id = r.id ORDER BY gm.group_id)) AS links"
        }
        (Dialect::Sqlite, ResourceType::Group) => {
            "(SELECT json_group_array(json_array(k, l)) FROM (SELECT gm.member_id AS k, gm.display AS l \
             FROM scim_group_members gm JOIN scim_resources o ON o.target = gm.target AND o.id = gm.member_id \
             WHERE gm.target = r.target AND gm.group_id = r.id ORDER BY gm.member_id)) AS links"
        }
    }
}

/// Parses the `links` column (NULL when Postgres aggregated no rows).
pub(super) fn parse_links(raw: Option<String>) -> StoreResult<MemberLinks> {
    match raw {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| StoreError::Corrupt(format!("membership column: {e}"))),
    }
}

/// A resource of a list answer (a page, or the userName lookup). Its stored JSON stays text:
/// a list is written out without parsing it (`scim/list_body.rs`), and parsed only where a
/// tree is needed (projection, enrichment).
#[derive(Debug, Clone)]
pub struct ListedResource {
    pub id: String,
    pub resource_type: ResourceType,
    /// The stored JSON object, as `StoredResource::data` but unparsed.
    pub data: Box<RawValue>,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
    pub enrichment: Option<EnrichmentRow>,
    pub links: Option<MemberLinks>,
}

impl ListedResource {
    /// The same resource with its JSON parsed.
    pub fn parse(self) -> StoreResult<StoredResource> {
        let data = serde_json::from_str(self.data.get())
            .map_err(|e| StoreError::Corrupt(format!("resource {}: data: {e}", self.id)))?;
        Ok(StoredResource {
            id: self.id,
            resource_type: self.resource_type,
            data,
            version: self.version,
            created: self.created,
            last_modified: self.last_modified,
            enrichment: self.enrichment,
            links: self.links,
        })
    }
}

/// The select list for resources, with the enrichment columns when joined and the
/// membership column when asked for.
pub(super) fn select_list(enriched: bool, links: Option<(Dialect, ResourceType)>) -> String {
    let mut s =
        String::from("r.id, r.resource_type, r.data, r.version, r.created, r.last_modified");
    if enriched {
        for c in ENRICHMENT_COLUMNS {
            s.push_str(", en.");
            s.push_str(c);
        }
    }
    if let Some((dialect, rt)) = links {
        s.push_str(", ");
        s.push_str(links_column(dialect, rt));
    }
    s
}

/// Builds a `ListedResource` (the stored JSON kept as text) from a row of `select_list`.
macro_rules! row_to_resource {
    ($row:expr, $enriched:expr, $links:expr) => {{
        let row = $row;
        let rt: String = row.try_get("resource_type")?;
        let Json(data): Json<Box<RawValue>> = row.try_get("data")?;
        ListedResource {
            id: row.try_get("id")?,
            resource_type: ResourceType::parse(&rt)
                .ok_or_else(|| StoreError::Corrupt(format!("resource_type {rt}")))?,
            data,
            version: row.try_get("version")?,
            created: row.try_get("created")?,
            last_modified: row.try_get("last_modified")?,
            enrichment: if $enriched {
                super::enrichment::row_to_enrichment!(row)
            } else {
                None
            },
            links: if $links {
                Some($crate::store::resource_reads::parse_links(
                    row.try_get("links")?,
                )?)
            } else {
                None
            },
        }
    }};
}
pub(super) use row_to_resource;

/// List / search parameters, with the filter already compiled to SQL.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    pub target: &'a str,
    pub resource_type: ResourceType,
    /// The abnormal target whose cache is joined as `en` (placeholder `$2`).
    pub enrichment_source: Option<&'a str>,
    /// WHERE fragment whose placeholders start after the fixed ones (`$2` or `$3`).
    pub filter: Option<super::SqlFragment>,
    /// ORDER BY expression (from a whitelist), ascending unless `descending`.
    pub sort: Option<String>,
    pub descending: bool,
    /// 0-based offset and page size.
    pub offset: i64,
    pub limit: i64,
    /// Read each resource's membership too (`StoredResource::links`).
    pub with_links: bool,
    /// Now, for the age of paging hints.
    pub now_ms: i64,
}

/// The identity of a list query for paging hints: everything but the position.
fn hint_key(q: &ListQuery<'_>, enriched: bool) -> String {
    let binds = q.filter.as_ref().map(|f| &f.binds);
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{:?}",
        q.target,
        q.resource_type.as_str(),
        enriched,
        q.filter.as_ref().map(|f| f.sql.as_str()).unwrap_or(""),
        binds,
    )
}

impl ListQuery<'_> {
    /// The first free placeholder number for a filter fragment (`$1` is the target, `$2`
    /// the enrichment source when joined). The resource type is a literal in the SQL, so
    /// Postgres can use the partial userName index in a cached generic plan.
    pub fn first_filter_placeholder(enriched: bool) -> usize {
        if enriched { 3 } else { 2 }
    }
}

impl Store {
    /// One resource with its membership (and enrichment when the target has a source).
    pub async fn get_resource(
        &self,
        target: &str,
        rt: ResourceType,
        id: &str,
        enrichment_source: Option<&str>,
    ) -> StoreResult<Option<StoredResource>> {
        self.get_listed_resource(target, rt, id, enrichment_source)
            .await?
            .map(ListedResource::parse)
            .transpose()
    }

    /// One page and the exact total.
    pub async fn list_resources(
        &self,
        q: &ListQuery<'_>,
    ) -> StoreResult<(i64, Vec<ListedResource>)> {
        let enriched = q.enrichment_source.is_some() && q.resource_type == ResourceType::User;
        let join = if enriched {
            "LEFT JOIN enrichment_accounts en ON en.source = $2 AND en.email_lc = r.email_lc"
        } else {
            ""
        };
        let filter = q
            .filter
            .as_ref()
            .map(|f| format!(" AND ({})", f.sql))
            .unwrap_or_default();
        let where_ = format!(
            "WHERE r.target = $1 AND r.resource_type = '{}'{filter}",
            q.resource_type.as_str()
        );
        let binds = q.filter.as_ref().map(|f| f.binds.as_slice()).unwrap_or(&[]);
        // Default order only: a walk's next page seeks past where the previous one ended.
        let hint_key = q.sort.is_none().then(|| hint_key(q, enriched));
        let seek = match &hint_key {
            Some(k) if q.offset > 0 => self.page_hints.get(k, q.offset, q.now_ms),
            _ => None,
        };
        let next = ListQuery::first_filter_placeholder(enriched) + binds.len();
        let (with_sql, seek_sql, offset) = match &seek {
            Some(_) => (String::new(), format!(" AND r.seq > ${next}"), None),
            // No hint, default order, no filter: find the page's first `seq` from the
            // block counts (Postgres) or the `seq` index alone, then read just the page.
            None if q.sort.is_none() && q.filter.is_none() && q.offset > 0 => {
                let (with_sql, cond) =
                    page_position::start_at_position(self.dialect(), q.resource_type, next);
                (with_sql, cond, None)
            }
            None => (String::new(), String::new(), Some(next)),
        };
        // The offset is bound, not formatted, so random positions share one prepared statement.
        let offset_sql = match offset {
            Some(n) => format!(" OFFSET ${n}"),
            None => String::new(),
        };
        let dir = if q.descending { "DESC" } else { "ASC" };
        let order = match &q.sort {
            Some(s) => format!("{s} {dir}, r.id {dir}"),
            None => "r.seq ASC".to_string(),
        };
        let page_sql = format!(
            "{with_sql}SELECT {}{} FROM scim_resources r {join} {where_}{seek_sql} ORDER BY {order} LIMIT {}{offset_sql}",
            select_list(
                enriched,
                q.with_links.then(|| (self.dialect(), q.resource_type))
            ),
            if hint_key.is_some() { ", r.seq" } else { "" },
            q.limit.max(0),
        );
        let mut last_seq = None;
        let resources = with_conn!(self, c => {
            let mut resources = Vec::new();
            if q.limit > 0 {
                let mut pq = sqlx::query(AssertSqlSafe(page_sql.clone())).bind(q.target);
                if enriched {
                    pq = pq.bind(q.enrichment_source.unwrap_or_default());
                }
                let mut pq = bind_values!(pq, binds);
                match &seek {
                    Some(end) => pq = pq.bind(end.seq),
                    None => pq = pq.bind(q.offset.max(0)),
                }
                let rows = pq.fetch_all(c).await?;
                if hint_key.is_some() && let Some(row) = rows.last() {
                    last_seq = Some(row.try_get::<i64, _>("seq")?);
                }
                for row in rows {
                    resources.push(row_to_resource!(row, enriched, q.with_links));
                }
            }
            Ok(resources)
        })?;
        let len = resources.len() as i64;
        if let (Some(key), Some(seq)) = (hint_key, last_seq)
            && len == q.limit
        {
            self.page_hints
                .put(key, q.offset.max(0) + len, PageEnd { seq }, q.now_ms);
        }
        // A page that is not full and not past the end gives the total without counting
        // (the common `filter=userName eq …` lookup is one query).
        if q.limit > 0 && len < q.limit && (len > 0 || q.offset == 0) {
            return Ok((q.offset.max(0) + len, resources));
        }
        let total = match &q.filter {
            None => self.count_resources(q.target, q.resource_type).await?,
            Some(_) => {
                let count_sql =
                    format!("SELECT COUNT(*) AS n FROM scim_resources r {join} {where_}");
                with_conn!(self, c => {
                    let mut cq = sqlx::query(AssertSqlSafe(count_sql.clone())).bind(q.target);
                    if enriched {
                        cq = cq.bind(q.enrichment_source.unwrap_or_default());
                    }
                    Ok(bind_values!(cq, binds).fetch_one(c).await?.try_get::<i64, _>("n")?)
                })?
            }
        };
        Ok((total, resources))
    }

    /// How many resources of a type a target holds (the trigger-kept counts, exact).
    pub async fn count_resources(&self, target: &str, rt: ResourceType) -> StoreResult<i64> {
        with_conn!(self, c => {
            let row = sqlx::query(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM scim_resource_counts \
                 WHERE target = $1 AND resource_type = $2",
            )
            .bind(target)
            .bind(rt.as_str())
            .fetch_one(c)
            .await?;
            Ok(row.try_get::<i64, _>("n")?)
        })
    }
}

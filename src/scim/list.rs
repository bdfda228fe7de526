//! List and search: filter compiled to SQL, exact totals, server-side paging with a hard cap.

use std::collections::HashMap;

use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};
use serde_json::Value;

use super::ResourceType;
use super::error::ScimError;
use super::filter_sql::{
    FilterContext, compile_filter, compile_sort, simple_eq, simple_eq_compiles,
};
use super::list_body::{ListItem, ListPage, spliceable};
use super::projection::project;
use super::render::render;
use super::service::Ctx;
use crate::store::resources::ListQuery;
use crate::store::user_name_lookups::LookupShape;

/// Query parameters of a list or the body of a `.search`, normalised.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

fn int_param(name: &str, v: &str) -> Result<i64, ScimError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("`{name}` must be an integer, got `{v}`")))
}

impl ListParams {
    /// From a raw query string (`?filter=…&startIndex=…`), parameter names case-insensitive.
    pub fn from_query(raw: Option<&str>) -> Result<ListParams, ScimError> {
        let mut p = ListParams::default();
        let pairs: HashMap<String, String> =
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect();
        p.filter = pairs
            .get("filter")
            .cloned()
            .filter(|f| !f.trim().is_empty());
        p.start_index = pairs
            .get("startindex")
            .map(|v| int_param("startIndex", v))
            .transpose()?;
        p.count = pairs
            .get("count")
            .map(|v| int_param("count", v))
            .transpose()?;
        p.sort_by = pairs.get("sortby").cloned().filter(|s| !s.is_empty());
        p.sort_order = pairs.get("sortorder").cloned();
        p.attributes = pairs.get("attributes").cloned().filter(|s| !s.is_empty());
        p.excluded = pairs
            .get("excludedattributes")
            .cloned()
            .filter(|s| !s.is_empty());
        Ok(p)
    }

    /// From a SearchRequest body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> Result<ListParams, ScimError> {
        let str_or_list = |k: &str| -> Result<Option<String>, ScimError> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => Ok(Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{k}` must be a string or an array of strings"
                ))),
            }
        };
        let int = |k: &str| -> Result<Option<i64>, ScimError> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("`{k}` must be an integer"))),
                Some(Value::String(s)) => int_param(k, s).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{k}` must be an integer"
                ))),
            }
        };
        Ok(ListParams {
            filter: str_or_list("filter")?.filter(|f| !f.trim().is_empty()),
            start_index: int("startIndex")?,
            count: int("count")?,
            sort_by: str_or_list("sortBy")?,
            sort_order: str_or_list("sortOrder")?,
            attributes: str_or_list("attributes")?,
            excluded: str_or_list("excludedAttributes")?,
        })
    }
}

fn wants(attr: &str, attributes: Option<&str>, excluded: Option<&str>) -> bool {
    let has = |list: Option<&str>| {
        list.is_some_and(|l| {
            l.split(',').any(|a| {
                let a = a.trim();
                a.eq_ignore_ascii_case(attr)
                    || a.to_ascii_lowercase()
                        .ends_with(&format!(":{}", attr.to_ascii_lowercase()))
                    || a.to_ascii_lowercase()
                        .starts_with(&format!("{}.", attr.to_ascii_lowercase()))
            })
        })
    };
    if has(excluded) {
        return false;
    }
    attributes.is_none() || has(attributes)
}

/// `Some(userName)` when a list is the IdPs' lookup before a create or update:
/// `userName eq "…"` on Users, first page, no sort, a filter the general path accepts
/// (one it rejects goes there, for its error). userName is unique per target, so the
/// answer is that user or nothing, and `Store::find_user_by_user_name` reads it (sharing
/// one query with concurrent lookups on Postgres).
fn user_name_lookup(rt: ResourceType, p: &ListParams, start: i64, count: i64) -> Option<String> {
    if rt != ResourceType::User || start != 1 || count < 1 || p.sort_by.is_some() {
        return None;
    }
    let filter = p.filter.as_deref()?;
    match simple_eq(filter)? {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if path.name.eq_ignore_ascii_case("userName") && simple_eq_compiles(filter, &v) =>
        {
            Some(v)
        }
        _ => None,
    }
}

impl Ctx<'_> {
    pub async fn list(&self, rt: ResourceType, p: &ListParams) -> Result<ListPage, ScimError> {
        let max = i64::from(self.state.config.max_page_size);
        let count = p
            .count
            .unwrap_or(i64::from(self.state.config.default_page_size))
            .clamp(0, max);
        let start = p.start_index.unwrap_or(1).max(1);
        let source = self.target.enrichment_source.as_deref();
        let enriched = source.is_some() && rt == ResourceType::User;
        let fctx = FilterContext {
            dialect: self.state.store.dialect(),
            resource_type: rt,
            enrichment_joined: enriched,
            first_placeholder: ListQuery::first_filter_placeholder(enriched),
        };
        let lookup = user_name_lookup(rt, p, start, count);
        // A lookup reads by userName: its filter needs no SQL (compiling it was ~3 % of a
        // lookup's CPU, docs/performance.md round 15).
        let filter = match lookup {
            Some(_) => None,
            None => p
                .filter
                .as_deref()
                .map(|f| compile_filter(f, &fctx))
                .transpose()?,
        };
        let sort = p
            .sort_by
            .as_deref()
            .map(|s| compile_sort(s, &fctx))
            .transpose()?;
        let descending = match p
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") | Some("") => false,
            Some("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, got `{o}`"
                )));
            }
        };
        let link_attr = match rt {
            ResourceType::User => "groups",
            ResourceType::Group => "members",
        };
        let with_links = wants(link_attr, p.attributes.as_deref(), p.excluded.as_deref());
        let enrichment_source = if enriched { source } else { None };
        let (total, rows) = match lookup {
            Some(user_name) => {
                let shape = LookupShape {
                    target: self.target.name.clone(),
                    enrichment_source: enrichment_source.map(str::to_owned),
                    with_links,
                };
                let found = self
                    .state
                    .store
                    .find_user_by_user_name(shape, &user_name)
                    .await?;
                let rows: Vec<_> = found.into_iter().collect();
                (rows.len() as i64, rows)
            }
            None => {
                let q = ListQuery {
                    target: &self.target.name,
                    resource_type: rt,
                    enrichment_source,
                    filter,
                    sort,
                    descending,
                    offset: start - 1,
                    limit: count,
                    with_links,
                    now_ms: self.state.clock.now_ms(),
                };
                self.state.store.list_resources(&q).await?
            }
        };
        // Without enrichment or projection, stored JSON goes out as stored (list_body.rs).
        let splice = !enriched && p.attributes.is_none() && p.excluded.is_none();
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            if splice && spliceable(&r) {
                items.push(ListItem::Spliced(Box::new(r)));
                continue;
            }
            let mut r = r.parse()?;
            let links = r.links.take();
            let mut body = render(r, &self.base, links.as_ref(), enriched);
            project(
                rt,
                &mut body,
                p.attributes.as_deref(),
                p.excluded.as_deref(),
            )?;
            items.push(ListItem::Tree(body));
        }
        Ok(ListPage {
            total,
            start,
            items,
        })
    }
}

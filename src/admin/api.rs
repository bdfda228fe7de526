//! `/admin/v1/…`: the mapping table, a resource's history, retries and the queue, as JSON.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminActor;
use crate::request_id::RequestId;
use crate::scim::error::ScimError;
use crate::state::AppState;
use crate::store::mappings::MappingFilter;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub target: Option<String>,
    pub state: Option<String>,
    pub search: Option<String>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

pub async fn list_mappings(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ScimError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0).max(0);
    let f = MappingFilter {
        target: q.target,
        state: q.state,
        search: q.search.filter(|s| !s.is_empty()),
        offset,
        limit,
    };
    let (total, rows) = s.store.list_mappings(&f).await?;
    Ok(Json(
        json!({"total": total, "offset": offset, "limit": limit, "mappings": rows}),
    ))
}

pub async fn show_mapping(
    State(s): State<AppState>,
    Path((target, id)): Path<(String, String)>,
) -> Result<Json<Value>, ScimError> {
    let mut found = Vec::new();
    for rt in ["User", "Group"] {
        if let Some(m) = s.store.get_mapping(&target, rt, &id).await? {
            found.push(m);
        }
    }
    let Some(m) = found.into_iter().next() else {
        return Err(ScimError::not_found(format!(
            "no mapping for `{id}` in target `{target}`"
        )));
    };
    let history = s.store.history(&target, &id, 200).await?;
    Ok(Json(json!({"mapping": m, "history": history})))
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    pub target: Option<String>,
}

/// By SCIM id, userName / displayName or vendor id.
pub async fn lookup(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Value>, ScimError> {
    let rows = s.store.find_mappings(&key, q.target.as_deref()).await?;
    Ok(Json(json!({"mappings": rows})))
}

#[derive(Debug, Deserialize)]
pub struct RetryBody {
    pub target: Option<String>,
    /// One resource; without it every failed or retrying mapping (of `target`) is retried.
    pub resource_id: Option<String>,
}

pub async fn retry(
    State(s): State<AppState>,
    Extension(actor): Extension<AdminActor>,
    request_id: RequestId,
    Json(b): Json<RetryBody>,
) -> Result<Json<Value>, ScimError> {
    let now = s.clock.now_ms();
    let n = s
        .store
        .retry_mappings(b.target.as_deref(), b.resource_id.as_deref(), &actor.0, now)
        .await?;
    tracing::info!(actor = %actor.0, %request_id, target = ?b.target, resource = ?b.resource_id, retried = n, "admin retry");
    s.wake.notify_waiters();
    Ok(Json(json!({"retried": n})))
}

pub async fn queue(State(s): State<AppState>) -> Result<Json<Value>, ScimError> {
    let now = s.clock.now_ms();
    let stats = s.store.queue_stats(now).await?;
    Ok(Json(json!({"now": now, "targets": stats})))
}

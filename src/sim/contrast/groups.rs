//! Access groups, roles and the profile.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::ContrastSim;
use super::model::{
    ApiError, ContrastState, ROLES, fail, offset_limit, ok, parse_body, validation_failed,
};
use crate::sim::util::page;

pub async fn profile(State(sim): State<ContrastSim>) -> Response {
    let cfg = &sim.inner.cfg;
    ok(json!({
        "success": true,
        "user": {
            "username": cfg.username,
            "first_name": "Bridge",
            "last_name": "Service",
            "org_uuid": cfg.org_uuid,
        }
    }))
}

pub async fn roles() -> Response {
    let roles: Vec<_> = ROLES
        .iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    ok(json!({"success": true, "roles": roles}))
}

pub async fn list(
    State(sim): State<ContrastSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (offset, limit) = offset_limit(&q)?;
    let st = sim.state();
    let groups: Vec<_> = page(&st.groups, offset, limit)
        .iter()
        .map(|g| st.group_json(g))
        .collect();
    Ok(ok(
        json!({"success": true, "groups": groups, "count": st.groups.len()}),
    ))
}

#[derive(Debug, Deserialize)]
struct MemberRef {
    user_id: String,
}

#[derive(Debug, Deserialize)]
struct MembersBody {
    users: Option<Vec<MemberRef>>,
}

#[derive(Debug, Deserialize)]
struct GroupBody {
    name: Option<String>,
    users: Option<Vec<MemberRef>>,
}

/// Replace a group's whole member list (and its name, if given). Unknown ids change nothing.
fn replace(
    st: &mut ContrastState,
    group_id: &str,
    name: Option<String>,
    members: Vec<MemberRef>,
) -> Result<(), ApiError> {
    if st.groups.iter().all(|g| g.group_id != group_id) {
        return Err(fail(StatusCode::NOT_FOUND, "Group not found"));
    }
    let mut ids: Vec<String> = Vec::with_capacity(members.len());
    for m in members {
        if st.user(&m.user_id).is_none() {
            return Err(validation_failed(vec![(
                "users",
                format!("Unknown user '{}'", m.user_id),
            )]));
        }
        if !ids.contains(&m.user_id) {
            ids.push(m.user_id);
        }
    }
    let Some(group) = st.group_mut(group_id) else {
        return Err(fail(StatusCode::NOT_FOUND, "Group not found"));
    };
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        group.name = name;
    }
    group.users = ids;
    Ok(())
}

/// `PUT /{org}/groups/{gid}/users` `{"users":[{"user_id":..}]}`.
pub async fn replace_members(
    State(sim): State<ContrastSim>,
    Path((_org, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let users = parse_body::<MembersBody>(&body)?
        .users
        .ok_or_else(users_required)?;
    replace(&mut sim.state(), &group_id, None, users)?;
    Ok(ok(
        json!({"success": true, "messages": ["Group membership updated."]}),
    ))
}

fn users_required() -> ApiError {
    validation_failed(vec![("users", "users is required".into())])
}

/// Public-docs variant: `PUT /{org}/groups/{gid}` with the full group body.
pub async fn replace_group(
    State(sim): State<ContrastSim>,
    Path((_org, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body::<GroupBody>(&body)?;
    let users = body.users.ok_or_else(users_required)?;
    let mut st = sim.state();
    replace(&mut st, &group_id, body.name, users)?;
    let group = st.groups.iter().find(|g| g.group_id == group_id).cloned();
    let group = group.ok_or_else(|| fail(StatusCode::NOT_FOUND, "Group not found"))?;
    Ok(ok(json!({"success": true, "group": st.group_json(&group)})))
}

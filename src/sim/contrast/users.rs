//! `/{org}/users` handlers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::ContrastSim;
use super::model::{
    ApiError, ContrastState, ContrastUser, InvitationStatus, fail, is_role, offset_limit, ok,
    parse_body, validation_failed,
};
use crate::sim::util::{now_ms, page, present, valid_email};

type Answer = Result<Response, ApiError>;

pub fn new_user(org: &str, email: &str, first: &str, last: &str, role: &str) -> ContrastUser {
    ContrastUser {
        user_id: uuid::Uuid::new_v4().to_string(),
        username: email.to_string(),
        email: email.to_string(),
        first_name: first.to_string(),
        last_name: last.to_string(),
        enabled: true,
        role: role.to_string(),
        date_created: now_ms(),
        last_login: None,
        org_uuid: org.to_string(),
        api_only: false,
        protect_enabled: false,
        invitation_status: InvitationStatus::Pending,
    }
}

pub async fn list(
    State(sim): State<ContrastSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let (offset, limit) = offset_limit(&q)?;
    let st = sim.state();
    let users: Vec<_> = page(&st.users, offset, limit)
        .iter()
        .map(|u| st.user_json(u))
        .collect();
    Ok(ok(
        json!({"success": true, "users": users, "count": st.users.len()}),
    ))
}

pub async fn get_one(
    State(sim): State<ContrastSim>,
    Path((_org, id)): Path<(String, String)>,
) -> Answer {
    let st = sim.state();
    let user = st.user(&id).ok_or_else(user_not_found)?;
    Ok(ok(json!({"success": true, "user": st.user_json(user)})))
}

fn user_not_found() -> ApiError {
    fail(StatusCode::NOT_FOUND, "User not found")
}

/// A group named in a create body: `"g-1"` or `{"group_id":"g-1"}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GroupRef {
    Id(String),
    Object { group_id: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    groups: Option<Vec<GroupRef>>,
    api_only: Option<bool>,
    protect_enabled: Option<bool>,
}

/// Field errors of a role value, if any.
fn check_role(role: &str, errors: &mut Vec<(&'static str, String)>) {
    if !is_role(role) {
        errors.push(("role", format!("Invalid role '{role}'")));
    }
}

pub async fn create(State(sim): State<ContrastSim>, body: Bytes) -> Answer {
    let body: CreateBody = parse_body(&body)?;
    let mut errors = Vec::new();
    let email = present(&body.email);
    match email {
        None => errors.push(("email", "email is required".to_string())),
        Some(e) if !valid_email(e) => errors.push(("email", format!("Invalid email '{e}'"))),
        Some(_) => {}
    }
    let first = present(&body.first_name);
    if first.is_none() {
        errors.push(("first_name", "first_name is required".into()));
    }
    let last = present(&body.last_name);
    if last.is_none() {
        errors.push(("last_name", "last_name is required".into()));
    }
    match body.role.as_deref() {
        None | Some("") => errors.push(("role", "role is required".into())),
        Some(role) => check_role(role, &mut errors),
    }
    let (Some(email), Some(first), Some(last), Some(role), true) =
        (email, first, last, body.role.as_deref(), errors.is_empty())
    else {
        return Err(validation_failed(errors));
    };
    let group_ids: Vec<String> = body
        .groups
        .unwrap_or_default()
        .into_iter()
        .map(|g| match g {
            GroupRef::Id(id) | GroupRef::Object { group_id: id } => id,
        })
        .collect();

    let mut st = sim.state();
    if st.user_by_username(email).is_some() {
        return Err(fail(
            StatusCode::CONFLICT,
            format!("A user with username '{email}' already exists"),
        ));
    }
    if let Some(bad) = group_ids
        .iter()
        .find(|id| st.groups.iter().all(|g| g.group_id != **id))
    {
        return Err(validation_failed(vec![(
            "groups",
            format!("Unknown group '{bad}'"),
        )]));
    }
    let mut user = new_user(&sim.inner.cfg.org_uuid, email, first, last, role);
    user.api_only = body.api_only.unwrap_or(false);
    user.protect_enabled = body.protect_enabled.unwrap_or(false);
    for id in &group_ids {
        if let Some(g) = st.group_mut(id)
            && !g.users.contains(&user.user_id)
        {
            g.users.push(user.user_id.clone());
        }
    }
    st.users.push(user.clone());
    drop(st);
    if sim.inner.core.faults.omit_user_id() {
        return Ok(ok(json!({"success": true})));
    }
    Ok(ok(json!({
        "success": true,
        "user": {"user_id": user.user_id, "username": user.username, "enabled": user.enabled}
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UpdateBody {
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    enabled: Option<bool>,
    email: Option<String>,
    username: Option<String>,
}

/// Validate and apply an update to one user; the answer carries the updated user.
fn apply_update(st: &mut ContrastState, id: &str, body: UpdateBody) -> Answer {
    let current = st.user(id).ok_or_else(user_not_found)?;
    let mut errors = Vec::new();
    for (field, value) in [("email", &body.email), ("username", &body.username)] {
        if let Some(v) = value
            && !v.eq_ignore_ascii_case(&current.username)
        {
            errors.push((field, "username cannot be changed".to_string()));
        }
    }
    for (field, value) in [
        ("first_name", &body.first_name),
        ("last_name", &body.last_name),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            errors.push((field, format!("{field} cannot be empty")));
        }
    }
    if let Some(role) = body.role.as_deref() {
        check_role(role, &mut errors);
    }
    if !errors.is_empty() {
        return Err(validation_failed(errors));
    }
    let user = st.user_mut(id).ok_or_else(user_not_found)?;
    if let Some(v) = body.first_name {
        user.first_name = v;
    }
    if let Some(v) = body.last_name {
        user.last_name = v;
    }
    if let Some(v) = body.role {
        user.role = v;
    }
    if let Some(v) = body.enabled {
        user.enabled = v;
    }
    let user = user.clone();
    Ok(ok(json!({"success": true, "user": st.user_json(&user)})))
}

pub async fn update(
    State(sim): State<ContrastSim>,
    Path((_org, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    apply_update(&mut sim.state(), &id, parse_body(&body)?)
}

#[derive(Debug, Deserialize)]
struct EnabledBody {
    enabled: Option<bool>,
}

/// Public-docs variant: `PUT /{org}/users/{id}/enabled` `{"enabled": bool}`.
pub async fn set_enabled(
    State(sim): State<ContrastSim>,
    Path((_org, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let Some(enabled) = parse_body::<EnabledBody>(&body)?.enabled else {
        return Err(validation_failed(vec![(
            "enabled",
            "enabled is required".into(),
        )]));
    };
    let body = UpdateBody {
        enabled: Some(enabled),
        ..UpdateBody::default()
    };
    apply_update(&mut sim.state(), &id, body)
}

pub async fn delete(
    State(sim): State<ContrastSim>,
    Path((_org, id)): Path<(String, String)>,
) -> Answer {
    if !sim.state().remove_user(&id) {
        return Err(user_not_found());
    }
    Ok(ok(
        json!({"success": true, "messages": ["User deleted successfully."]}),
    ))
}

//! `/users` handlers.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::model::{
    ADMIN_ROLE, ApiError, CbUser, UserStatus, error, invalid, is_role, not_found, parse_body,
    parse_user_id,
};
use super::{CarbonBlackSim, ORG_ID};
use crate::sim::util::{page, present, query_u64, valid_email};

const DEFAULT_ROWS: u64 = 20;
const MAX_ROWS: u64 = 200;

type Answer = Result<Response, ApiError>;

/// A new `PENDING_ACTIVATION` user (id assigned when stored).
pub fn new_user(org_key: &str, login_id: &str, role: &str) -> CbUser {
    CbUser {
        user_id: 0,
        login_id: login_id.to_string(),
        email: login_id.to_string(),
        first_name: "Extra".into(),
        last_name: "User".into(),
        phone: None,
        role: role.to_string(),
        status: UserStatus::PendingActivation,
        org_id: ORG_ID,
        org_key: org_key.to_string(),
        auth_method: "PASSWORD".into(),
        two_factor_authentication_enabled: false,
        last_login_time: None,
        create_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

pub async fn list(
    State(sim): State<CarbonBlackSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let start = query_u64(&q, "start").map_err(invalid)?.unwrap_or(0);
    let rows = query_u64(&q, "rows")
        .map_err(invalid)?
        .unwrap_or(DEFAULT_ROWS);
    if !(1..=MAX_ROWS).contains(&rows) {
        return Err(invalid(format!(
            "rows must be between 1 and {MAX_ROWS}, got {rows}"
        )));
    }
    let st = sim.state();
    let users = page(&st.users, start, rows);
    Ok(Json(json!({"users": users, "num_found": st.users.len()})).into_response())
}

pub async fn get_one(
    State(sim): State<CarbonBlackSim>,
    Path((_org, raw)): Path<(String, String)>,
) -> Answer {
    let id = parse_user_id(&raw)?;
    let user = sim
        .state()
        .user(id)
        .cloned()
        .ok_or_else(|| not_found("User"))?;
    Ok(Json(user).into_response())
}

pub async fn grants(
    State(sim): State<CarbonBlackSim>,
    Path((org_key, raw)): Path<(String, String)>,
) -> Answer {
    let id = parse_user_id(&raw)?;
    let user = sim
        .state()
        .user(id)
        .cloned()
        .ok_or_else(|| not_found("User"))?;
    Ok(Json(json!({"grants": [{
        "principal": format!("psc:user:{org_key}:{}", user.login_id),
        "role": user.role,
        "org_key": org_key,
    }]}))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateBody {
    login_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    phone: Option<String>,
}

fn required<'a>(v: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    present(v).ok_or_else(|| invalid(format!("{field} is required")))
}

fn check_email(field: &str, v: &str) -> Result<(), ApiError> {
    if valid_email(v) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} is not a valid email address: '{v}'"
        )))
    }
}

fn check_role(role: &str) -> Result<(), ApiError> {
    if is_role(role) {
        Ok(())
    } else {
        Err(invalid(format!(
            "role '{role}' is not one of ADMINISTRATOR, ANALYST, READ_ONLY_ANALYST"
        )))
    }
}

fn validate_create(b: &CreateBody, org_key: &str) -> Result<CbUser, ApiError> {
    let login = required(&b.login_id, "login_id")?;
    let email = required(&b.email, "email")?;
    let first = required(&b.first_name, "first_name")?;
    let last = required(&b.last_name, "last_name")?;
    let role = required(&b.role, "role")?;
    check_email("login_id", login)?;
    check_email("email", email)?;
    check_role(role)?;
    let mut user = new_user(org_key, login, role);
    user.email = email.to_string();
    user.first_name = first.to_string();
    user.last_name = last.to_string();
    user.phone = present(&b.phone).map(str::to_string);
    Ok(user)
}

pub async fn create(State(sim): State<CarbonBlackSim>, body: Bytes) -> Answer {
    let user = validate_create(&parse_body(&body)?, &sim.inner.cfg.org_key)?;
    let mut st = sim.state();
    if st.user_by_login(&user.login_id).is_some() {
        return Err(error(
            StatusCode::CONFLICT,
            "CONFLICT",
            format!("A user with login_id '{}' already exists", user.login_id),
        ));
    }
    let user = st.push_user(user);
    drop(st);
    let mut answer = json!({"login_id": user.login_id, "status": user.status});
    if !sim.inner.core.faults.omit_user_id() {
        answer["user_id"] = json!(user.user_id);
    }
    Ok(Json(answer).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UpdateBody {
    login_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    phone: Option<String>,
}

/// `PATCH` (partial) and `PUT` (whole object, extra read-only fields ignored) alike.
pub async fn update(
    State(sim): State<CarbonBlackSim>,
    Path((_org, raw)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let id = parse_user_id(&raw)?;
    let b: UpdateBody = parse_body(&body)?;
    let mut st = sim.state();
    let user = st.user_mut(id).ok_or_else(|| not_found("User"))?;
    if let Some(login) = &b.login_id
        && !login.eq_ignore_ascii_case(&user.login_id)
    {
        return Err(invalid("login_id is read-only"));
    }
    for (field, v) in [("first_name", &b.first_name), ("last_name", &b.last_name)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(invalid(format!("{field} cannot be empty")));
        }
    }
    if let Some(email) = &b.email {
        check_email("email", email)?;
    }
    if let Some(role) = &b.role {
        check_role(role)?;
    }
    let fields = [
        (&mut user.email, b.email),
        (&mut user.first_name, b.first_name),
        (&mut user.last_name, b.last_name),
        (&mut user.role, b.role),
    ];
    for (slot, value) in fields {
        if let Some(v) = value {
            *slot = v;
        }
    }
    if let Some(phone) = b.phone {
        user.phone = Some(phone).filter(|p| !p.is_empty());
    }
    Ok(Json(user.clone()).into_response())
}

pub async fn delete(
    State(sim): State<CarbonBlackSim>,
    Path((_org, raw)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_user_id(&raw)?;
    let mut st = sim.state();
    let user = st.user(id).ok_or_else(|| not_found("User"))?;
    let admins = st.users.iter().filter(|u| u.role == ADMIN_ROLE).count();
    if user.role == ADMIN_ROLE && admins <= 1 {
        return Err(invalid(
            "Cannot delete the last administrator of the organization",
        ));
    }
    st.remove_user(id);
    Ok(StatusCode::NO_CONTENT)
}

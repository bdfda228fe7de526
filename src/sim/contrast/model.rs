//! Contrast's data as the simulator keeps it, and the JSON shapes it answers with.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The org-level roles, exactly as the API spells them (case-sensitive).
pub const ROLES: [(&str, &str); 5] = [
    ("ROLE_ADMIN", "Organization Administrator"),
    ("ROLE_EDIT", "Editor"),
    ("ROLE_RULES_ADMIN", "Rules Administrator"),
    ("ROLE_VIEW", "Viewer"),
    ("ROLE_NO_ACCESS", "No Access"),
];

pub fn is_role(role: &str) -> bool {
    ROLES.iter().any(|(name, _)| *name == role)
}

/// Whether the invited user has accepted the invitation email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    Pending,
    Accepted,
}

/// One Contrast user (the simulator's own type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastUser {
    pub user_id: String,
    /// Login email; immutable after creation.
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub enabled: bool,
    pub role: String,
    /// Epoch milliseconds.
    pub date_created: i64,
    /// Epoch milliseconds; `None` until the user logs in (accepts the invitation).
    pub last_login: Option<i64>,
    pub org_uuid: String,
    pub api_only: bool,
    pub protect_enabled: bool,
    pub invitation_status: InvitationStatus,
}

/// One access group; `users` holds user ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastGroup {
    pub group_id: String,
    pub name: String,
    pub users: Vec<String>,
}

/// The whole vendor state (what `GET /_sim/state` answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContrastState {
    pub users: Vec<ContrastUser>,
    pub groups: Vec<ContrastGroup>,
}

impl ContrastState {
    pub fn user(&self, id: &str) -> Option<&ContrastUser> {
        self.users.iter().find(|u| u.user_id == id)
    }

    pub fn user_mut(&mut self, id: &str) -> Option<&mut ContrastUser> {
        self.users.iter_mut().find(|u| u.user_id == id)
    }

    pub fn user_by_username(&self, username: &str) -> Option<&ContrastUser> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn group_mut(&mut self, id: &str) -> Option<&mut ContrastGroup> {
        self.groups.iter_mut().find(|g| g.group_id == id)
    }

    /// Remove a user and its group memberships. `false` if unknown.
    pub fn remove_user(&mut self, id: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.user_id != id);
        for g in &mut self.groups {
            g.users.retain(|u| u != id);
        }
        self.users.len() != before
    }

    /// A user as the API shows it: the stored fields plus its groups.
    pub fn user_json(&self, user: &ContrastUser) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .filter(|g| g.users.contains(&user.user_id))
            .map(|g| json!({"group_id": g.group_id, "name": g.name}))
            .collect();
        let mut v = serde_json::to_value(user).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("groups".into(), Value::Array(groups));
        }
        v
    }

    /// A group as the API shows it: members as `{"user_id","username"}`.
    pub fn group_json(&self, group: &ContrastGroup) -> Value {
        let users: Vec<Value> = group
            .users
            .iter()
            .map(|id| {
                let username = self.user(id).map(|u| u.username.clone());
                json!({"user_id": id, "username": username})
            })
            .collect();
        json!({"group_id": group.group_id, "name": group.name, "users": users})
    }
}

/// A Contrast error answer: `{"success":false,"messages":[...],"errors":[...]}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    messages: Vec<String>,
    errors: Vec<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"success": false, "messages": self.messages, "errors": self.errors});
        (self.status, Json(body)).into_response()
    }
}

pub fn fail(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        messages: vec![message.into()],
        errors: Vec::new(),
    }
}

/// A 400 listing field errors.
pub fn validation_failed(errors: Vec<(&'static str, String)>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        messages: errors.iter().map(|(_, m)| m.clone()).collect(),
        errors: errors
            .into_iter()
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect(),
    }
}

pub fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

/// Parse a JSON request body or answer 400 in Contrast's error shape.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            format!("Invalid request body: {e}"),
        )
    })
}

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: u64 = 25;

/// `(offset, limit)` from the query: offset defaults to 0, limit to 25 and must be ≥ 1.
pub fn offset_limit(q: &std::collections::HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    use crate::sim::util::query_u64;
    let bad = |e: String| fail(StatusCode::BAD_REQUEST, e);
    let offset = query_u64(q, "offset").map_err(bad)?.unwrap_or(0);
    let limit = query_u64(q, "limit").map_err(bad)?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 {
        return Err(fail(StatusCode::BAD_REQUEST, "limit must be at least 1"));
    }
    Ok((offset, limit))
}

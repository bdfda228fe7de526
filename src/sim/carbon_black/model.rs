//! Carbon Black Cloud data as the simulator keeps it, and its error shape.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The API-assignable built-in roles, exactly as spelled (case-sensitive).
pub const ROLES: [&str; 3] = ["ADMINISTRATOR", "ANALYST", "READ_ONLY_ANALYST"];
pub const ADMIN_ROLE: &str = "ADMINISTRATOR";

pub fn is_role(role: &str) -> bool {
    ROLES.contains(&role)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Inactive,
    PendingActivation,
}

/// One Carbon Black Cloud user (the simulator's own type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CbUser {
    /// Numeric, assigned by the org, never reused.
    pub user_id: u64,
    /// The login email; read-only after creation.
    pub login_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub status: UserStatus,
    pub org_id: u64,
    pub org_key: String,
    pub auth_method: String,
    pub two_factor_authentication_enabled: bool,
    /// ISO 8601.
    pub last_login_time: Option<String>,
    /// ISO 8601.
    pub create_time: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStatus {
    Enabled,
    Disabled,
}

/// One API key's metadata (secrets are never returned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CbApiKey {
    pub id: String,
    pub name: String,
    pub access_level_type: String,
    pub status: KeyStatus,
    pub owner_login_id: String,
    pub owner_user_id: Option<u64>,
}

/// The whole org (what `GET /_sim/state` answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CarbonBlackState {
    pub users: Vec<CbUser>,
    pub keys: Vec<CbApiKey>,
    /// The id the next created user gets (ids are never reused).
    pub next_user_id: u64,
}

impl CarbonBlackState {
    pub fn user(&self, id: u64) -> Option<&CbUser> {
        self.users.iter().find(|u| u.user_id == id)
    }

    pub fn user_mut(&mut self, id: u64) -> Option<&mut CbUser> {
        self.users.iter_mut().find(|u| u.user_id == id)
    }

    pub fn user_by_login(&self, login: &str) -> Option<&CbUser> {
        self.users
            .iter()
            .find(|u| u.login_id.eq_ignore_ascii_case(login))
    }

    pub fn remove_user(&mut self, id: u64) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.user_id != id);
        before != self.users.len()
    }

    /// Create a user with the next id.
    pub fn push_user(&mut self, mut user: CbUser) -> CbUser {
        self.next_user_id = self.next_user_id.max(1);
        user.user_id = self.next_user_id;
        self.next_user_id += 1;
        self.users.push(user.clone());
        user
    }
}

/// A Carbon Black error answer: `{"error_code": .., "message": ..}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

pub fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

pub fn not_found(what: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("{what} not found"),
    )
}

/// Parse a JSON request body or answer 400.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("Invalid request body: {e}")))
}

/// Parse a numeric `user_id` path segment or answer 400.
pub fn parse_user_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| invalid(format!("user_id must be numeric, got '{raw}'")))
}

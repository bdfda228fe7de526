//! `/apiaccess/key` handlers: list, revoke by DELETE, disable by PUT.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::CarbonBlackSim;
use super::model::{ApiError, KeyStatus, invalid, not_found, parse_body};

pub async fn list(State(sim): State<CarbonBlackSim>) -> Response {
    Json(json!({"results": sim.state().keys})).into_response()
}

pub async fn delete(
    State(sim): State<CarbonBlackSim>,
    Path((_org, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let mut st = sim.state();
    let before = st.keys.len();
    st.keys.retain(|k| k.id != key_id);
    if st.keys.len() == before {
        return Err(not_found("API key"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct KeyUpdate {
    status: Option<String>,
    name: Option<String>,
}

/// `PUT .../apiaccess/key/{id}` `{"status":"DISABLED"}` (other key fields are ignored,
/// except a non-empty `name`).
pub async fn update(
    State(sim): State<CarbonBlackSim>,
    Path((_org, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b = parse_body::<KeyUpdate>(&body)?;
    let status = match b.status.as_deref() {
        None => None,
        Some("ENABLED") => Some(KeyStatus::Enabled),
        Some("DISABLED") => Some(KeyStatus::Disabled),
        Some(other) => {
            return Err(invalid(format!(
                "status must be ENABLED or DISABLED, got '{other}'"
            )));
        }
    };
    let mut st = sim.state();
    let key = st
        .keys
        .iter_mut()
        .find(|k| k.id == key_id)
        .ok_or_else(|| not_found("API key"))?;
    if let Some(s) = status {
        key.status = s;
    }
    if let Some(name) = b.name.filter(|n| !n.trim().is_empty()) {
        key.name = name;
    }
    Ok(Json(key.clone()).into_response())
}

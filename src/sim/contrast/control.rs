//! Contrast-specific `/_sim/` control routes (no auth, not recorded, no faults).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::ContrastSim;
use super::model::ContrastState;

async fn state(State(sim): State<ContrastSim>) -> Json<ContrastState> {
    Json(sim.snapshot())
}

#[derive(Debug, Deserialize)]
struct NewUser {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
}

async fn create_user(State(sim): State<ContrastSim>, Json(b): Json<NewUser>) -> Response {
    let first = b.first_name.unwrap_or_else(|| "Extra".into());
    let last = b.last_name.unwrap_or_else(|| "User".into());
    let role = b.role.unwrap_or_else(|| "ROLE_VIEW".into());
    match sim.insert_user(&b.email, &first, &last, &role) {
        Some(u) => (StatusCode::CREATED, Json(u)).into_response(),
        None => StatusCode::CONFLICT.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct Change {
    enabled: Option<bool>,
    role: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn change_user(
    State(sim): State<ContrastSim>,
    Path(id): Path<String>,
    Json(c): Json<Change>,
) -> Response {
    let mut st = sim.state();
    let Some(user) = st.user_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(v) = c.enabled {
        user.enabled = v;
    }
    if let Some(v) = c.role {
        user.role = v;
    }
    if let Some(v) = c.first_name {
        user.first_name = v;
    }
    if let Some(v) = c.last_name {
        user.last_name = v;
    }
    Json(user.clone()).into_response()
}

async fn delete_user(State(sim): State<ContrastSim>, Path(id): Path<String>) -> StatusCode {
    if sim.delete_user(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn accept(State(sim): State<ContrastSim>, Path(id): Path<String>) -> Response {
    if sim.accept_invitation(&id) {
        Json(sim.user(&id)).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[derive(Debug, Deserialize)]
struct NewGroup {
    name: String,
    group_id: Option<String>,
}

async fn add_group(State(sim): State<ContrastSim>, Json(g): Json<NewGroup>) -> Response {
    (
        StatusCode::CREATED,
        Json(sim.add_group(&g.name, g.group_id)),
    )
        .into_response()
}

pub fn routes(sim: ContrastSim) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/users", post(create_user))
        .route("/_sim/users/{id}", put(change_user).delete(delete_user))
        .route("/_sim/users/{id}/accept", post(accept))
        .route("/_sim/groups", post(add_group))
        .with_state(sim)
}

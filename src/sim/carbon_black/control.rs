//! Carbon Black-specific `/_sim/` control routes (no auth, not recorded, no faults).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::CarbonBlackSim;
use super::model::{CarbonBlackState, UserStatus};

async fn state(State(sim): State<CarbonBlackSim>) -> Json<CarbonBlackState> {
    Json(sim.snapshot())
}

#[derive(Debug, Deserialize)]
struct NewKey {
    owner_login_id: String,
    name: Option<String>,
}

async fn add_key(State(sim): State<CarbonBlackSim>, Json(k): Json<NewKey>) -> Response {
    let name = k
        .name
        .unwrap_or_else(|| format!("{} key", k.owner_login_id));
    (
        StatusCode::CREATED,
        Json(sim.add_key(&k.owner_login_id, &name)),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct NewUser {
    login_id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    status: Option<UserStatus>,
}

async fn create_user(State(sim): State<CarbonBlackSim>, Json(b): Json<NewUser>) -> Response {
    let role = b.role.as_deref().unwrap_or("ANALYST");
    let status = b.status.unwrap_or(UserStatus::Active);
    let Some(user) = sim.insert_user(&b.login_id, role, status) else {
        return StatusCode::CONFLICT.into_response();
    };
    let change = Change {
        email: b.email,
        first_name: b.first_name,
        last_name: b.last_name,
        ..Change::default()
    };
    apply(&sim, user.user_id, change, StatusCode::CREATED)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Change {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    role: Option<String>,
    status: Option<UserStatus>,
}

fn apply(sim: &CarbonBlackSim, id: u64, c: Change, ok: StatusCode) -> Response {
    let mut st = sim.state();
    let Some(user) = st.user_mut(id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for (slot, value) in [
        (&mut user.email, c.email),
        (&mut user.first_name, c.first_name),
        (&mut user.last_name, c.last_name),
        (&mut user.role, c.role),
    ] {
        if let Some(v) = value {
            *slot = v;
        }
    }
    if c.phone.is_some() {
        user.phone = c.phone;
    }
    if let Some(s) = c.status {
        user.status = s;
    }
    (ok, Json(user.clone())).into_response()
}

async fn change_user(
    State(sim): State<CarbonBlackSim>,
    Path(id): Path<u64>,
    Json(c): Json<Change>,
) -> Response {
    apply(&sim, id, c, StatusCode::OK)
}

async fn delete_user(State(sim): State<CarbonBlackSim>, Path(id): Path<u64>) -> StatusCode {
    if sim.delete_user(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn activate(State(sim): State<CarbonBlackSim>, Path(id): Path<u64>) -> Response {
    match sim.activate_user(id).then(|| sim.user(id)).flatten() {
        Some(u) => Json(u).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn routes(sim: CarbonBlackSim) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/keys", post(add_key))
        .route("/_sim/users", post(create_user))
        .route("/_sim/users/{id}", patch(change_user).delete(delete_user))
        .route("/_sim/users/{id}/activate", post(activate))
        .with_state(sim)
}

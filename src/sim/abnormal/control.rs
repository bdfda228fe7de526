//! Abnormal-specific `/_sim/` control routes (no auth, not recorded, no faults).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::AbnormalSim;
use super::model::{AbnormalAccount, AbnormalState, risk_level};

async fn state(State(sim): State<AbnormalSim>) -> Json<AbnormalState> {
    Json(sim.snapshot())
}

/// Any subset of an account's fields; `riskLevel` follows `riskScore` unless given.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AccountPatch {
    name: Option<String>,
    risk_score: Option<String>,
    risk_level: Option<String>,
    compromised_since: Option<Option<String>>,
    is_vip: Option<bool>,
    department: Option<String>,
    title: Option<String>,
    is_active: Option<bool>,
}

async fn upsert_account(
    State(sim): State<AbnormalSim>,
    Path(email): Path<String>,
    Json(p): Json<AccountPatch>,
) -> Response {
    let existing = sim.account(&email);
    let created = existing.is_none();
    let mut a = existing.unwrap_or_else(|| AbnormalAccount::new(&email));
    if let Some(v) = p.name {
        a.name = v;
    }
    if let Some(v) = p.risk_score {
        a.risk_level = risk_level(&v);
        a.risk_score = v;
    }
    if let Some(v) = p.risk_level {
        a.risk_level = v;
    }
    if let Some(v) = p.compromised_since {
        a.compromised_since = v;
    }
    if let Some(v) = p.is_vip {
        a.is_vip = v;
    }
    if p.department.is_some() {
        a.department = p.department;
    }
    if p.title.is_some() {
        a.title = p.title;
    }
    if let Some(v) = p.is_active {
        a.is_active = v;
    }
    sim.upsert_account(a.clone());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(a)).into_response()
}

async fn delete_account(State(sim): State<AbnormalSim>, Path(email): Path<String>) -> StatusCode {
    if sim.remove_account(&email) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewCase {
    severity: Option<String>,
    status: Option<String>,
}

async fn add_case(
    State(sim): State<AbnormalSim>,
    Path(email): Path<String>,
    Json(c): Json<NewCase>,
) -> Response {
    let severity = c.severity.as_deref().unwrap_or("HIGH");
    let status = c.status.as_deref().unwrap_or("Open");
    (
        StatusCode::CREATED,
        Json(sim.add_case(&email, severity, status)),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct CaseChange {
    status: String,
}

async fn change_case(
    State(sim): State<AbnormalSim>,
    Path(id): Path<String>,
    Json(c): Json<CaseChange>,
) -> Response {
    let mut st = sim.state();
    match st.cases.iter_mut().find(|x| x.case_id == id) {
        Some(case) => {
            case.status = c.status;
            Json(case.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn set_unlicensed(State(sim): State<AbnormalSim>, Json(p): Json<Vec<String>>) -> StatusCode {
    sim.set_unlicensed(p);
    StatusCode::NO_CONTENT
}

pub fn routes(sim: AbnormalSim) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route(
            "/_sim/accounts/{email}",
            put(upsert_account).delete(delete_account),
        )
        .route("/_sim/accounts/{email}/cases", post(add_case))
        .route("/_sim/cases/{id}", put(change_case))
        .route("/_sim/unlicensed", put(set_unlicensed))
        .with_state(sim)
}

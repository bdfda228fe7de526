//! `/v1` handlers.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::model::{ApiError, message};

type Answer = Result<Response, ApiError>;
use super::{AbnormalSim, LastPageStyle};
use crate::sim::util::{page, query_u64};

/// The API's maximum page size.
const MAX_PAGE_SIZE: u64 = 100;

/// `(page_number, page_size)` from the query, or a 400.
fn paging(sim: &AbnormalSim, q: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let bad = |e: String| message(StatusCode::BAD_REQUEST, e);
    let number = query_u64(q, "pageNumber").map_err(bad)?.unwrap_or(1);
    if number == 0 {
        return Err(bad("pageNumber is 1-based".into()));
    }
    let max = u64::try_from(sim.inner.cfg.page_size)
        .unwrap_or(MAX_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let size = match query_u64(q, "pageSize").map_err(bad)? {
        None => max,
        Some(s) if (1..=MAX_PAGE_SIZE).contains(&s) => s.min(max),
        Some(s) => {
            return Err(bad(format!(
                "pageSize must be 1..={MAX_PAGE_SIZE}, got {s}"
            )));
        }
    };
    Ok((number, size))
}

/// `{"<key>": items, "nextPageNumber": ..}` for page `number` of `all`.
fn paged(sim: &AbnormalSim, key: &str, all: &[Value], number: u64, size: u64) -> Response {
    let offset = (number - 1).saturating_mul(size);
    let items = page(all, offset, size);
    let more = offset.saturating_add(size) < u64::try_from(all.len()).unwrap_or(u64::MAX);
    let mut body = serde_json::Map::new();
    body.insert(key.into(), Value::Array(items));
    match (more, sim.inner.cfg.last_page_style) {
        (true, _) => {
            body.insert("nextPageNumber".into(), json!(number + 1));
        }
        (false, LastPageStyle::Null) => {
            body.insert("nextPageNumber".into(), Value::Null);
        }
        (false, LastPageStyle::Absent) => {}
    }
    Json(Value::Object(body)).into_response()
}

pub async fn list_accounts(
    State(sim): State<AbnormalSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let (number, size) = paging(&sim, &q)?;
    let all: Vec<Value> = sim
        .state()
        .accounts
        .iter()
        .map(|a| json!({"email": a.email, "name": a.name, "riskScore": a.risk_score}))
        .collect();
    Ok(paged(&sim, "accounts", &all, number, size))
}

fn account_not_found() -> ApiError {
    message(StatusCode::NOT_FOUND, "Account not found")
}

pub async fn get_account(State(sim): State<AbnormalSim>, Path(email): Path<String>) -> Answer {
    let account = sim.state().account(&email).cloned();
    Ok(Json(account.ok_or_else(account_not_found)?).into_response())
}

pub async fn account_cases(State(sim): State<AbnormalSim>, Path(email): Path<String>) -> Answer {
    let st = sim.state();
    if st.account(&email).is_none() {
        return Err(account_not_found());
    }
    let cases: Vec<Value> = st
        .cases_of(&email)
        .into_iter()
        .map(|c| json!({"caseId": c.case_id, "severity": c.severity, "status": c.status}))
        .collect();
    Ok(Json(json!({"cases": cases})).into_response())
}

pub async fn list_cases(
    State(sim): State<AbnormalSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let (number, size) = paging(&sim, &q)?;
    let all: Vec<Value> = sim
        .state()
        .cases
        .iter()
        .map(|c| {
            json!({
                "caseId": c.case_id, "severity": c.severity, "status": c.status,
                "affectedEmployee": c.affected_employee,
            })
        })
        .collect();
    Ok(paged(&sim, "cases", &all, number, size))
}

pub async fn get_case(State(sim): State<AbnormalSim>, Path(case_id): Path<String>) -> Answer {
    let case = sim
        .state()
        .cases
        .iter()
        .find(|c| c.case_id == case_id)
        .cloned();
    let case = case.ok_or_else(|| message(StatusCode::NOT_FOUND, "Case not found"))?;
    Ok(Json(case).into_response())
}

/// Only reachable when `/v1/vendors` is licensed.
pub async fn get_vendor(Path(domain): Path<String>) -> Response {
    Json(json!({"vendorDomain": domain, "riskScore": "low", "engagementHistory": []}))
        .into_response()
}

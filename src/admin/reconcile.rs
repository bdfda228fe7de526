//! `POST /admin/v1/reconcile` `{"target": "...", "dry_run": true}` → the reconcile report.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;

use super::AdminActor;
use crate::request_id::RequestId;
use crate::scim::error::ScimError;
use crate::state::AppState;
use crate::sync::Engine;
use crate::sync::reconcile::{ReconcileError, Report, reconcile as run};

#[derive(Debug, Deserialize)]
pub struct ReconcileBody {
    pub target: String,
    /// Defaults to true: applying must be asked for explicitly.
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

pub async fn reconcile(
    State(s): State<AppState>,
    Extension(actor): Extension<AdminActor>,
    Extension(engine): Extension<Arc<Engine>>,
    request_id: RequestId,
    Json(b): Json<ReconcileBody>,
) -> Result<Json<Report>, ScimError> {
    let Some(rt) = engine.targets.get(&b.target) else {
        return Err(ScimError::not_found(format!(
            "no target `{}` is configured",
            b.target
        )));
    };
    let apply = !b.dry_run;
    if apply {
        tracing::info!(actor = %actor.0, %request_id, target = %b.target, "admin reconcile apply requested");
    }
    let report = run(&s.store, &b.target, rt, s.clock.as_ref(), apply, &actor.0)
        .await
        .map_err(|e| match e {
            ReconcileError::Store(e) => ScimError::from(e),
            ReconcileError::NotWritable(_) => ScimError::invalid_value(e.to_string()),
            ReconcileError::Vendor(_) => {
                ScimError::status(axum::http::StatusCode::BAD_GATEWAY, e.to_string())
            }
        })?;
    if apply {
        tracing::info!(actor = %actor.0, %request_id, target = %b.target, drifts = report.drifts.len(), repairs_queued = report.repairs_queued, "admin reconcile applied");
        s.wake.notify_waiters();
    }
    Ok(Json(report))
}

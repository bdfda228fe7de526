//! Bearer-token auth per target: a token of target A never reads or writes target B.

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ScimError;
use crate::state::{AppState, TargetInfo, token_matches};

/// The target a request was authenticated for, inserted as a request extension.
#[derive(Debug, Clone)]
pub struct AuthedTarget(pub TargetInfo);

/// Extracts `Bearer <token>` from the Authorization header.
pub fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware on `/scim/v2/{target}/…`. Unknown targets answer like a bad token, so target
/// names cannot be probed.
pub async fn require_target_token(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ScimError> {
    let target = params
        .iter()
        .find(|(k, _)| k == "target")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let info = state.targets.get(target);
    let ok = match (info, bearer(&req)) {
        (Some(info), Some(token)) => token_matches(token, &info.token_hashes),
        _ => false,
    };
    let Some(info) = info.filter(|_| ok) else {
        metrics::counter!("scim_bridge_auth_failures_total").increment(1);
        return Err(ScimError::unauthorized());
    };
    req.extensions_mut().insert(AuthedTarget(info.clone()));
    Ok(next.run(req).await)
}

//! Admin surface: the JSON API under `/admin/v1/` (admin token only; a SCIM token gets 401)
//! and the gauges refreshed for `/metrics`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};

use crate::scim::error::ScimError;
use crate::state::{AppState, token_matches};

pub mod api;
pub mod gauges;
pub mod page;
pub mod reconcile;

/// Admin identity for audit logs: a short, non-reversible tag of the token's hash.
#[derive(Debug, Clone)]
pub struct AdminActor(pub String);

pub async fn require_admin(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ScimError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let ok = token
        .as_deref()
        .is_some_and(|t| token_matches(t, &state.config.admin_token_sha256));
    let Some(token) = token.filter(|_| ok) else {
        return Ok(crate::scim::auth::auth_failed(&state, &req));
    };
    let tag = hex::encode(&crate::state::hash_token(&token)[..4]);
    req.extensions_mut()
        .insert(AdminActor(format!("admin-token:{tag}")));
    Ok(next.run(req).await)
}

pub fn router(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/mappings", get(api::list_mappings))
        .route("/mappings/{target}/{id}", get(api::show_mapping))
        .route("/lookup/{key}", get(api::lookup))
        .route("/retry", post(api::retry))
        .route("/queue", get(api::queue))
        .route("/reconcile", post(reconcile::reconcile))
        .route_layer(from_fn_with_state(state, require_admin));
    Router::new()
        .nest("/admin/v1", api)
        .merge(page::router())
        .layer(axum::middleware::from_fn(security_headers))
}

/// Browser hardening for everything under `/admin` (the JSON API and the admin page).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    harden(resp.headers_mut());
    resp
}

/// The headers of [`security_headers`]; also set on `/admin` paths no route matches.
pub fn harden(headers: &mut axum::http::HeaderMap) {
    use axum::http::HeaderValue;
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

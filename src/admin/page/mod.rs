//! The admin web page at `/admin`: server-rendered HTML, no JavaScript. Log in with the admin
//! token (kept in an HttpOnly, SameSite=Strict cookie scoped to `/admin`); see per-target
//! counts and queue depth, search the mapping table, open a resource's history, retry.
//! Every POST carries a CSRF field derived from the session token.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::request_id::RequestId;
use crate::state::{AppState, token_matches};

mod html;
mod views;

const COOKIE: &str = "sb_admin";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/resource/{target}/{id}", get(resource))
        .route("/admin/retry", post(retry))
        .route("/admin/static/admin.css", get(css))
}

/// The admin token from the session cookie, if it is a valid one.
fn session(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let token = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())?;
    token_matches(&token, &state.config.admin_token_sha256).then_some(token)
}

/// The CSRF value a form must carry: derived from the session token, never the token itself.
fn csrf(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("scim-bridge-admin-csrf:{token}").as_bytes())[..16])
}

/// Who did it, for the audit log: a short tag of the token's hash.
fn actor(token: &str) -> String {
    format!(
        "admin-page:{}",
        hex::encode(&crate::state::hash_token(token)[..4])
    )
}

fn page(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn css() -> Response {
    let mut r = (StatusCode::OK, html::CSS).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css"));
    r
}

async fn login_form() -> Response {
    page(StatusCode::OK, views::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(s): State<AppState>,
    request_id: RequestId,
    Form(f): Form<LoginForm>,
) -> Response {
    let token = f.token.trim().to_string();
    if !token_matches(&token, &s.config.admin_token_sha256) {
        metrics::counter!("scim_bridge_auth_failures_total").increment(1);
        tracing::warn!(%request_id, "admin page: login with a wrong token");
        return page(
            StatusCode::UNAUTHORIZED,
            views::login(Some("That is not an admin token of this server.")),
        );
    }
    let secure = s
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let cookie = format!(
        "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    tracing::info!(actor = %actor(&token), %request_id, "admin page: logged in");
    let mut r = Redirect::to("/admin").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(t) = session(&s, &headers)
        && f.csrf == csrf(&t)
    {
        let mut r = Redirect::to("/admin/login").into_response();
        r.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "sb_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
            ),
        );
        return r;
    }
    Redirect::to("/admin/login").into_response()
}

/// Dashboard filters.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    pub target: Option<String>,
    pub state: Option<String>,
    pub q: Option<String>,
    pub offset: Option<i64>,
}

async fn dashboard(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let Some(token) = session(&s, &headers) else {
        return Redirect::to("/admin/login").into_response();
    };
    match views::dashboard(&s, &f, &csrf(&token)).await {
        Ok(body) => page(StatusCode::OK, body),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            views::problem(&e.to_string()),
        ),
    }
}

async fn resource(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((target, id)): Path<(String, String)>,
) -> Response {
    let Some(token) = session(&s, &headers) else {
        return Redirect::to("/admin/login").into_response();
    };
    match views::resource(&s, &target, &id, &csrf(&token)).await {
        Ok(Some(body)) => page(StatusCode::OK, body),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            views::problem("No mapping for that resource."),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            views::problem(&e.to_string()),
        ),
    }
}

#[derive(Deserialize)]
struct RetryForm {
    csrf: String,
    target: Option<String>,
    resource_id: Option<String>,
}

async fn retry(
    State(s): State<AppState>,
    headers: HeaderMap,
    request_id: RequestId,
    Form(f): Form<RetryForm>,
) -> Response {
    let Some(token) = session(&s, &headers) else {
        return Redirect::to("/admin/login").into_response();
    };
    if f.csrf != csrf(&token) {
        return page(
            StatusCode::FORBIDDEN,
            views::problem("The form expired; reload the page and try again."),
        );
    }
    let who = actor(&token);
    let target = f.target.filter(|t| !t.is_empty());
    let id = f.resource_id.filter(|t| !t.is_empty());
    let now = s.clock.now_ms();
    match s
        .store
        .retry_mappings(target.as_deref(), id.as_deref(), &who, now)
        .await
    {
        Ok(n) => {
            tracing::info!(actor = %who, %request_id, target = ?target, resource = ?id, retried = n, "admin retry");
            s.wake.notify_waiters();
            let back = match (&target, &id) {
                (Some(t), Some(i)) => format!("/admin/resource/{}/{}", html::url(t), html::url(i)),
                _ => "/admin".to_string(),
            };
            Redirect::to(&back).into_response()
        }
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            views::problem(&e.to_string()),
        ),
    }
}

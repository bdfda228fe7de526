//! Bearer-token auth per target: a token of target A never reads or writes target B.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{ConnectInfo, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ScimError;
use crate::state::{AppState, TargetInfo, token_matches};

/// The target a request was authenticated for, inserted as a request extension. Shared,
/// not copied: the middleware and every handler's `Extension` extractor clone it.
#[derive(Debug, Clone)]
pub struct AuthedTarget(pub Arc<TargetInfo>);

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
    params: Result<RawPathParams, RawPathParamsRejection>,
    mut req: Request,
    next: Next,
) -> Result<Response, ScimError> {
    // A name that is not UTF-8 once decoded is no target's: it fails like an unknown one.
    let target = params
        .as_ref()
        .ok()
        .and_then(|p| p.iter().find(|(k, _)| *k == "target"))
        .map_or("", |(_, v)| v);
    let info = state.targets.get(target);
    let ok = match (info, bearer(&req)) {
        (Some(info), Some(token)) => token_matches(token, &info.token_hashes),
        _ => false,
    };
    let Some(info) = info.filter(|_| ok) else {
        return Ok(auth_failed(&state, &req));
    };
    req.extensions_mut().insert(AuthedTarget(info.clone()));
    Ok(next.run(req).await)
}

/// Failed authentications per client IP.
pub type FailLimiter = DefaultKeyedRateLimiter<IpAddr>;

/// `per_minute` failures per IP per minute (at least 1), all of them usable at once.
pub fn fail_limiter(per_minute: u32) -> Arc<FailLimiter> {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_minute(n)))
}

/// The answer to a failed authentication: 401, or 429 with `Retry-After` once the peer IP
/// has failed too often this minute. Keyed by the TCP peer: behind a proxy all clients
/// share its address (`X-Forwarded-For` is not trusted: a client could forge it).
pub fn auth_failed(state: &AppState, req: &Request) -> Response {
    metrics::counter!("scim_bridge_auth_failures_total").increment(1);
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let limiter = &state.auth_failures;
    if limiter.len() > 100_000 {
        limiter.retain_recent();
    }
    match limiter.check_key(&ip) {
        Ok(()) => ScimError::unauthorized().into_response(),
        Err(not_until) => {
            metrics::counter!("scim_bridge_auth_throttled_total").increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut resp = ScimError::status(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed authentications from this address; retry later",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

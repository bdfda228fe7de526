//! What every simulator shares: the call recorder, the fault injector, the middleware that
//! applies both to vendor routes, and the common `/_sim/` control routes.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::faults::{FaultInjector, Faults, Verdict};
use super::record::{DROPPED_STATUS, RecordedCall, Recorder};

/// Largest request body a simulator accepts.
const BODY_LIMIT: usize = 1 << 20;

/// Recorder and faults of one simulator.
#[derive(Debug, Default)]
pub struct SimCore {
    pub recorder: Recorder,
    pub faults: FaultInjector,
}

fn body_to_json(bytes: &Bytes) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into())),
    )
}

fn json_message(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

/// A response whose body fails at once: hyper aborts the connection before the head is
/// flushed, so the client sees a transport error instead of an HTTP answer.
fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated connection drop",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// A 429 with the configured `Retry-After` (none when unset).
fn too_many_requests(retry_after: Option<u64>) -> Response {
    let mut response = json_message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    response
}

/// Pieces a slow body is cut into (at most).
const SLOW_BODY_PIECES: usize = 8;

/// The same answer with its body trickled: status and headers go out at once with the first
/// piece, then the other pieces and the end of the body follow at equal pauses, `over` in
/// all. Sent chunked (no Content-Length), as a vendor streaming a large page would.
async fn trickle(response: Response, over: std::time::Duration) -> Response {
    use futures::StreamExt;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let size = bytes.len().div_ceil(SLOW_BODY_PIECES).max(1);
    let mut pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|i| bytes.slice(i..(i + size).min(bytes.len())))
        .collect();
    if pieces.is_empty() {
        pieces.push(Bytes::new());
    }
    // An empty last piece: the end of the body also waits its turn.
    pieces.push(Bytes::new());
    let pause = over / u32::try_from(pieces.len() - 1).unwrap_or(1);
    let stream =
        futures::stream::iter(pieces.into_iter().enumerate()).then(move |(i, piece)| async move {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            Ok::<Bytes, std::io::Error>(piece)
        });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Middleware for vendor routes: record the call and apply the configured faults.
pub async fn record_and_inject(
    State(core): State<Arc<SimCore>>,
    req: Request,
    next: Next,
) -> Response {
    let at_ms = chrono::Utc::now().timestamp_millis();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let record = |body: Option<serde_json::Value>, status: u16| RecordedCall {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body,
        status,
        at_ms,
    };
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            core.recorder
                .push(record(None, StatusCode::PAYLOAD_TOO_LARGE.as_u16()));
            return json_message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
        }
    };
    let json = body_to_json(&bytes);

    if let Some(delay) = core.faults.latency() {
        tokio::time::sleep(delay).await;
    }
    let is_write = method != Method::GET && method != Method::HEAD;
    let verdict = core.faults.decide(is_write);
    let response = match verdict {
        Verdict::TooManyRequests => too_many_requests(core.faults.retry_after()),
        Verdict::ServerError(code) => json_message(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Simulated server error",
        ),
        Verdict::Drop => {
            core.recorder.push(record(json, DROPPED_STATUS));
            return dropped_connection();
        }
        Verdict::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"success\": tru, <html>",
        )
            .into_response(),
        Verdict::ApplyThenFail | Verdict::Pass => {
            let req = Request::from_parts(parts, Body::from(bytes));
            let answer = next.run(req).await;
            if verdict == Verdict::ApplyThenFail && answer.status().is_success() {
                json_message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Simulated failure after applying the change",
                )
            } else {
                answer
            }
        }
    };
    core.recorder.push(record(json, response.status().as_u16()));
    match core.faults.slow_body() {
        Some(over) => trickle(response, over).await,
        None => response,
    }
}

#[derive(Debug, Deserialize)]
struct BurstReq {
    count: u32,
}

async fn get_calls(State(core): State<Arc<SimCore>>) -> Response {
    Json(core.recorder.calls()).into_response()
}

async fn clear_calls(State(core): State<Arc<SimCore>>) -> StatusCode {
    core.recorder.clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(core): State<Arc<SimCore>>) -> Json<Faults> {
    Json(core.faults.get())
}

async fn put_faults(State(core): State<Arc<SimCore>>, Json(f): Json<Faults>) -> Json<Faults> {
    core.faults.set(f.clone());
    Json(f)
}

async fn put_burst(State(core): State<Arc<SimCore>>, Json(b): Json<BurstReq>) -> StatusCode {
    core.faults.queue_burst(b.count);
    StatusCode::NO_CONTENT
}

/// A simulator's full router: `vendor` routes behind the record/fault layer, then its own
/// `control` routes and the common ones (neither recorded nor faulted).
pub fn assemble(core: &Arc<SimCore>, vendor: Router, control: Router) -> Router {
    vendor
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            record_and_inject,
        ))
        .merge(control)
        .merge(common_control_routes(core.clone()))
}

/// Control routes every simulator has: `GET|DELETE /_sim/calls`, `GET|PUT /_sim/faults`,
/// `PUT /_sim/burst` (`{"count":N}`: the next N vendor requests answer 429).
pub fn common_control_routes(core: Arc<SimCore>) -> Router {
    Router::new()
        .route("/_sim/calls", get(get_calls).delete(clear_calls))
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .route("/_sim/burst", put(put_burst))
        .with_state(core)
}

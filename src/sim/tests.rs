//! Test helpers shared by the simulator tests, plus tests of the shared fault layer and CLI.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::layer::{SimCore, common_control_routes, record_and_inject};

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A one-route sim (`GET|POST /thing`) wrapped in the shared fault layer.
fn toy_router(core: Arc<SimCore>) -> Router {
    let vendor = Router::new()
        .route(
            "/thing",
            get(|| async { "{\"ok\":true}" }).post(|| async { "{\"ok\":true}" }),
        )
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            record_and_inject,
        ));
    vendor.merge(common_control_routes(core))
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    let url = format!("{}/thing", server.base_url());
    let c = client();
    c.put(format!("{}/_sim/faults", server.base_url()))
        .json(&serde_json::json!({"drop_rate": 1.0}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let err = c.get(&url).send().await.unwrap_err();
    assert!(!err.is_status(), "expected a transport error, got {err:?}");
    assert!(err.status().is_none());
    let calls = core.recorder.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, super::record::DROPPED_STATUS);
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_and_apply_then_fail_and_burst() {
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    let url = format!("{}/thing", server.base_url());
    let c = client();

    core.faults.set(super::Faults {
        malformed_rate: 1.0,
        ..Default::default()
    });
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.is_err());

    core.faults.set(super::Faults {
        apply_then_fail_rate: 1.0,
        ..Default::default()
    });
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(c.post(&url).send().await.unwrap().status(), 500);

    core.faults.set(super::Faults::default());
    c.put(format!("{}/_sim/burst", server.base_url()))
        .json(&serde_json::json!({"count": 2}))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().get("retry-after").is_none());
    }
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);

    let calls: Vec<super::RecordedCall> = c
        .get(format!("{}/_sim/calls", server.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![200, 200, 500, 429, 429, 200]);
    server.shutdown().await;
}

#[tokio::test]
async fn run_cli_serves_each_kind_with_default_credentials() {
    use super::SimKind;
    let cases = [
        (SimKind::Contrast, "/_sim/state", "users"),
        (SimKind::CarbonBlack, "/_sim/state", "users"),
        (SimKind::Abnormal, "/_sim/state", "accounts"),
    ];
    for (kind, path, key) in cases {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let task = tokio::spawn(super::run_cli(kind, addr, 3));
        let url = format!("http://{addr}{path}");
        let mut state = None;
        for _ in 0..100 {
            if let Ok(r) = client().get(&url).send().await {
                state = Some(r.json::<serde_json::Value>().await.unwrap());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let state = state.expect("CLI simulator did not come up");
        let n = state[key].as_array().unwrap().len();
        assert!(n >= 3, "{kind:?}: {n} seeded");
        task.abort();
    }
}

/// Sets faults through the control route, as the chaos script does.
async fn put_faults(c: &reqwest::Client, base: &str, faults: serde_json::Value) {
    c.put(format!("{base}/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn dropped_connection_closes_the_socket_without_an_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    put_faults(
        &client(),
        &server.base_url(),
        serde_json::json!({"drop_rate": 1.0}),
    )
    .await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /thing HTTP/1.1\r\nHost: sim\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut got))
        .await
        .expect("the simulator must close the connection, not hang");
    // Either a clean close (EOF) or a reset: never a single byte of an HTTP answer.
    assert!(
        read.is_err() || got.is_empty(),
        "expected no answer, got {:?}",
        String::from_utf8_lossy(&got)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn slow_body_sends_headers_then_trickles_past_the_client_deadline() {
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    let url = format!("{}/thing", server.base_url());
    put_faults(
        &client(),
        &server.base_url(),
        serde_json::json!({"slow_body_rate": 1.0, "slow_body_ms": 1500}),
    )
    .await;

    // An impatient client gets the status and headers, then times out reading the body.
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let r = impatient.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-length").is_none(), "sent chunked");
    let err = r.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "expected a body timeout, got {err:?}");
    assert!(started.elapsed() < std::time::Duration::from_millis(1400));

    // A patient client gets the whole body, late. The handler ran (a write is applied).
    let started = std::time::Instant::now();
    let body = client()
        .post(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "{\"ok\":true}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1400));
    let statuses: Vec<u16> = core.recorder.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![200, 200]);
    server.shutdown().await;
}

#[tokio::test]
async fn latency_beyond_the_client_deadline_is_a_timeout() {
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    put_faults(
        &client(),
        &server.base_url(),
        serde_json::json!({"latency_ms": [800, 800]}),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}/thing", server.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "expected a timeout, got {err:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn storms_answer_429_with_or_without_retry_after() {
    let core = Arc::new(SimCore::default());
    let server = super::serve_local(toy_router(core.clone())).await.unwrap();
    let base = server.base_url();
    let url = format!("{base}/thing");
    let c = client();
    // Rate limit with Retry-After: 1 call per 1000 s, so the second is refused.
    put_faults(
        &c,
        &base,
        serde_json::json!({"rate_limit_per_sec": 0.001, "rate_limit_burst": 1, "retry_after_secs": 3}),
    )
    .await;
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    // A queued burst carries it too.
    put_faults(&c, &base, serde_json::json!({"retry_after_secs": 1})).await;
    core.faults.queue_burst(1);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "1")
    );
    // Without the setting: 429 and no header.
    put_faults(&c, &base, serde_json::json!({})).await;
    core.faults.queue_burst(1);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    server.shutdown().await;
}

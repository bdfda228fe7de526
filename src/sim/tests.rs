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

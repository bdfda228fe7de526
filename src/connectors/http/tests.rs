use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::json;

use super::testkit::{Double, Reply};
use super::*;
use crate::connectors::OpenGate;

const SPEC: VendorSpec = VendorSpec {
    name: "Acme",
    auth_hint: "check the token",
    forbidden: None,
};

fn client(base: &str) -> VendorHttp {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        secret_header(&SecretString::from("Bearer s3cr3t-value")).unwrap(),
    );
    VendorHttp::new(SPEC, base, h, Duration::from_secs(5), Arc::new(OpenGate)).unwrap()
}

async fn one(reply: impl Fn() -> Reply + Send + Sync + 'static) -> (CallError, Vec<CallRecord>) {
    let d = Double::start(move |_| reply()).await;
    let c = client(&d.base);
    let log = CallLog::default();
    let err = c.send(Request::get("/x"), &log).await.unwrap_err();
    (err, log.take())
}

#[tokio::test]
async fn server_error_is_retryable() {
    let (e, recs) = one(|| Reply::raw(500, "boom")).await;
    assert!(e.error.is_retryable(), "{e:?}");
    assert_eq!(e.status, Some(500));
    assert_eq!(recs[0].status, Some(500));
    assert_eq!(recs[0].outcome, "boom");
}

#[tokio::test]
async fn rate_limit_without_retry_after() {
    let (e, _) = one(|| Reply::raw(429, "")).await;
    match e.error {
        ConnectorError::Retryable {
            rate_limited,
            retry_after,
            ..
        } => {
            assert!(rate_limited);
            assert_eq!(retry_after, None);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds() {
    let (e, _) = one(|| Reply::raw(429, "slow down").header("retry-after", "3")).await;
    match e.error {
        ConnectorError::Retryable {
            rate_limited,
            retry_after,
            ..
        } => {
            assert!(rate_limited);
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn retry_after_http_date() {
    let mut h = HeaderMap::new();
    let when = chrono::Utc::now() + chrono::Duration::seconds(120);
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_str(&when.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).unwrap(),
    );
    let d = retry_after(&h).unwrap();
    assert!(
        d > Duration::from_secs(100) && d <= Duration::from_secs(120),
        "{d:?}"
    );
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
    );
    assert_eq!(retry_after(&h), Some(Duration::ZERO));
}

#[tokio::test]
async fn client_error_is_permanent_with_vendor_message() {
    let (e, recs) = one(|| {
        Reply::json(
            400,
            json!({"success": false, "messages": ["Invalid role"], "errors": []}),
        )
    })
    .await;
    assert!(!e.error.is_retryable());
    assert!(e.error.to_string().contains("Invalid role"), "{}", e.error);
    assert_eq!(recs[0].outcome, "Invalid role");

    let (e, _) = one(|| {
        Reply::json(
            409,
            json!({"error_code": "CONFLICT", "message": "login_id taken"}),
        )
    })
    .await;
    assert!(e.error.to_string().contains("CONFLICT: login_id taken"));

    let long = "x".repeat(1000);
    let (e, _) = one(move || Reply::raw(422, &long)).await;
    assert!(e.vendor_message.chars().count() <= 301);
}

#[tokio::test]
async fn unauthorized_names_the_credentials() {
    let (e, _) = one(|| Reply::raw(401, "")).await;
    assert_eq!(
        e.error,
        ConnectorError::permanent("credentials rejected by Acme (401): check the token")
    );
}

#[tokio::test]
async fn malformed_json_on_200_is_retryable() {
    let (e, _) = one(|| Reply::raw(200, "{\"users\": [")).await;
    assert!(e.error.is_retryable(), "{e:?}");
    assert!(e.error.to_string().contains("malformed JSON"));
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Bind then drop a listener: the port is (almost certainly) closed.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let c = client(&format!("http://{addr}"));
    let log = CallLog::default();
    let e = c.send(Request::get("/x"), &log).await.unwrap_err();
    assert!(e.error.is_retryable());
    assert_eq!(e.status, None);
    assert_eq!(log.take()[0].status, None);
}

#[tokio::test]
async fn records_path_and_query_and_hides_secret() {
    let d = Double::start(|_| Reply::json(200, json!({"ok": true}))).await;
    let c = client(&format!("{}/api/", d.base));
    let log = CallLog::default();
    let a = c
        .send(Request::get("/users").query("offset", 25), &log)
        .await
        .unwrap();
    assert_eq!(a.body, json!({"ok": true}));
    let recs = log.take();
    assert_eq!(recs[0].path, "/api/users?offset=25");
    assert_eq!(recs[0].outcome, "ok");
    let seen = d.requests();
    assert_eq!(seen[0].headers["authorization"], "Bearer s3cr3t-value");
    assert_eq!(seen[0].headers["accept"], "application/json");
    let dbg = format!("{c:?} {recs:?} {}", serde_json::to_string(&recs).unwrap());
    assert!(!dbg.contains("s3cr3t"), "{dbg}");
}

#[test]
fn segment_encodes_everything_but_unreserved() {
    assert_eq!(segment("user@example.com"), "user%40example.com");
    assert_eq!(segment("a/b c+d"), "a%2Fb%20c%2Bd");
    assert_eq!(segment("Abc-1._~"), "Abc-1._~");
}

#[tokio::test]
async fn timeout_is_retryable_with_no_status() {
    // Accepts connections but never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            open.push(s);
        }
    });
    let c = VendorHttp::new(
        SPEC,
        &format!("http://{addr}"),
        HeaderMap::new(),
        Duration::from_millis(200),
        Arc::new(OpenGate),
    )
    .unwrap();
    let log = CallLog::default();
    let e = c.send(Request::get("/slow"), &log).await.unwrap_err();
    hold.abort();
    assert!(e.error.is_retryable(), "{e:?}");
    assert_eq!(e.status, None);
    let rec = &log.take()[0];
    assert_eq!(rec.status, None);
    assert!(rec.outcome.starts_with("timeout"), "{}", rec.outcome);
}

struct CountingGate(std::sync::Mutex<Vec<Option<u16>>>);

#[async_trait::async_trait]
impl CallGate for CountingGate {
    async fn before(&self) {
        self.0.lock().unwrap().push(Some(0));
    }
    fn after(&self, status: Option<u16>) {
        self.0.lock().unwrap().push(status);
    }
}

#[tokio::test]
async fn every_call_passes_the_gate() {
    let d = Double::start(|_| Reply::raw(429, "")).await;
    let gate = Arc::new(CountingGate(Default::default()));
    let c = VendorHttp::new(
        SPEC,
        &d.base,
        HeaderMap::new(),
        Duration::from_secs(5),
        gate.clone(),
    )
    .unwrap();
    let _ = c.send_once(Request::get("/x"), &CallLog::default()).await;
    assert_eq!(*gate.0.lock().unwrap(), vec![Some(0), Some(429)]);
}

#[tokio::test]
async fn idempotent_gets_are_retried_within_a_call_writes_are_not() {
    let d = Double::start(|_| Reply::raw(503, "")).await;
    let gate = Arc::new(CountingGate(Default::default()));
    let c = VendorHttp::new(
        SPEC,
        &d.base,
        HeaderMap::new(),
        Duration::from_secs(5),
        gate.clone(),
    )
    .unwrap();
    let log = CallLog::default();
    assert!(c.send(Request::get("/x"), &log).await.is_err());
    assert_eq!(
        log.take().len(),
        super::GET_ATTEMPTS as usize,
        "every attempt recorded"
    );
    let mut post = Request::get("/x");
    post.method = Method::POST;
    assert!(c.send(post, &log).await.is_err());
    assert_eq!(log.take().len(), 1, "writes are sent once");
}

// Found by the chaos test: the engine cancels a job that outlives its convergence budget.
// A call cancelled mid-flight never reported back to the gate, so the target's concurrency
// permits leaked until every call waited forever; nor did the history show the call.
#[tokio::test]
async fn a_cancelled_call_gives_the_gate_back_and_is_recorded() {
    // Accepts connections but never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            open.push(s);
        }
    });
    let gate = Arc::new(CountingGate(Default::default()));
    let c = VendorHttp::new(
        SPEC,
        &format!("http://{addr}"),
        HeaderMap::new(),
        Duration::from_secs(30),
        gate.clone(),
    )
    .unwrap();
    let log = CallLog::default();
    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        c.send_once(Request::get("/hangs"), &log),
    )
    .await;
    hold.abort();
    assert!(cut.is_err(), "cancelled by the caller's deadline");
    assert_eq!(*gate.0.lock().unwrap(), vec![Some(0), None], "after() ran");
    let recs = log.take();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0].method.as_str(), recs[0].path.as_str()),
        ("GET", "/hangs")
    );
    assert_eq!(recs[0].status, None);
    assert!(
        recs[0].outcome.starts_with("abandoned after"),
        "{}",
        recs[0].outcome
    );
}

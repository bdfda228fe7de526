//! A tiny scripted HTTP double for connector tests: an axum server on 127.0.0.1:0 that
//! records every request and answers through a closure. Not a simulator: each test scripts
//! only the answers its path needs.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// One request as the double saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query exactly as received (still percent-encoded).
    pub path: String,
    pub headers: HeaderMap,
    pub body: Option<Value>,
}

impl Seen {
    pub fn is(&self, method: &str, path_prefix: &str) -> bool {
        self.method.as_str() == method && self.path.starts_with(path_prefix)
    }
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.path.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

/// An answer: status, extra headers, body text.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: v.to_string(),
        }
    }
    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
    pub fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_string()));
        self
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct Double {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Double {
    pub async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Double {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let seen2 = seen.clone();
        let app = Router::new().fallback(move |req: Request| {
            let seen = seen2.clone();
            let script = script.clone();
            async move { handle(req, &seen, &*script).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Double {
            base: format!("http://{addr}"),
            seen,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests other than GETs (the writes).
    pub fn writes(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method != Method::GET)
            .collect()
    }
}

async fn handle(req: Request, seen: &Mutex<Vec<Seen>>, script: &Script) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let body = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes).ok()
    };
    let s = Seen {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    let reply = script(&s);
    seen.lock().unwrap().push(s);
    let mut resp = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::from(reply.body)).unwrap()
}

/// Loads a golden fixture body.
pub fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

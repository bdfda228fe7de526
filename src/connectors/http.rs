//! The HTTP plumbing every connector shares: one request through the target's [`CallGate`],
//! recorded in the [`CallLog`], answered as parsed JSON or sorted into a [`ConnectorError`].
//!
//! Failure classes (by status, like crates.io's GitHub client):
//! - no answer (timeout, connection error), 5xx, 429, a 2xx whose body is not JSON →
//!   [`ConnectorError::Retryable`] (429 sets `rate_limited` and `Retry-After` when sent);
//! - 401 / 403 → [`ConnectorError::Permanent`] "credentials rejected by <vendor> ...";
//! - any other 4xx → [`ConnectorError::Permanent`] with the vendor's own message.
//!
//! Headers are built once per connector; secret values are marked sensitive so that neither
//! reqwest's nor our `Debug` output shows them. Paths recorded in [`CallRecord`]s hold no
//! secrets (no vendor here puts one in a URL).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{CallGate, CallLog, CallRecord, ConnectorError};

mod classify;
mod in_flight;
#[cfg(test)]
pub(crate) mod testkit;

use classify::truncate;
pub use classify::{classify, json_message, retry_after, vendor_message};
use in_flight::InFlight;

/// Tries of one idempotent GET within a convergence.
pub const GET_ATTEMPTS: u32 = 3;

/// Longest vendor message kept in an error or a call record.
const MAX_MESSAGE: usize = 300;

/// How one vendor explains rejected credentials.
#[derive(Debug, Clone, Copy)]
pub struct VendorSpec {
    /// "Contrast", "Carbon Black", "Abnormal".
    pub name: &'static str,
    /// What to check, e.g. "check username, service_key and api_key".
    pub auth_hint: &'static str,
    /// Replaces the 403 message when set; `{path}` is replaced by the request path.
    pub forbidden: Option<&'static str>,
}

/// One request, relative to the connector's base URL.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Already percent-encoded path, starting with `/`.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A 2xx answer: status and body (`Value::Null` when the body was empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A failed call: the status (None when no answer came), the vendor's message and the
/// sorted error. Callers match on `status` (404, last-admin refusals) or convert with `?`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub status: Option<u16>,
    /// The vendor's message (or the transport error), without our prefix.
    pub vendor_message: String,
    pub error: ConnectorError,
}

impl From<CallError> for ConnectorError {
    fn from(e: CallError) -> Self {
        e.error
    }
}

/// The shared vendor client of one target.
pub struct VendorHttp {
    client: reqwest::Client,
    base: String,
    headers: HeaderMap,
    gate: Arc<dyn CallGate>,
    spec: VendorSpec,
}

impl fmt::Debug for VendorHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // HeaderMap's Debug prints sensitive values as `Sensitive`.
        f.debug_struct("VendorHttp")
            .field("vendor", &self.spec.name)
            .field("base", &self.base)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// A header value from a secret, marked sensitive. The secret is exposed only here.
pub fn secret_header(value: &SecretString) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(value.expose_secret())
        .map_err(|_| "secret contains characters not allowed in an HTTP header".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters), so
/// `user@example.com` becomes `user%40example.com` and ids can never add segments.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON id that may come as a string or a number.
pub fn id_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl VendorHttp {
    /// `base` without trailing slash; `headers` sent on every call (plus Accept and, with a
    /// body, Content-Type).
    pub fn new(
        spec: VendorSpec,
        base: &str,
        mut headers: HeaderMap,
        timeout: Duration,
        gate: Arc<dyn CallGate>,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_string();
        url::Url::parse(&base).map_err(|e| format!("base_url `{base}`: {e}"))?;
        headers.insert(
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        );
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("scim-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the {} HTTP client: {e}", spec.name))?;
        Ok(Self {
            client,
            base,
            headers,
            gate,
            spec,
        })
    }

    pub fn vendor(&self) -> &'static str {
        self.spec.name
    }

    /// Sends one request through the gate, records it, and sorts the answer.
    /// Sends a request. Idempotent GETs that fail retryably are tried up to
    /// [`GET_ATTEMPTS`] times within the same convergence (short jittered pauses; the gate
    /// still paces every attempt), so one flaky page does not fail a whole lookup.
    /// Writes are sent once: the engine retries them level-triggered.
    pub async fn send(&self, req: Request, log: &CallLog) -> Result<Answer, CallError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send_once(req.clone(), log).await;
            match result {
                Err(e)
                    if req.method == Method::GET
                        && attempt < GET_ATTEMPTS
                        && e.error.is_retryable() =>
                {
                    let wait = match &e.error {
                        ConnectorError::Retryable {
                            retry_after: Some(ra),
                            ..
                        } if *ra <= Duration::from_secs(2) => *ra,
                        _ => {
                            let unit: f64 = rand::random();
                            Duration::from_millis(50 << attempt).mul_f64(0.5 + unit)
                        }
                    };
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// One HTTP exchange, gated, recorded and classified.
    pub async fn send_once(&self, req: Request, log: &CallLog) -> Result<Answer, CallError> {
        let mut url =
            url::Url::parse(&format!("{}{}", self.base, req.path)).map_err(|e| CallError {
                status: None,
                vendor_message: e.to_string(),
                error: ConnectorError::permanent(format!("bad {} URL: {e}", self.spec.name)),
            })?;
        if !req.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &req.query {
                q.append_pair(k, v);
            }
        }
        let shown = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let mut builder = self
            .client
            .request(req.method.clone(), url)
            .headers(self.headers.clone());
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }

        self.gate.before().await;
        let in_flight = InFlight::start(self.gate.as_ref(), log, &req.method, &shown);
        let result = self.exchange(builder).await;
        let status = result.as_ref().ok().map(|(s, _, _)| *s);
        let elapsed_ms = in_flight.finish(status);

        let outcome = self.sort(&shown, result);
        let class = match (&outcome, status) {
            (Ok(_), _) => "ok",
            (Err(_), Some(429)) => "rate_limited",
            (Err(_), Some(s)) if s >= 500 => "server_error",
            (Err(_), Some(_)) => "client_error",
            (Err(_), None) => "no_answer",
        };
        metrics::counter!("scim_bridge_vendor_calls_total", "vendor" => self.spec.name, "outcome" => class).increment(1);
        metrics::histogram!("scim_bridge_vendor_call_duration_seconds", "vendor" => self.spec.name)
            .record(elapsed_ms as f64 / 1000.0);
        if status == Some(429) {
            metrics::counter!("scim_bridge_vendor_rate_limited_total", "vendor" => self.spec.name)
                .increment(1);
        }
        log.push(CallRecord {
            method: req.method.to_string(),
            path: shown,
            status: match &outcome {
                Ok(a) => Some(a.status),
                Err(e) => e.status,
            },
            outcome: match &outcome {
                Ok(_) => "ok".to_string(),
                Err(e) => truncate(&e.vendor_message),
            },
            elapsed_ms,
        });
        outcome
    }

    async fn exchange(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(u16, HeaderMap, Vec<u8>), reqwest::Error> {
        let resp = builder.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        Ok((status, headers, body.to_vec()))
    }

    fn sort(
        &self,
        path: &str,
        result: Result<(u16, HeaderMap, Vec<u8>), reqwest::Error>,
    ) -> Result<Answer, CallError> {
        match result {
            Ok((status, headers, body)) => classify(&self.spec, path, status, &headers, &body),
            Err(e) => {
                let what = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection error"
                } else {
                    "transport error"
                };
                // reqwest's Display holds the URL, which holds no secret.
                let msg = format!("{what}: {e}");
                Err(CallError {
                    status: None,
                    error: ConnectorError::retryable(format!("{}: {msg}", self.spec.name)),
                    vendor_message: msg,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;

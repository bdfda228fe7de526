//! The request id: `x-request-id` as the client sent it, or the UUID `startup::http_service`
//! set, and echoed on the response. A log line about a request carries it, so an admin
//! holding a response can find the lines it caused.
//!
//! A client's id is kept only when it is plain ([`drop_unless_plain`]): a text log line
//! prints it as sent, and one with spaces could forge fields (`x actor=admin-token:…`).

use std::convert::Infallible;
use std::fmt;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The header that carries it, both ways. A lookup by a `HeaderName` skips parsing the
/// name, which a `&str` costs on every request.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id, `-` when it has none (a router run without `http_service`'s layers).
/// An extractor that cannot fail.
#[derive(Debug, Clone)]
pub struct RequestId(String);

impl RequestId {
    pub fn of(headers: &HeaderMap) -> Self {
        Self(text(headers.get(&HEADER)).to_owned())
    }
}

/// The id as a log line prints it: `-` when there is none.
pub fn text(value: Option<&HeaderValue>) -> &str {
    value.and_then(|v| v.to_str().ok()).unwrap_or("-")
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.headers))
    }
}

/// Removes the client's id unless it is 1–128 of `A–Z a–z 0–9 - _ . :` (UUIDs, W3C trace
/// ids, most gateways' ids), so that `SetRequestIdLayer` gives the request a UUID instead.
pub fn drop_unless_plain(mut req: Request) -> Request {
    let plain = |v: &[u8]| {
        (1..=128).contains(&v.len())
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    };
    if req
        .headers()
        .get(&HEADER)
        .is_some_and(|v| !plain(v.as_bytes()))
    {
        req.headers_mut().remove(&HEADER);
    }
    req
}

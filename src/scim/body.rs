//! Request bodies: JSON under `application/scim+json` or `application/json`, size-limited,
//! every rejection a SCIM error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::Value;

use super::error::{ScimError, ScimType};

/// A parsed JSON request body.
pub struct ScimJson(pub Value);

/// Largest nesting the server accepts in a body (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or_default().trim();
            if !(mime == "application/scim+json" || mime == "application/json") {
                return Err(ScimError::status(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "unsupported content type `{mime}`; send application/scim+json or application/json"
                    ),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is larger than the server accepts",
                )
            } else {
                ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("cannot read request body: {rej}"),
                )
            }
        })?;
        if bytes.is_empty() {
            return Err(ScimError::invalid_syntax(
                "request body is empty; a JSON object is required",
            ));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ScimError::invalid_syntax(format!("request body is not valid JSON: {e}"))
        })?;
        if !v.is_object() {
            return Err(ScimError::invalid_syntax(
                "request body must be a JSON object",
            ));
        }
        if depth(&v) > MAX_DEPTH {
            return Err(ScimError::invalid_syntax(
                "request body is nested too deeply",
            ));
        }
        Ok(ScimJson(v))
    }
}

/// Parses `If-Match`: None when absent; `Some(None)` for `*`; `Some(Some(versions))` otherwise.
/// ETags are `W/"<version>"`; an unparsable tag matches no version.
pub fn if_match(headers: &axum::http::HeaderMap) -> Option<Option<Vec<i64>>> {
    let v = headers
        .get(header::IF_MATCH)?
        .to_str()
        .unwrap_or_default()
        .trim();
    if v == "*" {
        return Some(None);
    }
    let versions = v
        .split(',')
        .map(|t| {
            t.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i64>()
                .unwrap_or(-1)
        })
        .collect();
    Some(Some(versions))
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

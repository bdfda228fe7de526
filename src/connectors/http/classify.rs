//! Sorting one vendor answer into parsed JSON or a [`CallError`]: the failure classes in
//! the parent module's docs. Pure functions, so they are fuzzed (`fuzz/`).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::{Answer, CallError, MAX_MESSAGE, VendorSpec};
use crate::connectors::ConnectorError;

/// Sorts one vendor answer (status, headers, raw body) into parsed JSON or a [`CallError`]
/// (the failure classes in the module docs). Pure, so it is fuzzed (`fuzz/`).
pub fn classify(
    spec: &VendorSpec,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, CallError> {
    let vendor = spec.name;
    if (200..300).contains(&status) {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Answer {
                status,
                body: Value::Null,
            });
        }
        return match serde_json::from_slice::<Value>(body) {
            Ok(v) => Ok(Answer { status, body: v }),
            Err(e) => {
                let msg = format!("malformed JSON in a {status} answer: {e}");
                Err(CallError {
                    status: Some(status),
                    error: ConnectorError::retryable(format!("{vendor} {path}: {msg}")),
                    vendor_message: msg,
                })
            }
        };
    }
    let message = vendor_message(body);
    let error = match status {
        429 => ConnectorError::Retryable {
            message: format!("{vendor} rate limit (429) on {path}: {message}"),
            retry_after: retry_after(headers),
            rate_limited: true,
        },
        500..=599 => ConnectorError::Retryable {
            message: format!("{vendor} server error ({status}) on {path}: {message}"),
            retry_after: retry_after(headers),
            rate_limited: false,
        },
        403 if spec.forbidden.is_some() => {
            ConnectorError::permanent(spec.forbidden.unwrap_or_default().replace("{path}", path))
        }
        401 | 403 => ConnectorError::permanent(format!(
            "credentials rejected by {vendor} ({status}): {}",
            spec.auth_hint
        )),
        400..=499 => {
            ConnectorError::permanent(format!("{vendor} refused {path} ({status}): {message}"))
        }
        _ => ConnectorError::retryable(format!(
            "{vendor} answered unexpected status {status} on {path}: {message}"
        )),
    };
    Err(CallError {
        status: Some(status),
        vendor_message: message,
        error,
    })
}

/// The vendor's message from an error body: Contrast `{"messages":[..],"errors":[..]}`,
/// Carbon Black `{"error_code","message"}`, else the body text, truncated.
pub fn vendor_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(m) = json_message(&v)
    {
        return truncate(&m);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_string()
    } else {
        truncate(text)
    }
}

/// A message from a JSON error body, in whichever shape the vendor uses.
pub fn json_message(v: &Value) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for key in ["messages", "errors"] {
        if let Some(arr) = v.get(key).and_then(Value::as_array) {
            for item in arr {
                match item {
                    Value::String(s) => parts.push(s.clone()),
                    other => {
                        if let Some(m) = other.get("message").and_then(Value::as_str) {
                            parts.push(m.to_string());
                        } else {
                            parts.push(other.to_string());
                        }
                    }
                }
            }
        }
    }
    if parts.is_empty() {
        for key in ["message", "error_description", "error", "detail"] {
            if let Some(s) = v.get(key).and_then(Value::as_str)
                && !s.trim().is_empty()
            {
                parts.push(s.to_string());
                break;
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut msg = parts.join("; ");
    if let Some(code) = v.get("error_code").and_then(Value::as_str) {
        msg = format!("{code}: {msg}");
    }
    Some(msg)
}

pub(super) fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

/// `Retry-After` as delay-seconds or an HTTP date (a past date means "now").
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

//! The SCIM boundary's one error type. Every 4xx/5xx leaves as an RFC 7644 §3.12 error body
//! (`schemas`, `status` as a string, `scimType`, `detail`) with `application/scim+json`.
//! A 500 is opaque to the client and logged once, at the boundary: the response carries a
//! [`ServerFailure`], which the request metrics layer (`startup::track_metrics`) logs with
//! the request's method, path and id.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// RFC 7644 Table 9 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// A client mistake with a precise status and optional scimType.
    #[error("{detail}")]
    Client {
        status: StatusCode,
        scim_type: Option<ScimType>,
        detail: String,
    },
    /// The database is unreachable: 503, retryable by the IdP.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else: 500, detail hidden from the client, logged once.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ScimError {
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::Client {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Client {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::Client {
            status: StatusCode::CONFLICT,
            scim_type: Some(ScimType::Uniqueness),
            detail: detail.into(),
        }
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }
    pub fn unauthorized() -> Self {
        Self::status(
            StatusCode::UNAUTHORIZED,
            "missing or invalid bearer token for this target",
        )
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::PRECONDITION_FAILED, detail)
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            ScimError::Client { status, .. } => *status,
            ScimError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ScimError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Builds the SCIM error response for a status, scimType and detail.
pub fn error_response(status: StatusCode, scim_type: Option<ScimType>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t.as_str());
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        match self {
            ScimError::Client {
                status,
                scim_type,
                detail,
            } => error_response(status, scim_type, &detail),
            ScimError::Unavailable(msg) => {
                let mut r = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "the bridge's database is unavailable; retry later",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r.extensions_mut().insert(ServerFailure {
                    unavailable: true,
                    cause: msg,
                });
                r
            }
            ScimError::Internal(err) => ServerFailure::internal(format!("{err:?}")),
        }
    }
}

/// Why a request failed on the server's side (503 or 500), for the log only: set on the
/// response by [`ScimError::into_response`], taken off and logged by the boundary, where
/// the request is known. Errors are logged there, not in a span around every request: a
/// span cost every lookup 3–9 % more CPU (docs/performance.md, round 16).
#[derive(Debug, Clone)]
pub struct ServerFailure {
    /// The database was unreachable (503, a warning), else an internal error (500).
    pub unavailable: bool,
    /// The error and its causes (`{:?}` of the `anyhow` chain).
    pub cause: String,
}

impl ServerFailure {
    /// The opaque SCIM 500 for a handler that panicked, carrying the panic's message for
    /// the log (the payload of `panic!` with a message is a `&str` or a `String`).
    pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> Response {
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message");
        Self::internal(format!("handler panicked: {msg}"))
    }

    /// The opaque SCIM 500, carrying its cause for the log.
    fn internal(cause: String) -> Response {
        let mut r = error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "internal server error",
        );
        r.extensions_mut().insert(ServerFailure {
            unavailable: false,
            cause,
        });
        r
    }

    /// Logs the failure once, with the request it answered.
    pub fn log(&self, method: &Method, path: &str, request_id: &str) {
        let cause = &self.cause;
        if self.unavailable {
            tracing::warn!(%method, %path, %request_id, error = %cause, "database unavailable");
        } else {
            tracing::error!(%method, %path, %request_id, error = %cause, "internal error");
        }
    }
}

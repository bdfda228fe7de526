//! Abnormal Security, read-only: accounts Abnormal has observed, with their risk signals and
//! ATO cases. Not a [`Connector`](super::Connector): nothing is ever written.
//!
//! `Authorization: Bearer <token>`; `GET /v1/accounts?pageNumber=N` (1-based, the last page
//! has `nextPageNumber` null *or absent*), `GET /v1/accounts/{email}` (the e-mail
//! percent-encoded as one segment, `user%40example.com`; 404 → None) and
//! `GET /v1/accounts/{email}/cases`. A 429 is Retryable with `rate_limited` (no documented
//! headers; the poller backs off with jitter).
//!
//! Decisions where the notes are silent: a `base_url` ending in `/v1` (the
//! `api.abnormalplatform.com/v1` form) has that suffix dropped; `/cases` answered 404 means
//! no cases; `riskScore` and the other strings accept numbers; booleans accept "true"/"false".

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::http::{Request, VendorHttp, VendorSpec, segment};
use super::{CallGate, CallLog, ConnectorError};
use crate::config::TargetConfig;

pub const DEFAULT_BASE_URL: &str = "https://api.abnormalsecurity.com";
/// Sanity cap on pages of one sweep.
pub const MAX_PAGES: u32 = 10_000;

pub(crate) const SPEC: VendorSpec = VendorSpec {
    name: "Abnormal",
    auth_hint: "check the token (Settings → Integrations → API Keys)",
    forbidden: Some(
        "Abnormal answered 403 for {path}: the token's portal user lacks access or the module \
         is not licensed",
    ),
};

/// One entry of `GET /v1/accounts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountSummary {
    #[serde(deserialize_with = "lenient_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub risk_score: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub risk_level: Option<String>,
}

/// `GET /v1/accounts/{email}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountDetail {
    #[serde(deserialize_with = "lenient_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub risk_score: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub risk_level: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub compromised_since: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_vip: Option<bool>,
    #[serde(deserialize_with = "lenient_string")]
    pub department: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
}

/// One case of `GET /v1/accounts/{email}/cases`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountCase {
    #[serde(deserialize_with = "lenient_string")]
    pub case_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub severity: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub status: Option<String>,
}

impl AccountCase {
    /// `status` is "Open" (case-insensitive).
    pub fn is_open(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("open"))
    }
}

/// One page of accounts and the next page number (None on the last page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountsPage {
    pub accounts: Vec<AccountSummary>,
    pub next_page: Option<u32>,
}

/// A string, or a number / bool rendered as one; anything else is None.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// Items of an array field, each parsed leniently (non-objects are skipped).
fn items<T: for<'de> Deserialize<'de>>(body: &Value, key: &str) -> Vec<T> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn page_number(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One `GET /v1/accounts` page.
pub(crate) fn accounts_page(body: &Value) -> AccountsPage {
    AccountsPage {
        accounts: items(body, "accounts"),
        next_page: page_number(body.get("nextPageNumber")),
    }
}

/// The answer to `GET /v1/accounts/{email}`.
pub(crate) fn account_detail(body: Value) -> Result<AccountDetail, ConnectorError> {
    serde_json::from_value(body).map_err(|e| {
        ConnectorError::retryable(format!("Abnormal account answer is not an object: {e}"))
    })
}

/// The cases of `GET /v1/accounts/{email}/cases`.
pub(crate) fn cases(body: &Value) -> Vec<AccountCase> {
    items(body, "cases")
}

/// The read-only Abnormal client of one target.
#[derive(Debug)]
pub struct AbnormalClient {
    http: VendorHttp,
}

impl AbnormalClient {
    pub fn new(
        target_name: &str,
        cfg: &TargetConfig,
        timeout: Duration,
        gate: Arc<dyn CallGate>,
    ) -> Result<Self, String> {
        let token = cfg
            .token
            .as_ref()
            .ok_or_else(|| format!("targets.{target_name}.token is required for kind abnormal"))?;
        let bearer = SecretString::from(format!("Bearer {}", token.expose_secret().trim()));
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, super::http::secret_header(&bearer)?);
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let http = VendorHttp::new(SPEC, base, headers, timeout, gate)
            .map_err(|e| format!("targets.{target_name}.base_url: {e}"))?;
        Ok(Self { http })
    }

    /// `GET /v1/accounts?pageNumber=N` (1-based).
    pub async fn list_accounts_page(
        &self,
        page: u32,
        log: &CallLog,
    ) -> Result<AccountsPage, ConnectorError> {
        let req = Request::get("/v1/accounts").query("pageNumber", page.max(1));
        let a = self.http.send(req, log).await?;
        Ok(accounts_page(&a.body))
    }

    /// Every account, following `nextPageNumber` until it is null or absent (or stops
    /// advancing), at most [`MAX_PAGES`] pages.
    pub async fn list_all_accounts(
        &self,
        log: &CallLog,
    ) -> Result<Vec<AccountSummary>, ConnectorError> {
        let mut all = Vec::new();
        let mut page = 1;
        for _ in 0..MAX_PAGES {
            let p = self.list_accounts_page(page, log).await?;
            all.extend(p.accounts);
            match p.next_page {
                Some(n) if n > page => page = n,
                _ => break,
            }
        }
        Ok(all)
    }

    /// `GET /v1/accounts/{email}`; None when Abnormal has not observed the account (404).
    pub async fn account(
        &self,
        email: &str,
        log: &CallLog,
    ) -> Result<Option<AccountDetail>, ConnectorError> {
        let req = Request::get(format!("/v1/accounts/{}", segment(email.trim())));
        match self.http.send(req, log).await {
            Ok(a) => account_detail(a.body).map(Some),
            Err(e) if e.status == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /v1/accounts/{email}/cases`: all cases (see [`AccountCase::is_open`]).
    pub async fn open_cases(
        &self,
        email: &str,
        log: &CallLog,
    ) -> Result<Vec<AccountCase>, ConnectorError> {
        let req = Request::get(format!("/v1/accounts/{}/cases", segment(email.trim())));
        match self.http.send(req, log).await {
            Ok(a) => Ok(cases(&a.body)),
            Err(e) if e.status == Some(404) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests;

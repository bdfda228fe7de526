//! Abnormal Security simulator: read-only `/v1/...` (connector base URL `http://ADDR`; the
//! public alternative base `api.abnormalplatform.com/v1` has the same shape).
//!
//! Choices made where the seed leaves room:
//! - `riskScore` is a lower-case string, `"high"`, `"medium"` or `"low"` (the seed: "a string,
//!   e.g. 'high'", and its scenario filters on `riskScore == 'high'`). `riskLevel`, "the
//!   categorical level derived from riskScore", is the same word upper case: `"HIGH"`,
//!   `"MEDIUM"`, `"LOW"` (the spelling of case severities).
//! - `GET /v1/accounts` items carry only `email`, `name`, `riskScore`, as in the seed; the
//!   other fields come from `GET /v1/accounts/{email}` (hydration).
//! - Pages are 1-based; `pageNumber` defaults to 1, `pageSize` (optional) to the configured
//!   page size, which is also its maximum. On the last page `nextPageNumber` is `null` or left
//!   out, per [`LastPageStyle`]. A bad `pageNumber`/`pageSize` answers 400.
//! - Email path segments are percent-decoded and matched case-insensitively.
//! - Paths matching an "unlicensed" pattern (segment prefix, `*` = any one segment; default
//!   `/v1/vendors`) answer 403 `{"message":"Forbidden: module not licensed"}` after auth.
//! - Wrong or missing `Authorization: Bearer` answers 401 `{"message":"Unauthorized"}`.
//!
//! Control routes (besides the common ones, including `PUT /_sim/burst`): `GET /_sim/state`,
//! `PUT /_sim/accounts/{email}` (upsert; any account fields), `DELETE /_sim/accounts/{email}`,
//! `POST /_sim/accounts/{email}/cases` (`{"severity","status"}`), `PUT /_sim/cases/{id}`
//! (`{"status"}`), `PUT /_sim/unlicensed` (JSON list of patterns).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::layer::{SimCore, assemble};

mod control;
pub mod model;
mod routes;

#[cfg(test)]
mod tests;

pub use model::{AbnormalAccount, AbnormalCase, AbnormalState};

/// How the last page of a list says there is no next page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LastPageStyle {
    /// `"nextPageNumber": null`.
    #[default]
    Null,
    /// No `nextPageNumber` key at all.
    Absent,
}

/// The simulated tenant's token and list behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbnormalSimConfig {
    pub token: String,
    /// Default and maximum page size (the API's is 100).
    pub page_size: usize,
    pub last_page_style: LastPageStyle,
    /// Path patterns that answer 403 "module not licensed".
    pub unlicensed: Vec<String>,
}

impl Default for AbnormalSimConfig {
    fn default() -> Self {
        AbnormalSimConfig {
            token: "abnormal-token".into(),
            page_size: 100,
            last_page_style: LastPageStyle::Null,
            unlicensed: vec!["/v1/vendors".into()],
        }
    }
}

#[derive(Debug)]
struct Inner {
    cfg: AbnormalSimConfig,
    core: Arc<SimCore>,
    state: Mutex<AbnormalState>,
}

/// Handle to one simulated Abnormal tenant; clones share the tenant.
#[derive(Debug, Clone)]
pub struct AbnormalSim {
    inner: Arc<Inner>,
}

impl Default for AbnormalSim {
    fn default() -> Self {
        Self::new(AbnormalSimConfig::default())
    }
}

impl AbnormalSim {
    /// An empty tenant.
    pub fn new(cfg: AbnormalSimConfig) -> Self {
        Self::seeded_with(cfg, 0, 0)
    }

    /// Default config with `n` generated accounts (see [`model::generate`]).
    pub fn seeded(n: usize, seed: u64) -> Self {
        Self::seeded_with(AbnormalSimConfig::default(), n, seed)
    }

    pub fn seeded_with(cfg: AbnormalSimConfig, n: usize, seed: u64) -> Self {
        let mut state = model::generate(n, seed);
        state.unlicensed = cfg.unlicensed.clone();
        AbnormalSim {
            inner: Arc::new(Inner {
                cfg,
                core: Arc::new(SimCore::default()),
                state: Mutex::new(state),
            }),
        }
    }

    pub fn config(&self) -> &AbnormalSimConfig {
        &self.inner.cfg
    }

    fn state(&self) -> MutexGuard<'_, AbnormalState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Vendor routes (recorded, faulted, authenticated, licence-checked) plus control routes.
    pub fn router(&self) -> Router {
        let vendor = Router::new()
            .route("/v1/accounts", get(routes::list_accounts))
            .route("/v1/accounts/{email}", get(routes::get_account))
            .route("/v1/accounts/{email}/cases", get(routes::account_cases))
            .route("/v1/cases", get(routes::list_cases))
            .route("/v1/cases/{case_id}", get(routes::get_case))
            .route("/v1/vendors/{domain}", get(routes::get_vendor))
            .route_layer(from_fn_with_state(self.clone(), authenticate))
            .with_state(self.clone());
        assemble(&self.inner.core, vendor, control::routes(self.clone()))
    }

    common_handle_methods!();

    pub fn snapshot(&self) -> AbnormalState {
        self.state().clone()
    }

    pub fn accounts(&self) -> Vec<AbnormalAccount> {
        self.state().accounts.clone()
    }

    /// Case-insensitive lookup.
    pub fn account(&self, email: &str) -> Option<AbnormalAccount> {
        self.state().account(email).cloned()
    }

    /// Insert, or replace the account with the same email (case-insensitive).
    pub fn upsert_account(&self, account: AbnormalAccount) {
        let mut st = self.state();
        match st.account_mut(&account.email) {
            Some(slot) => *slot = account,
            None => st.accounts.push(account),
        }
    }

    /// `false` if unknown. The account's cases stay.
    pub fn remove_account(&self, email: &str) -> bool {
        let mut st = self.state();
        let before = st.accounts.len();
        st.accounts.retain(|a| !a.email.eq_ignore_ascii_case(email));
        before != st.accounts.len()
    }

    pub fn cases(&self) -> Vec<AbnormalCase> {
        self.state().cases.clone()
    }

    /// Open a case for `email` (the account need not exist), observed now.
    pub fn add_case(&self, email: &str, severity: &str, status: &str) -> AbnormalCase {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.state().add_case(email, severity, status, &now)
    }

    /// Replace the unlicensed path patterns.
    pub fn set_unlicensed(&self, patterns: Vec<String>) {
        self.state().unlicensed = patterns;
    }
}

/// Bearer token, then licence.
async fn authenticate(State(sim): State<AbnormalSim>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if token != Some(sim.inner.cfg.token.as_str()) {
        return model::message(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    if sim.state().is_unlicensed(req.uri().path()) {
        return model::message(StatusCode::FORBIDDEN, "Forbidden: module not licensed")
            .into_response();
    }
    next.run(req).await
}

//! Carbon Black Cloud simulator: `/appservices/v6/orgs/{org_key}/...` (connector base URL
//! `http://ADDR`).
//!
//! Behaviour, from the seed and the known public-SDK variants:
//! - Every vendor route needs `X-Auth-Token: {api_secret}/{api_id}`; otherwise 401. A path
//!   `org_key` other than the configured one answers 403.
//! - Users have numeric ids, assigned in order and never reused. `POST .../users` creates a
//!   user in `PENDING_ACTIVATION` (until `POST /_sim/users/{id}/activate`). Roles are
//!   `ADMINISTRATOR`, `ANALYST`, `READ_ONLY_ANALYST` (case-sensitive); `login_id` and `email`
//!   must be emails; a duplicate `login_id` (case-insensitive) answers 409.
//! - `PATCH` (seed) and `PUT` (official SDKs, whole object) update the same fields; a
//!   different `login_id` answers 400 "login_id is read-only".
//! - There is no disable: `DELETE` (204) is final. Deleting the last `ADMINISTRATOR` (any
//!   status) answers 400. Deleting a user leaves its API keys alone: revoking them is the
//!   caller's job (`DELETE .../apiaccess/key/{id}` or `PUT` with `{"status":"DISABLED"}`).
//! - `start` is a 0-based offset, `rows` defaults to 20 and must be 1..=200.
//!
//! Control routes (besides the common ones): `GET /_sim/state`, `POST /_sim/keys`
//! (`{"owner_login_id","name"}`), `POST /_sim/users` (create behind the bridge's back,
//! `ACTIVE` unless `status` says otherwise), `PATCH /_sim/users/{id}`,
//! `DELETE /_sim/users/{id}` (no last-admin rule), `POST /_sim/users/{id}/activate`.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use rand::Rng;

use super::layer::{SimCore, assemble};

mod control;
mod keys;
pub mod model;
mod users;

#[cfg(test)]
mod tests;

pub use model::{CarbonBlackState, CbApiKey, CbUser, KeyStatus, UserStatus};

/// Organisation and API key of the simulated tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarbonBlackSimConfig {
    pub org_key: String,
    pub api_id: String,
    pub api_secret: String,
    /// Start with one built-in `ADMINISTRATOR`: user 1, `owner@example.com`, `ACTIVE`.
    pub seed_owner_admin: bool,
}

impl Default for CarbonBlackSimConfig {
    fn default() -> Self {
        CarbonBlackSimConfig {
            org_key: "ABCD1234".into(),
            api_id: "APIID0001".into(),
            api_secret: "api-secret".into(),
            seed_owner_admin: true,
        }
    }
}

/// Login of the seeded owner administrator.
pub const OWNER_LOGIN: &str = "owner@example.com";
const ORG_ID: u64 = 1001;

#[derive(Debug)]
struct Inner {
    cfg: CarbonBlackSimConfig,
    core: Arc<SimCore>,
    state: Mutex<CarbonBlackState>,
}

/// Handle to one simulated Carbon Black Cloud org; clones share the org.
#[derive(Debug, Clone)]
pub struct CarbonBlackSim {
    inner: Arc<Inner>,
}

impl Default for CarbonBlackSim {
    fn default() -> Self {
        Self::new(CarbonBlackSimConfig::default())
    }
}

impl CarbonBlackSim {
    pub fn new(cfg: CarbonBlackSimConfig) -> Self {
        let sim = CarbonBlackSim {
            inner: Arc::new(Inner {
                cfg,
                core: Arc::new(SimCore::default()),
                state: Mutex::new(CarbonBlackState {
                    next_user_id: 1,
                    ..CarbonBlackState::default()
                }),
            }),
        };
        if sim.inner.cfg.seed_owner_admin {
            let owner = sim.insert_user(OWNER_LOGIN, model::ADMIN_ROLE, UserStatus::Active);
            if let Some(o) = owner {
                sim.rename_user(o.user_id, "Org", "Owner");
            }
        }
        sim
    }

    pub fn config(&self) -> &CarbonBlackSimConfig {
        &self.inner.cfg
    }

    fn state(&self) -> MutexGuard<'_, CarbonBlackState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Base path of the org's routes, `/appservices/v6/orgs/{org_key}`.
    pub fn org_path(&self) -> String {
        format!("/appservices/v6/orgs/{}", self.inner.cfg.org_key)
    }

    /// Vendor routes (recorded, faulted, authenticated) plus control routes.
    pub fn router(&self) -> Router {
        let org = "/appservices/v6/orgs/{org_key}";
        let vendor = Router::new()
            .route(
                &format!("{org}/users"),
                get(users::list).post(users::create),
            )
            .route(
                &format!("{org}/users/{{user_id}}"),
                get(users::get_one)
                    .patch(users::update)
                    .put(users::update)
                    .delete(users::delete),
            )
            .route(
                &format!("{org}/users/{{user_id}}/grants"),
                get(users::grants),
            )
            .route(&format!("{org}/apiaccess/key"), get(keys::list))
            .route(
                &format!("{org}/apiaccess/key/{{key_id}}"),
                put(keys::update).delete(keys::delete),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate))
            .with_state(self.clone());
        assemble(&self.inner.core, vendor, control::routes(self.clone()))
    }

    common_handle_methods!();

    pub fn snapshot(&self) -> CarbonBlackState {
        self.state().clone()
    }

    pub fn users(&self) -> Vec<CbUser> {
        self.state().users.clone()
    }

    pub fn user(&self, user_id: u64) -> Option<CbUser> {
        self.state().user(user_id).cloned()
    }

    /// Case-insensitive lookup by `login_id`.
    pub fn user_by_login(&self, login_id: &str) -> Option<CbUser> {
        self.state().user_by_login(login_id).cloned()
    }

    pub fn keys(&self) -> Vec<CbApiKey> {
        self.state().keys.clone()
    }

    /// Create an enabled `CUSTOM` key owned by `owner_login_id` (the owner need not exist).
    pub fn add_key(&self, owner_login_id: &str, name: &str) -> CbApiKey {
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(10)
            .map(|b| char::from(b).to_ascii_uppercase())
            .collect();
        let mut st = self.state();
        let key = CbApiKey {
            id: format!("KEY{suffix}"),
            name: name.to_string(),
            access_level_type: "CUSTOM".into(),
            status: KeyStatus::Enabled,
            owner_login_id: owner_login_id.to_string(),
            owner_user_id: st.user_by_login(owner_login_id).map(|u| u.user_id),
        };
        st.keys.push(key.clone());
        key
    }

    /// The user completes activation (`PENDING_ACTIVATION` → `ACTIVE`). `false` if unknown.
    pub fn activate_user(&self, user_id: u64) -> bool {
        self.state()
            .user_mut(user_id)
            .map(|u| u.status = UserStatus::Active)
            .is_some()
    }

    /// Behind the bridge's back; any string is accepted. `false` if unknown.
    pub fn set_user_role(&self, user_id: u64, role: &str) -> bool {
        self.state()
            .user_mut(user_id)
            .map(|u| u.role = role.to_string())
            .is_some()
    }

    fn rename_user(&self, user_id: u64, first: &str, last: &str) {
        if let Some(u) = self.state().user_mut(user_id) {
            u.first_name = first.to_string();
            u.last_name = last.to_string();
        }
    }

    /// Behind the bridge's back (no last-admin rule). `false` if unknown.
    pub fn delete_user(&self, user_id: u64) -> bool {
        self.state().remove_user(user_id)
    }

    /// Create a user behind the bridge's back. `None` if the login is taken.
    pub fn insert_user(&self, login_id: &str, role: &str, status: UserStatus) -> Option<CbUser> {
        let mut st = self.state();
        if st.user_by_login(login_id).is_some() {
            return None;
        }
        let mut user = users::new_user(&self.inner.cfg.org_key, login_id, role);
        user.status = status;
        Some(st.push_user(user))
    }

    /// Pre-populate `n` active `READ_ONLY_ANALYST` users `person{i}@example.com`.
    pub fn seed_people(&self, n: usize) {
        for i in 1..=n {
            let login = format!("person{i}@example.com");
            let _ = self.insert_user(&login, "READ_ONLY_ANALYST", UserStatus::Active);
        }
    }
}

async fn authenticate(
    State(sim): State<CarbonBlackSim>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let cfg = &sim.inner.cfg;
    let expected = format!("{}/{}", cfg.api_secret, cfg.api_id);
    let token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(expected.as_str()) {
        return model::error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Invalid or missing X-Auth-Token",
        )
        .into_response();
    }
    let org = params.iter().find(|(k, _)| *k == "org_key").map(|(_, v)| v);
    if org.is_some_and(|o| o != cfg.org_key) {
        return model::error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "The API key has no access to this org_key",
        )
        .into_response();
    }
    next.run(req).await
}

//! Contrast Security simulator: `/Contrast/api/ng/...` (connector base URL
//! `http://ADDR/Contrast/api/ng`).
//!
//! Behaviour, from the seed and the known public-doc variants:
//! - Every vendor route needs `Authorization: Basic base64(username:service_key)` and
//!   `API-Key: api_key`; otherwise 401 `{"success":false,"messages":["Authentication failed"]}`.
//!   A path `orgUuid` other than the configured one answers 403.
//! - `POST /{org}/users` invites: the user is `enabled` but its `invitation_status` stays
//!   `PENDING` (and `last_login` null) until `POST /_sim/users/{id}/accept`. Roles are the five
//!   case-sensitive `ROLE_*` values; a duplicate username (case-insensitive) answers 409.
//! - `PUT /{org}/users/{id}` and the public-docs `PUT /{org}/users/{id}/enabled` update;
//!   changing `username`/`email` answers 400 "username cannot be changed".
//! - `PUT /{org}/groups/{gid}/users` and the public-docs `PUT /{org}/groups/{gid}` replace the
//!   whole member list; an unknown user id answers 400 and changes nothing.
//!
//! Control routes (besides the common ones): `GET /_sim/state`, `POST /_sim/users` (create
//! behind the bridge's back, already accepted), `PUT /_sim/users/{id}` (`enabled`, `role`,
//! `first_name`, `last_name`), `DELETE /_sim/users/{id}`, `POST /_sim/users/{id}/accept`,
//! `POST /_sim/groups` (`{"name", optional "group_id"}`).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use base64::Engine;

use super::layer::{SimCore, assemble};

mod control;
mod groups;
pub mod model;
mod users;

#[cfg(test)]
mod tests;

pub use model::{ContrastGroup, ContrastState, ContrastUser, InvitationStatus};

/// Path prefix of every vendor route.
pub const BASE_PATH: &str = "/Contrast/api/ng";

/// Credentials and org of the simulated tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContrastSimConfig {
    pub org_uuid: String,
    pub username: String,
    pub service_key: String,
    pub api_key: String,
}

impl Default for ContrastSimConfig {
    fn default() -> Self {
        ContrastSimConfig {
            org_uuid: "00000000-0000-0000-0000-0000000000aa".into(),
            username: "bridge@example.com".into(),
            service_key: "svc-key".into(),
            api_key: "api-key".into(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    cfg: ContrastSimConfig,
    core: Arc<SimCore>,
    state: Mutex<ContrastState>,
}

/// Handle to one simulated Contrast tenant; clones share the tenant.
#[derive(Debug, Clone)]
pub struct ContrastSim {
    inner: Arc<Inner>,
}

impl Default for ContrastSim {
    fn default() -> Self {
        Self::new(ContrastSimConfig::default())
    }
}

fn seed_groups() -> Vec<ContrastGroup> {
    [
        ("g-1", "Developers"),
        ("g-2", "Security"),
        ("g-3", "Auditors"),
    ]
    .into_iter()
    .map(|(id, name)| ContrastGroup {
        group_id: id.into(),
        name: name.into(),
        users: Vec::new(),
    })
    .collect()
}

impl ContrastSim {
    /// A tenant with no users and the groups `g-1` Developers, `g-2` Security, `g-3` Auditors.
    pub fn new(cfg: ContrastSimConfig) -> Self {
        let state = ContrastState {
            users: Vec::new(),
            groups: seed_groups(),
        };
        ContrastSim {
            inner: Arc::new(Inner {
                cfg,
                core: Arc::new(SimCore::default()),
                state: Mutex::new(state),
            }),
        }
    }

    pub fn config(&self) -> &ContrastSimConfig {
        &self.inner.cfg
    }

    fn state(&self) -> MutexGuard<'_, ContrastState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Vendor routes (recorded, faulted, authenticated) plus control routes.
    pub fn router(&self) -> Router {
        let vendor = Router::new()
            .route("/profile", get(groups::profile))
            .route("/{org}/users", get(users::list).post(users::create))
            .route(
                "/{org}/users/{user_id}",
                get(users::get_one).put(users::update).delete(users::delete),
            )
            .route("/{org}/users/{user_id}/enabled", put(users::set_enabled))
            .route("/{org}/roles", get(groups::roles))
            .route("/{org}/groups", get(groups::list))
            .route("/{org}/groups/{group_id}", put(groups::replace_group))
            .route(
                "/{org}/groups/{group_id}/users",
                put(groups::replace_members),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate))
            .with_state(self.clone());
        let vendor = Router::new().nest(BASE_PATH, vendor);
        assemble(&self.inner.core, vendor, control::routes(self.clone()))
    }

    common_handle_methods!();

    /// A snapshot of the whole tenant.
    pub fn snapshot(&self) -> ContrastState {
        self.state().clone()
    }

    pub fn users(&self) -> Vec<ContrastUser> {
        self.state().users.clone()
    }

    pub fn user(&self, user_id: &str) -> Option<ContrastUser> {
        self.state().user(user_id).cloned()
    }

    /// Case-insensitive lookup by username (login email).
    pub fn user_by_username(&self, username: &str) -> Option<ContrastUser> {
        self.state().user_by_username(username).cloned()
    }

    pub fn groups(&self) -> Vec<ContrastGroup> {
        self.state().groups.clone()
    }

    /// Member user ids of a group (empty if the group is unknown).
    pub fn group_members(&self, group_id: &str) -> Vec<String> {
        self.state()
            .groups
            .iter()
            .find(|g| g.group_id == group_id)
            .map(|g| g.users.clone())
            .unwrap_or_default()
    }

    /// Behind the bridge's back. `false` if the user is unknown.
    pub fn set_user_enabled(&self, user_id: &str, enabled: bool) -> bool {
        self.state()
            .user_mut(user_id)
            .map(|u| u.enabled = enabled)
            .is_some()
    }

    /// Behind the bridge's back; any string is accepted. `false` if the user is unknown.
    pub fn set_user_role(&self, user_id: &str, role: &str) -> bool {
        self.state()
            .user_mut(user_id)
            .map(|u| u.role = role.to_string())
            .is_some()
    }

    /// Behind the bridge's back. `false` if the user is unknown.
    pub fn delete_user(&self, user_id: &str) -> bool {
        self.state().remove_user(user_id)
    }

    /// The invited user accepts the invitation (and logs in). `false` if unknown.
    pub fn accept_invitation(&self, user_id: &str) -> bool {
        self.state()
            .user_mut(user_id)
            .map(|u| {
                u.invitation_status = InvitationStatus::Accepted;
                u.last_login = Some(super::util::now_ms());
            })
            .is_some()
    }

    /// Add an access group; `group_id` defaults to a fresh `g-N`.
    pub fn add_group(&self, name: &str, group_id: Option<String>) -> ContrastGroup {
        let mut st = self.state();
        let id = group_id.unwrap_or_else(|| {
            (1..)
                .map(|n| format!("g-{n}"))
                .find(|id| st.groups.iter().all(|g| g.group_id != *id))
                .unwrap_or_default()
        });
        let group = ContrastGroup {
            group_id: id,
            name: name.to_string(),
            users: Vec::new(),
        };
        st.groups.retain(|g| g.group_id != group.group_id);
        st.groups.push(group.clone());
        group
    }

    /// Create a user behind the bridge's back, invitation already accepted. Returns `None`
    /// if the username is taken.
    pub fn insert_user(
        &self,
        email: &str,
        first: &str,
        last: &str,
        role: &str,
    ) -> Option<ContrastUser> {
        let mut st = self.state();
        if st.user_by_username(email).is_some() {
            return None;
        }
        let mut user = users::new_user(&self.inner.cfg.org_uuid, email, first, last, role);
        user.invitation_status = InvitationStatus::Accepted;
        st.users.push(user.clone());
        Some(user)
    }

    /// Pre-populate `n` accepted users `person{i}@example.com` (role `ROLE_VIEW`).
    pub fn seed_people(&self, n: usize) {
        for i in 1..=n {
            let email = format!("person{i}@example.com");
            let _ = self.insert_user(&email, "Person", &i.to_string(), "ROLE_VIEW");
        }
    }
}

fn authorized(cfg: &ContrastSimConfig, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let api_key_ok = header("api-key") == Some(cfg.api_key.as_str());
    let basic_ok = header("authorization")
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        })
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .is_some_and(|raw| raw == format!("{}:{}", cfg.username, cfg.service_key).as_bytes());
    api_key_ok && basic_ok
}

/// Both headers must match; the `{org}` path segment, when present, must be ours.
async fn authenticate(
    State(sim): State<ContrastSim>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let cfg = &sim.inner.cfg;
    if !authorized(cfg, req.headers()) {
        return model::fail(StatusCode::UNAUTHORIZED, "Authentication failed").into_response();
    }
    let org = params.iter().find(|(k, _)| *k == "org").map(|(_, v)| v);
    if org.is_some_and(|org| org != cfg.org_uuid) {
        return model::fail(
            StatusCode::FORBIDDEN,
            "Authorization failure: you do not have access to this organization",
        )
        .into_response();
    }
    next.run(req).await
}

//! Contrast Security: users under `{base}/{org_uuid}/users`, access groups under
//! `{base}/{org_uuid}/groups`. Headers `Authorization: Basic base64(username:service_key)`
//! and `API-Key`. Offset/limit paging (25 a page).
//!
//! Decisions where the vendor notes are silent:
//! - A SCIM `roles` value that is not one of the five Contrast roles (case-sensitive) is a
//!   permanent error, never silently ignored: a typo must not quietly grant the default.
//! - An inactive user that does not exist at Contrast is not created (creating sends an
//!   invitation e-mail); it is reported Deprovisioned with no call.
//! - Names: Contrast requires first and last name; when SCIM has none they come from
//!   `displayName` (first word / rest) or the e-mail local part (split on `.`, `_`, `-`, `+`;
//!   a single token is used for both).
//! - A create answer without `user.user_id` is resolved by listing; when the user is not
//!   listed yet the call is Retryable (the retry looks up first, so it adopts, never duplicates).

mod group;
mod lookup;
pub(crate) mod user;

pub(crate) use group::groups_page;
pub(crate) use user::invited_user_id;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::http::{Answer, CallError, Request, VendorHttp, VendorSpec, id_string, json_message};
use super::login_index::LoginIndex;
use super::{
    CallGate, CallLog, Connector, ConnectorError, DesiredGroup, DesiredUser, SyncOutcome,
    VendorAccount, VendorLink,
};
use crate::config::{ContrastDisableMethod, ContrastGroupMethod, OnDelete, TargetConfig};

pub const DEFAULT_BASE_URL: &str = "https://app.contrastsecurity.com/Contrast/api/ng";
/// Contrast's default page size.
/// Contrast documents no maximum page size (default 25); 100 keeps lookups to few calls.
pub const PAGE_SIZE: u32 = 100;
/// Sanity cap on pages of one listing.
const MAX_PAGES: u32 = 10_000;

/// Contrast organization roles, highest privilege first (exact, case-sensitive).
pub const ROLES: [&str; 5] = [
    "ROLE_ADMIN",
    "ROLE_RULES_ADMIN",
    "ROLE_EDIT",
    "ROLE_VIEW",
    "ROLE_NO_ACCESS",
];

pub(crate) const SPEC: VendorSpec = VendorSpec {
    name: "Contrast",
    auth_hint: "check username, service_key and api_key (and that org_uuid is the organization's UUID)",
    forbidden: None,
};

/// The Contrast write connector of one target.
#[derive(Debug)]
pub struct ContrastConnector {
    http: VendorHttp,
    target: String,
    /// `/{org_uuid}`, percent-encoded.
    org: String,
    on_delete: OnDelete,
    disable_method: ContrastDisableMethod,
    group_method: ContrastGroupMethod,
    default_role: Option<String>,
    group_roles: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    /// The logins of the last whole listing (`connectors::login_index`).
    logins: LoginIndex,
}

/// A user as Contrast lists it (lenient: every field optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContrastUser {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    pub role: Option<String>,
}

impl ContrastUser {
    pub fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            user_id: id_string(v.get("user_id")),
            username: s("username"),
            email: s("email"),
            first_name: s("first_name"),
            last_name: s("last_name"),
            enabled: v.get("enabled").and_then(Value::as_bool),
            // `role` is a string per the notes; some answers nest it as {"name": ..}.
            role: s("role").or_else(|| {
                v.get("role")
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
        }
    }

    /// The login this user is known by (username, else email).
    pub fn login(&self) -> Option<&str> {
        self.username.as_deref().or(self.email.as_deref())
    }
}

/// A 2xx `{"success": false, ...}`: Contrast's way of refusing, as a Permanent error.
pub(crate) fn refusal(path: &str, a: &Answer) -> Option<CallError> {
    if a.body.get("success").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let msg = json_message(&a.body).unwrap_or_else(|| "success: false".to_string());
    Some(CallError {
        status: Some(a.status),
        error: ConnectorError::permanent(format!("Contrast refused {path}: {msg}")),
        vendor_message: msg,
    })
}

/// The users of one `GET /users` page.
pub(crate) fn users_page(body: &Value) -> Vec<ContrastUser> {
    body.get("users")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(ContrastUser::from_json).collect())
        .unwrap_or_default()
}

pub fn is_role(r: &str) -> bool {
    ROLES.contains(&r)
}

fn role_rank(r: &str) -> usize {
    ROLES.iter().position(|x| *x == r).unwrap_or(ROLES.len())
}

fn role_error(role: &str) -> String {
    format!(
        "role `{role}` is not a Contrast role ({})",
        ROLES.join(", ")
    )
}

impl ContrastConnector {
    pub fn new(
        target_name: &str,
        cfg: &TargetConfig,
        timeout: Duration,
        gate: Arc<dyn CallGate>,
    ) -> Result<Self, String> {
        let required = |k: &str| format!("targets.{target_name}.{k} is required for kind contrast");
        let org_uuid = cfg
            .org_uuid
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| required("org_uuid"))?;
        let username = cfg
            .username
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| required("username"))?;
        let service_key = cfg
            .service_key
            .as_ref()
            .ok_or_else(|| required("service_key"))?;
        let api_key = cfg.api_key.as_ref().ok_or_else(|| required("api_key"))?;

        let key = |k: &str| format!("targets.{target_name}.{k}");
        if let Some(r) = &cfg.default_role
            && !is_role(r)
        {
            return Err(format!("{}: {}", key("default_role"), role_error(r)));
        }
        for (g, r) in &cfg.group_roles {
            if !is_role(r) {
                return Err(format!("{}.{g}: {}", key("group_roles"), role_error(r)));
            }
        }

        let basic = SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", service_key.expose_secret()))
        ));
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, super::http::secret_header(&basic)?);
        headers.insert(
            HeaderName::from_static("api-key"),
            super::http::secret_header(api_key)?,
        );
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let http = VendorHttp::new(SPEC, base, headers, timeout, gate)
            .map_err(|e| format!("{}: {e}", key("base_url")))?;
        Ok(Self {
            http,
            target: target_name.to_string(),
            org: format!("/{}", super::http::segment(org_uuid.trim())),
            on_delete: cfg.on_delete.unwrap_or(OnDelete::Disable),
            disable_method: cfg.disable_method.unwrap_or(ContrastDisableMethod::UserPut),
            group_method: cfg
                .group_members_method
                .unwrap_or(ContrastGroupMethod::UsersPut),
            default_role: cfg.default_role.clone(),
            group_roles: cfg.group_roles.clone(),
            groups: cfg.groups.clone(),
            logins: LoginIndex::new(cfg.lookup_cache()),
        })
    }

    /// The role to apply: the first SCIM role (every SCIM role must be a Contrast role), else
    /// the highest `group_roles` role of the user's groups, else `default_role`, else ROLE_VIEW.
    pub fn pick_role(&self, d: &DesiredUser) -> Result<String, ConnectorError> {
        let roles: Vec<&str> = d
            .roles
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .collect();
        if let Some(bad) = roles.iter().find(|r| !is_role(r)) {
            return Err(ConnectorError::permanent(role_error(bad)));
        }
        if let Some(first) = roles.first() {
            return Ok((*first).to_string());
        }
        let from_groups = d
            .groups
            .iter()
            .filter_map(|g| self.group_roles.get(g))
            .filter(|r| is_role(r))
            .min_by_key(|r| role_rank(r));
        Ok(from_groups
            .cloned()
            .or_else(|| self.default_role.clone())
            .unwrap_or_else(|| "ROLE_VIEW".to_string()))
    }

    fn users_path(&self) -> String {
        format!("{}/users", self.org)
    }

    fn user_path(&self, id: &str) -> String {
        format!("{}/users/{}", self.org, super::http::segment(id))
    }

    /// Sends a call and turns a 2xx `{"success": false, ...}` into a Permanent error.
    async fn call(&self, req: Request, log: &CallLog) -> Result<Answer, CallError> {
        let path = req.path.clone();
        let a = self.http.send(req, log).await?;
        match refusal(&path, &a) {
            Some(e) => Err(e),
            None => Ok(a),
        }
    }

    /// Pages through a listing: calls `page(answer)` for each page until `page` returns
    /// `true` (stop), a short page, `count` reached, or a repeated page.
    pub(super) async fn paged(
        &self,
        path: &str,
        log: &CallLog,
        mut page: impl FnMut(&Value) -> (usize, Option<String>, bool),
    ) -> Result<(), CallError> {
        let mut offset: u64 = 0;
        let mut last_first: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let a = self
                .call(
                    Request::get(path)
                        .query("offset", offset)
                        .query("limit", PAGE_SIZE),
                    log,
                )
                .await?;
            let (len, first, stop) = page(&a.body);
            if stop || len < PAGE_SIZE as usize || (first.is_some() && first == last_first) {
                return Ok(());
            }
            offset += len as u64;
            if let Some(count) = a.body.get("count").and_then(Value::as_u64)
                && offset >= count
            {
                return Ok(());
            }
            last_first = first;
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for ContrastConnector {
    async fn sync_user(
        &self,
        desired: Option<&DesiredUser>,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        match desired {
            Some(d) => self.converge_user(d, link, log).await,
            None => self.deleted_user(link, log).await,
        }
    }

    async fn sync_group(
        &self,
        desired: Option<&DesiredGroup>,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        match desired {
            Some(g) => self.converge_group(g, link, log).await,
            None => self.deleted_group(link, log).await,
        }
    }

    fn expected_role(&self, desired: &DesiredUser) -> Option<String> {
        self.pick_role(desired).ok()
    }

    async fn list_accounts(&self, log: &CallLog) -> Result<Vec<VendorAccount>, ConnectorError> {
        let users = self.list_users(log, None).await?;
        Ok(users
            .into_iter()
            .filter_map(|u| {
                let key = u.login()?.to_string();
                Some(VendorAccount {
                    vendor_id: u.user_id.clone()?,
                    key,
                    given_name: u.first_name,
                    family_name: u.last_name,
                    role: u.role,
                    enabled: u.enabled.unwrap_or(true),
                    status: u
                        .enabled
                        .map(|e| if e { "enabled" } else { "disabled" }.into()),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod invite_race_tests;
#[cfg(test)]
mod lookup_tests;
#[cfg(test)]
mod tests;

//! Carbon Black Cloud: users under `/appservices/v6/orgs/{org_key}/users[/{user_id}]`
//! (numeric ids, never reused), API keys under `/appservices/v6/orgs/{org_key}/apiaccess/key`.
//! Header `X-Auth-Token: {api_secret}/{api_id}`. `start`/`rows` paging (200 a page).
//!
//! There is no disable state: deprovisioning (SCIM DELETE or `active: false`) revokes the
//! user's API keys (when `revoke_api_keys`), then deletes the user; the old id moves to
//! `applied.previous_user_ids` and a later reactivation creates a new user.
//!
//! Decisions where the vendor notes are silent:
//! - `start` is 0-based; a listing stops on a short page, at `num_found`, or on a repeated page.
//! - A SCIM `roles` value that is not a Carbon Black role is a permanent error.
//! - An inactive user with no vendor account is not created; its login is looked up first
//!   (an earlier create may have reached the vendor before a crash or a 5xx) and deleted.
//! - The key listing is read from `results` (else `keys`, else a bare array); it is paged
//!   with `start`/`rows` only when the answer carries `num_found`.
//! - A key is the user's when `api_key_owner_field` holds the login (case-insensitive) or
//!   the numeric user_id. Keys already `DISABLED` are skipped with the `disable` method.

mod deprovision;
mod user;

pub(crate) use deprovision::keys_page;
pub(crate) use user::created_user;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::http::{Request, VendorHttp, VendorSpec, id_string, segment};
use super::login_index::{LoginIndex, Lookup};
use super::{
    CallGate, CallLog, Connector, ConnectorError, DesiredGroup, DesiredUser, SyncOutcome,
    SyncState, VendorAccount, VendorLink,
};
use crate::config::{KeyRevokeMethod, TargetConfig, UpdateMethod, carbon_black_region_host};

/// Carbon Black's largest page.
pub const PAGE_ROWS: u32 = 200;
const MAX_PAGES: u32 = 10_000;

/// Built-in roles assignable through the API, highest privilege first (case-sensitive).
pub const ROLES: [&str; 3] = ["ADMINISTRATOR", "ANALYST", "READ_ONLY_ANALYST"];
pub const DEFAULT_ROLE: &str = "READ_ONLY_ANALYST";
pub const DEFAULT_KEY_OWNER_FIELD: &str = "owner_login_id";

pub(crate) const SPEC: VendorSpec = VendorSpec {
    name: "Carbon Black",
    auth_hint: "check api_id and api_secret (a Custom key with org.users and apiaccess \
                permissions) and org_key",
    forbidden: None,
};

/// The Carbon Black Cloud write connector of one target.
#[derive(Debug)]
pub struct CarbonBlackConnector {
    http: VendorHttp,
    /// `/appservices/v6/orgs/{org_key}`, percent-encoded.
    org: String,
    default_role: String,
    group_roles: BTreeMap<String, String>,
    update_method: UpdateMethod,
    revoke_api_keys: bool,
    key_owner_field: String,
    key_revoke_method: KeyRevokeMethod,
    /// The logins of the last whole listing (`connectors::login_index`).
    logins: LoginIndex,
}

/// A user as Carbon Black lists it (lenient: every field optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CbUser {
    pub user_id: Option<String>,
    pub login_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub status: Option<String>,
}

impl CbUser {
    pub fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            user_id: id_string(v.get("user_id")),
            login_id: s("login_id"),
            email: s("email"),
            first_name: s("first_name"),
            last_name: s("last_name"),
            role: s("role"),
            phone: s("phone"),
            status: s("status"),
        }
    }
}

/// The users of one `GET /users` page (`users`, or `results` in some versions).
pub(crate) fn users_page(body: &Value) -> Vec<CbUser> {
    body.get("users")
        .or_else(|| body.get("results"))
        .and_then(Value::as_array)
        .map(|arr| arr.iter().map(CbUser::from_json).collect())
        .unwrap_or_default()
}

/// The total a listing answer announces, if any.
pub(crate) fn num_found(body: &Value) -> Option<u64> {
    body.get("num_found").and_then(Value::as_u64)
}

pub fn is_role(r: &str) -> bool {
    ROLES.contains(&r)
}

fn role_error(role: &str) -> String {
    format!(
        "role `{role}` is not a Carbon Black role ({})",
        ROLES.join(", ")
    )
}

impl CarbonBlackConnector {
    pub fn new(
        target_name: &str,
        cfg: &TargetConfig,
        timeout: Duration,
        gate: Arc<dyn CallGate>,
    ) -> Result<Self, String> {
        let key = |k: &str| format!("targets.{target_name}.{k}");
        let required = |k: &str| format!("{} is required for kind carbon_black", key(k));
        let base = match (&cfg.base_url, &cfg.region) {
            (Some(b), _) => b.clone(),
            (None, Some(r)) => carbon_black_region_host(r)
                .ok_or_else(|| format!("{}: unknown region `{r}`", key("region")))?
                .to_string(),
            (None, None) => {
                return Err(format!(
                    "{} or {} is required for kind carbon_black",
                    key("base_url"),
                    key("region")
                ));
            }
        };
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let org_key = nonempty(&cfg.org_key).ok_or_else(|| required("org_key"))?;
        let api_id = nonempty(&cfg.api_id).ok_or_else(|| required("api_id"))?;
        let api_secret = cfg
            .api_secret
            .as_ref()
            .ok_or_else(|| required("api_secret"))?;
        let default_role = cfg
            .default_role
            .clone()
            .unwrap_or_else(|| DEFAULT_ROLE.into());
        if !is_role(&default_role) {
            return Err(format!(
                "{}: {}",
                key("default_role"),
                role_error(&default_role)
            ));
        }
        for (g, r) in &cfg.group_roles {
            if !is_role(r) {
                return Err(format!("{}.{g}: {}", key("group_roles"), role_error(r)));
            }
        }
        let token = SecretString::from(format!("{}/{api_id}", api_secret.expose_secret()));
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-auth-token"),
            super::http::secret_header(&token)?,
        );
        let http = VendorHttp::new(SPEC, &base, headers, timeout, gate)
            .map_err(|e| format!("{}: {e}", key("base_url")))?;
        Ok(Self {
            http,
            org: format!("/appservices/v6/orgs/{}", segment(&org_key)),
            default_role,
            group_roles: cfg.group_roles.clone(),
            update_method: cfg.update_method.unwrap_or(UpdateMethod::Patch),
            revoke_api_keys: cfg.revoke_api_keys.unwrap_or(true),
            key_owner_field: cfg
                .api_key_owner_field
                .clone()
                .unwrap_or_else(|| DEFAULT_KEY_OWNER_FIELD.into()),
            key_revoke_method: cfg.api_key_revoke_method.unwrap_or(KeyRevokeMethod::Delete),
            logins: LoginIndex::new(cfg.lookup_cache()),
        })
    }

    /// The first SCIM role (every SCIM role must be a CB role), else the highest
    /// `group_roles` role of the user's groups, else `default_role`.
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
        let rank = |r: &str| ROLES.iter().position(|x| *x == r).unwrap_or(ROLES.len());
        Ok(d.groups
            .iter()
            .filter_map(|g| self.group_roles.get(g))
            .min_by_key(|r| rank(r))
            .cloned()
            .unwrap_or_else(|| self.default_role.clone()))
    }

    fn users_path(&self) -> String {
        format!("{}/users", self.org)
    }

    fn user_path(&self, id: &str) -> String {
        format!("{}/users/{}", self.org, segment(id))
    }

    /// Lists users (`start`/`rows`); stops early once `stop_at` (a login_id) is seen.
    pub async fn list_users(
        &self,
        log: &CallLog,
        stop_at: Option<&str>,
    ) -> Result<Vec<CbUser>, ConnectorError> {
        let mut all: Vec<CbUser> = Vec::new();
        let mut last_first: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let start = all.len();
            let req = Request::get(self.users_path())
                .query("start", start)
                .query("rows", PAGE_ROWS);
            let a = self.http.send(req, log).await?;
            let page = users_page(&a.body);
            let len = page.len();
            let first = page.first().and_then(|u| u.user_id.clone());
            if first.is_some() && first == last_first {
                break;
            }
            let hit = stop_at.is_some_and(|k| {
                page.iter().any(|u| {
                    u.login_id
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(k))
                })
            });
            all.extend(page);
            let total = num_found(&a.body);
            if hit || len < PAGE_ROWS as usize || total.is_some_and(|t| all.len() as u64 >= t) {
                break;
            }
            last_first = first;
        }
        Ok(all)
    }

    pub async fn find_user(
        &self,
        login: &str,
        log: &CallLog,
    ) -> Result<Option<CbUser>, ConnectorError> {
        let users = self.list_users(log, Some(login)).await?;
        Ok(users.into_iter().find(|u| {
            u.login_id
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(login))
        }))
    }

    /// The look-up before a create (`LoginIndex::look_up`).
    pub(super) async fn look_up(
        &self,
        login: &str,
        log: &CallLog,
    ) -> Result<Lookup<CbUser>, ConnectorError> {
        self.logins
            .look_up(
                login,
                || self.find_user(login, log),
                || self.list_users(log, None),
                |u: &CbUser| u.login_id.as_deref(),
            )
            .await
    }
}

#[async_trait]
impl Connector for CarbonBlackConnector {
    async fn sync_user(
        &self,
        desired: Option<&DesiredUser>,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        match desired {
            Some(d) if d.active => self.converge_user(d, link, log).await,
            Some(d) => {
                // Validate even when deprovisioning: a renamed login is still an error.
                self.check_login(d, link)?;
                self.deprovision(link, Some(&d.user_name), log).await
            }
            None => self.deprovision(link, None, log).await,
        }
    }

    async fn sync_group(
        &self,
        _desired: Option<&DesiredGroup>,
        link: &VendorLink,
        _log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        Ok(SyncOutcome {
            link: link.clone(),
            state: SyncState::Unmapped,
            note: Some("Carbon Black has no groups; group_roles maps SCIM groups to roles".into()),
        })
    }

    fn expected_role(&self, desired: &DesiredUser) -> Option<String> {
        self.pick_role(desired).ok()
    }

    async fn list_accounts(&self, log: &CallLog) -> Result<Vec<VendorAccount>, ConnectorError> {
        let users = self.list_users(log, None).await?;
        Ok(users
            .into_iter()
            .filter_map(|u| {
                Some(VendorAccount {
                    vendor_id: u.user_id?,
                    key: u.login_id?,
                    given_name: u.first_name,
                    family_name: u.last_name,
                    role: u.role,
                    enabled: true,
                    status: u.status,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod create_race_tests;
#[cfg(test)]
mod deprovision_tests;
#[cfg(test)]
mod tests;

//! Looking a Contrast user up by login. Contrast has no search: a look-up lists users page
//! by page, and the logins of the last whole listing are kept a while
//! (`connectors::login_index`). An account found is adopted.

use serde_json::Value;

use super::user::{Attrs, Known, applied_json, state_of};
use super::{ContrastConnector, ContrastUser, users_page};
use crate::connectors::login_index::Lookup;
use crate::connectors::{CallLog, ConnectorError, SyncOutcome, VendorLink};

impl ContrastConnector {
    /// Lists users page by page; stops early when `stop_at` (a username) is found.
    pub async fn list_users(
        &self,
        log: &CallLog,
        stop_at: Option<&str>,
    ) -> Result<Vec<ContrastUser>, ConnectorError> {
        let mut all: Vec<ContrastUser> = Vec::new();
        self.paged(&self.users_path(), log, |body| {
            let users = users_page(body);
            let len = users.len();
            let first = users.first().and_then(|u| u.user_id.clone());
            let found = stop_at.is_some_and(|k| {
                users
                    .iter()
                    .any(|u| u.login().is_some_and(|l| l.eq_ignore_ascii_case(k)))
            });
            all.extend(users);
            (len, first, found)
        })
        .await?;
        Ok(all)
    }

    /// The user whose username (else email) equals `login`, case-insensitively, listed now.
    pub async fn find_user(
        &self,
        login: &str,
        log: &CallLog,
    ) -> Result<Option<ContrastUser>, ConnectorError> {
        let users = self.list_users(log, Some(login)).await?;
        Ok(users.into_iter().find(|u| is_login(u, login)))
    }

    /// The look-up before a create (`LoginIndex::look_up`).
    pub(super) async fn look_up(
        &self,
        login: &str,
        log: &CallLog,
    ) -> Result<Lookup<ContrastUser>, ConnectorError> {
        self.logins
            .look_up(
                login,
                || self.find_user(login, log),
                || self.list_users(log, None),
                ContrastUser::login,
            )
            .await
    }

    /// Takes over an account found at Contrast: what it has is read from the listing, and
    /// only the differences are written.
    pub(super) async fn adopt(
        &self,
        found: ContrastUser,
        want: &Attrs,
        applied: &Value,
        login: &str,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        let id = found.user_id.clone().ok_or_else(|| {
            ConnectorError::retryable(format!("Contrast listed {login} without a user_id"))
        })?;
        self.apply(&id, &Known::from_vendor(&found), want, log)
            .await?;
        let (state, status) = state_of(want.enabled);
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: Some(id),
                vendor_key: Some(found.login().unwrap_or(login).to_string()),
                vendor_status: Some(status.into()),
                applied: applied_json(want, applied),
            },
            state,
            note: Some("adopted existing account".into()),
        })
    }
}

fn is_login(u: &ContrastUser, login: &str) -> bool {
    u.login().is_some_and(|l| l.eq_ignore_ascii_case(login))
}

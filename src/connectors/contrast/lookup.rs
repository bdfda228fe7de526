//! Looking a Contrast user up by login. Contrast has no search: a look-up lists users page
//! by page, and the logins of the last whole listing are kept a while
//! (`connectors::login_index`).

use super::{ContrastConnector, ContrastUser, users_page};
use crate::connectors::login_index::Lookup;
use crate::connectors::{CallLog, ConnectorError};

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
}

fn is_login(u: &ContrastUser, login: &str) -> bool {
    u.login().is_some_and(|l| l.eq_ignore_ascii_case(login))
}

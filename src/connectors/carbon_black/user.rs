//! Carbon Black user create / adopt / update.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{CarbonBlackConnector, CbUser};
use crate::config::UpdateMethod;
use crate::connectors::contrast::user::names;
use crate::connectors::http::{CallError, Request, id_string};
use crate::connectors::login_index::{Lookup, after_refusal, refused_as_taken};
use crate::connectors::{CallLog, ConnectorError, DesiredUser, SyncOutcome, SyncState, VendorLink};

/// The mutable fields we apply, in the order they are sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Attrs {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub phone: Option<String>,
}

impl Attrs {
    fn fields(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("email", Some(self.email.as_str())),
            ("first_name", Some(self.first_name.as_str())),
            ("last_name", Some(self.last_name.as_str())),
            ("role", Some(self.role.as_str())),
            ("phone", self.phone.as_deref()),
        ]
    }
}

/// `applied` for `a`, keeping the history keys of `prev`.
pub(super) fn applied_json(a: &Attrs, prev: &Value) -> Value {
    let mut m = Map::new();
    for (k, v) in a.fields() {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    for k in ["previous_user_ids", "revoked_keys"] {
        if let Some(v) = prev.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

/// The id and status in the answer to a create (`user_id` at the top or under `user`).
pub(crate) fn created_user(body: &Value) -> (Option<String>, Option<String>) {
    let id = id_string(body.get("user_id"))
        .or_else(|| id_string(body.get("user").and_then(|u| u.get("user_id"))));
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_string);
    (id, status)
}

fn known_from_vendor(u: &CbUser) -> Value {
    json!({
        "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
        "role": u.role, "phone": u.phone,
    })
}

impl CarbonBlackConnector {
    /// A linked login_id cannot change.
    pub(super) fn check_login(
        &self,
        d: &DesiredUser,
        link: &VendorLink,
    ) -> Result<(), ConnectorError> {
        if link.vendor_id.is_some()
            && let Some(old) = &link.vendor_key
            && !old.eq_ignore_ascii_case(d.user_name.trim())
        {
            return Err(ConnectorError::permanent(format!(
                "login_id is immutable at Carbon Black: cannot rename {old} to {}; \
                 deprovision and re-create the user",
                d.user_name.trim()
            )));
        }
        Ok(())
    }

    fn desired_attrs(&self, d: &DesiredUser) -> Result<Attrs, ConnectorError> {
        let role = self.pick_role(d)?;
        let login = d.user_name.trim();
        let email = d
            .email
            .clone()
            .or_else(|| login.contains('@').then(|| login.to_string()))
            .ok_or_else(|| {
                ConnectorError::permanent(format!(
                    "user {login} has no e-mail address; Carbon Black requires one"
                ))
            })?;
        let (first_name, last_name) = names(d, &email);
        Ok(Attrs {
            email,
            first_name,
            last_name,
            role,
            phone: d.phone.clone().filter(|p| !p.trim().is_empty()),
        })
    }

    /// PATCHes the changed fields (or PUTs the whole object); Ok(true) when a call was made.
    async fn update(
        &self,
        id: &str,
        login: &str,
        known: &Value,
        want: &Attrs,
        log: &CallLog,
    ) -> Result<bool, CallError> {
        let mut changed = Map::new();
        for (k, v) in want.fields() {
            if let Some(v) = v
                && known.get(k).and_then(Value::as_str) != Some(v)
            {
                changed.insert(k.into(), json!(v));
            }
        }
        if changed.is_empty() {
            return Ok(false);
        }
        let req = match self.update_method {
            UpdateMethod::Patch => {
                Request::new(Method::PATCH, self.user_path(id)).json(Value::Object(changed))
            }
            UpdateMethod::Put => {
                let mut whole = Map::new();
                whole.insert("login_id".into(), json!(login));
                for (k, v) in want.fields() {
                    if let Some(v) = v {
                        whole.insert(k.into(), json!(v));
                    }
                }
                Request::new(Method::PUT, self.user_path(id)).json(Value::Object(whole))
            }
        };
        self.http.send(req, log).await?;
        Ok(true)
    }

    /// Takes over an account found at Carbon Black: only the differences are written.
    async fn adopt(
        &self,
        found: CbUser,
        want: &Attrs,
        applied: &Value,
        login: &str,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        let id = found.user_id.clone().ok_or_else(|| {
            ConnectorError::retryable(format!("Carbon Black listed {login} without a user_id"))
        })?;
        self.update(&id, login, &known_from_vendor(&found), want, log)
            .await?;
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: Some(id),
                vendor_key: Some(found.login_id.clone().unwrap_or_else(|| login.to_string())),
                vendor_status: found.status.clone(),
                applied: applied_json(want, applied),
            },
            state: SyncState::Synced,
            note: Some("adopted existing account".into()),
        })
    }

    pub(super) async fn converge_user(
        &self,
        d: &DesiredUser,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        self.check_login(d, link)?;
        let want = self.desired_attrs(d)?;
        let login = d.user_name.trim().to_string();
        let mut applied = link.applied.clone();

        if let Some(id) = &link.vendor_id {
            match self.update(id, &login, &link.applied, &want, log).await {
                Ok(called) => {
                    return Ok(SyncOutcome {
                        link: VendorLink {
                            vendor_id: Some(id.clone()),
                            vendor_key: link.vendor_key.clone().or(Some(login)),
                            vendor_status: link.vendor_status.clone(),
                            applied: applied_json(&want, &link.applied),
                        },
                        state: SyncState::Synced,
                        note: called.then(|| "updated".into()),
                    });
                }
                // Deleted behind our back: its id is retired; look up / create again.
                Err(e) if e.status == Some(404) => {
                    applied = super::deprovision::retire(&applied, id, &[])
                }
                Err(e) => return Err(e.into()),
            }
        }

        let cached = match self.look_up(&login, log).await? {
            Lookup::Found(found) => return self.adopt(found, &want, &applied, &login, log).await,
            Lookup::Absent { cached } => cached,
        };

        let mut body = Map::new();
        body.insert("login_id".into(), json!(login));
        for (k, v) in want.fields() {
            if let Some(v) = v {
                body.insert(k.into(), json!(v));
            }
        }
        self.logins.posting(&login);
        let created = self
            .http
            .send(
                Request::new(Method::POST, self.users_path()).json(Value::Object(body)),
                log,
            )
            .await;
        self.logins.answered(&login);
        let a = match created {
            Ok(a) => a,
            // Created meanwhile (an admin, another replica's worker): the account is
            // there, so it is adopted, as the look-up above would have, not failed. A
            // refusal after a look-up from the index is checked the same way.
            Err(e) if refused_as_taken(e.status, cached) => {
                let found = self.find_user(&login, log).await?;
                let adopt = |u| self.adopt(u, &want, &applied, &login, log);
                return after_refusal("Carbon Black", &login, e, found, adopt).await;
            }
            Err(e) => return Err(e.into()),
        };
        let (answered, mut status) = created_user(&a.body);
        let id = match answered {
            Some(id) => id,
            None => {
                let found = self.find_user(&login, log).await?;
                let found = found.and_then(|u| Some((u.user_id?, u.status)));
                let (id, st) = found.ok_or_else(|| {
                    ConnectorError::retryable(format!(
                        "Carbon Black accepted {login} but does not list the user yet"
                    ))
                })?;
                status = status.or(st);
                id
            }
        };
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: Some(id.clone()),
                vendor_key: Some(login),
                vendor_status: status,
                applied: applied_json(&want, &applied),
            },
            state: SyncState::Synced,
            note: Some(format!("created user {id}")),
        })
    }
}

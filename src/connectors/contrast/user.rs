//! Contrast user convergence: look up before create, PUT only what changed, disable or
//! delete on deprovision.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{ContrastConnector, ContrastUser};
use crate::config::{ContrastDisableMethod, OnDelete};
use crate::connectors::http::Request;
use crate::connectors::login_index::{Lookup, after_refusal, refused_as_taken};
use crate::connectors::{CallLog, ConnectorError, DesiredUser, SyncOutcome, SyncState, VendorLink};

/// What we apply to a Contrast user; also what `VendorLink::applied` remembers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attrs {
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub enabled: bool,
}

/// What is known to be applied (fields missing from an old link count as unknown).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Known {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Option<String>,
    pub enabled: Option<bool>,
}

impl Known {
    fn from_applied(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            first_name: s("first_name"),
            last_name: s("last_name"),
            role: s("role"),
            enabled: v.get("enabled").and_then(Value::as_bool),
        }
    }
    pub(super) fn from_vendor(u: &ContrastUser) -> Self {
        Self {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.clone(),
            enabled: u.enabled,
        }
    }
}

/// Splits a name out of displayName or the e-mail local part when SCIM has none.
pub(crate) fn names(d: &DesiredUser, login: &str) -> (String, String) {
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (mut first, mut last) = (nonempty(&d.given_name), nonempty(&d.family_name));
    if first.is_none() || last.is_none() {
        let display = nonempty(&d.display_name).unwrap_or_default();
        let mut words = display.split_whitespace();
        let (df, dl) = match (words.next(), words.collect::<Vec<_>>().join(" ")) {
            (Some(f), rest) if !rest.is_empty() => (f.to_string(), rest),
            _ => {
                let local = login.split('@').next().unwrap_or(login);
                let parts: Vec<&str> = local
                    .split(['.', '_', '-', '+'])
                    .filter(|p| !p.is_empty())
                    .collect();
                match parts.as_slice() {
                    [] => (local.to_string(), local.to_string()),
                    [one] => (one.to_string(), one.to_string()),
                    [f, rest @ ..] => (f.to_string(), rest.join(" ")),
                }
            }
        };
        first = first.or(Some(df));
        last = last.or(Some(dl));
    }
    (first.unwrap_or_default(), last.unwrap_or_default())
}

pub(super) fn applied_json(a: &Attrs, prev: &Value) -> Value {
    let mut m = Map::new();
    m.insert("first_name".into(), json!(a.first_name));
    m.insert("last_name".into(), json!(a.last_name));
    m.insert("role".into(), json!(a.role));
    m.insert("enabled".into(), json!(a.enabled));
    if let Some(p) = prev.get("previous_user_ids") {
        m.insert("previous_user_ids".into(), p.clone());
    }
    Value::Object(m)
}

/// `applied` with `id` moved into `previous_user_ids`.
fn retire(prev: &Value, id: &str) -> Value {
    let mut m = prev.as_object().cloned().unwrap_or_default();
    let mut ids: Vec<Value> = m
        .get("previous_user_ids")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !ids.iter().any(|v| v.as_str() == Some(id)) {
        ids.push(json!(id));
    }
    m.insert("previous_user_ids".into(), Value::Array(ids));
    Value::Object(m)
}

/// The new user's id in the answer to an invitation (`{"user": {"user_id": ..}}`).
pub(crate) fn invited_user_id(body: &Value) -> Option<String> {
    crate::connectors::http::id_string(body.get("user").and_then(|u| u.get("user_id")))
}

pub(super) fn state_of(enabled: bool) -> (SyncState, &'static str) {
    if enabled {
        (SyncState::Synced, "enabled")
    } else {
        (SyncState::Deprovisioned, "disabled")
    }
}

impl ContrastConnector {
    fn desired_attrs(&self, d: &DesiredUser, login: &str) -> Result<Attrs, ConnectorError> {
        let role = self.pick_role(d)?;
        let (first_name, last_name) = names(d, login);
        Ok(Attrs {
            first_name,
            last_name,
            role,
            enabled: d.active,
        })
    }

    /// PUTs what differs between `known` and `want`; Ok(true) when a call was made.
    pub(super) async fn apply(
        &self,
        id: &str,
        known: &Known,
        want: &Attrs,
        log: &CallLog,
    ) -> Result<bool, crate::connectors::http::CallError> {
        let mut body = Map::new();
        if known.first_name.as_deref() != Some(&want.first_name) {
            body.insert("first_name".into(), json!(want.first_name));
        }
        if known.last_name.as_deref() != Some(&want.last_name) {
            body.insert("last_name".into(), json!(want.last_name));
        }
        if known.role.as_deref() != Some(&want.role) {
            body.insert("role".into(), json!(want.role));
        }
        let enabled_changed = known.enabled != Some(want.enabled);
        let separate_enabled =
            enabled_changed && self.disable_method == ContrastDisableMethod::EnabledPut;
        if enabled_changed && !separate_enabled {
            body.insert("enabled".into(), json!(want.enabled));
        }
        let mut called = false;
        if !body.is_empty() {
            let req = Request::new(Method::PUT, self.user_path(id)).json(Value::Object(body));
            self.call(req, log).await?;
            called = true;
        }
        if separate_enabled {
            let req = Request::new(Method::PUT, format!("{}/enabled", self.user_path(id)))
                .json(json!({ "enabled": want.enabled }));
            self.call(req, log).await?;
            called = true;
        }
        Ok(called)
    }

    pub(super) async fn converge_user(
        &self,
        d: &DesiredUser,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        // The Contrast username is the SCIM userName when it is an e-mail address (so a
        // userName change is seen as the rename Contrast cannot do), else the primary e-mail.
        let login = Some(d.user_name.trim())
            .filter(|u| u.contains('@'))
            .or_else(|| {
                d.email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| e.contains('@'))
            })
            .ok_or_else(|| {
                ConnectorError::permanent(format!(
                    "user {} has no e-mail address; Contrast usernames are e-mail addresses",
                    d.user_name
                ))
            })?
            .to_string();
        // Validate everything before any call.
        let want = self.desired_attrs(d, &login)?;
        let mut applied = link.applied.clone();

        if let Some(id) = &link.vendor_id {
            if let Some(old) = &link.vendor_key
                && !old.eq_ignore_ascii_case(&login)
            {
                return Err(ConnectorError::permanent(format!(
                    "Contrast usernames are immutable: cannot rename {old} to {login}; \
                     deprovision and re-create the user"
                )));
            }
            match self
                .apply(id, &Known::from_applied(&link.applied), &want, log)
                .await
            {
                Ok(called) => {
                    let (state, status) = state_of(want.enabled);
                    return Ok(SyncOutcome {
                        link: VendorLink {
                            vendor_id: Some(id.clone()),
                            vendor_key: link.vendor_key.clone().or(Some(login)),
                            vendor_status: Some(status.into()),
                            applied: applied_json(&want, &link.applied),
                        },
                        state,
                        note: called.then(|| "updated".to_string()),
                    });
                }
                // Vanished at the vendor: forget it and look up / create again.
                Err(e) if e.status == Some(404) => applied = retire(&applied, id),
                Err(e) => return Err(e.into()),
            }
        }

        let cached = match self.look_up(&login, log).await? {
            Lookup::Found(found) => return self.adopt(found, &want, &applied, &login, log).await,
            Lookup::Absent { cached } => cached,
        };

        if !want.enabled {
            return Ok(SyncOutcome {
                link: VendorLink {
                    vendor_id: None,
                    vendor_key: Some(login),
                    vendor_status: None,
                    applied,
                },
                state: SyncState::Deprovisioned,
                note: Some("not created at Contrast: the user is inactive".into()),
            });
        }

        let body = json!({
            "first_name": want.first_name,
            "last_name": want.last_name,
            "email": login,
            "role": want.role,
        });
        self.logins.posting(&login);
        let invited = self
            .call(
                Request::new(Method::POST, self.users_path()).json(body),
                log,
            )
            .await;
        self.logins.answered(&login);
        let a = match invited {
            Ok(a) => a,
            // Invited meanwhile (an admin, another replica's worker): the account is
            // there, so it is adopted, as the look-up above would have, not failed. A
            // refusal after a look-up from the index is checked the same way.
            Err(e) if refused_as_taken(e.status, cached) => {
                let found = self.find_user(&login, log).await?;
                let adopt = |u| self.adopt(u, &want, &applied, &login, log);
                return after_refusal("Contrast", &login, e, found, adopt).await;
            }
            Err(e) => return Err(e.into()),
        };
        let id = match invited_user_id(&a.body) {
            Some(id) => id,
            None => self
                .find_user(&login, log)
                .await?
                .and_then(|u| u.user_id)
                .ok_or_else(|| {
                    ConnectorError::retryable(format!(
                        "Contrast accepted the invitation for {login} but does not list the user yet"
                    ))
                })?,
        };
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: Some(id),
                vendor_key: Some(login),
                vendor_status: Some("invited".into()),
                applied: applied_json(&want, &applied),
            },
            state: SyncState::Synced,
            note: Some("invitation sent".into()),
        })
    }

    pub(super) async fn deleted_user(
        &self,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        let Some(id) = &link.vendor_id else {
            return Ok(SyncOutcome {
                link: link.clone(),
                state: SyncState::Deprovisioned,
                note: Some("nothing linked at Contrast".into()),
            });
        };
        let gone = |note: &str| SyncOutcome {
            link: VendorLink {
                vendor_id: None,
                vendor_key: link.vendor_key.clone(),
                vendor_status: Some("deleted".into()),
                applied: retire(&link.applied, id),
            },
            state: SyncState::Deprovisioned,
            note: Some(note.to_string()),
        };
        match self.on_delete {
            OnDelete::Delete => {
                let req = Request::new(Method::DELETE, self.user_path(id));
                match self.call(req, log).await {
                    Ok(_) => Ok(gone("deleted at Contrast")),
                    Err(e) if e.status == Some(404) => Ok(gone("already gone at Contrast")),
                    Err(e) => Err(e.into()),
                }
            }
            OnDelete::Disable => {
                let known = Known::from_applied(&link.applied);
                if known.enabled == Some(false) {
                    return Ok(SyncOutcome {
                        link: link.clone(),
                        state: SyncState::Deprovisioned,
                        note: None,
                    });
                }
                match self.disable(id, log).await {
                    Ok(()) => {
                        let mut applied = link.applied.as_object().cloned().unwrap_or_default();
                        applied.insert("enabled".into(), json!(false));
                        Ok(SyncOutcome {
                            link: VendorLink {
                                vendor_status: Some("disabled".into()),
                                applied: Value::Object(applied),
                                ..link.clone()
                            },
                            state: SyncState::Deprovisioned,
                            note: Some("disabled at Contrast".into()),
                        })
                    }
                    Err(e) if e.status == Some(404) => Ok(gone("already gone at Contrast")),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn disable(
        &self,
        id: &str,
        log: &CallLog,
    ) -> Result<(), crate::connectors::http::CallError> {
        let req = match self.disable_method {
            ContrastDisableMethod::UserPut => Request::new(Method::PUT, self.user_path(id)),
            ContrastDisableMethod::EnabledPut => {
                Request::new(Method::PUT, format!("{}/enabled", self.user_path(id)))
            }
        };
        self.call(req.json(json!({ "enabled": false })), log)
            .await?;
        Ok(())
    }
}

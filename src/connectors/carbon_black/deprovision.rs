//! Carbon Black deprovisioning: revoke the user's API keys, then DELETE the user.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{CarbonBlackConnector, MAX_PAGES, PAGE_ROWS};
use crate::config::KeyRevokeMethod;
use crate::connectors::http::{Request, id_string, segment};
use crate::connectors::{CallLog, ConnectorError, SyncOutcome, SyncState, VendorLink};

/// `applied` with `id` moved to `previous_user_ids` and `revoked` added to `revoked_keys`.
pub(super) fn retire(prev: &Value, id: &str, revoked: &[String]) -> Value {
    let mut m: Map<String, Value> = prev.as_object().cloned().unwrap_or_default();
    let mut push = |key: &str, items: &[&str]| {
        let mut list: Vec<Value> = m
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for it in items {
            if !list.iter().any(|v| v.as_str() == Some(it)) {
                list.push(json!(it));
            }
        }
        m.insert(key.into(), Value::Array(list));
    };
    push("previous_user_ids", &[id]);
    if !revoked.is_empty() {
        let r: Vec<&str> = revoked.iter().map(String::as_str).collect();
        push("revoked_keys", &r);
    }
    Value::Object(m)
}

/// The keys of one API-key listing page: `results`, `keys`, or the body itself as an array.
pub(crate) fn keys_page(body: &Value) -> Vec<Value> {
    body.get("results")
        .or_else(|| body.get("keys"))
        .or(Some(body))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn revoked_note(revoked: &[String]) -> Option<String> {
    match revoked.len() {
        0 => None,
        1 => Some(format!("revoked 1 API key: {}", revoked[0])),
        n => Some(format!("revoked {n} API keys: {}", revoked.join(", "))),
    }
}

fn is_last_admin(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("last admin") || m.contains("last_admin")
}

impl CarbonBlackConnector {
    fn keys_path(&self) -> String {
        format!("{}/apiaccess/key", self.org)
    }

    /// Does this key belong to the user (login, case-insensitive; or numeric user_id)?
    fn owns(&self, key: &Value, login: Option<&str>, user_id: &str) -> bool {
        match key.get(&self.key_owner_field) {
            Some(Value::String(s)) => {
                let s = s.trim();
                login.is_some_and(|l| s.eq_ignore_ascii_case(l))
                    || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s == user_id)
            }
            Some(Value::Number(n)) => n.to_string() == user_id,
            _ => false,
        }
    }

    /// Every API key's metadata (all pages when the answer says how many there are).
    async fn list_keys(&self, log: &CallLog) -> Result<Vec<Value>, ConnectorError> {
        let mut all: Vec<Value> = Vec::new();
        let mut req = Request::get(self.keys_path());
        for _ in 0..MAX_PAGES {
            let a = self.http.send(req, log).await?;
            let page = keys_page(&a.body);
            let len = page.len();
            all.extend(page);
            match super::num_found(&a.body) {
                Some(total) if len > 0 && (all.len() as u64) < total => {
                    req = Request::get(self.keys_path())
                        .query("start", all.len())
                        .query("rows", PAGE_ROWS);
                }
                _ => break,
            }
        }
        Ok(all)
    }

    /// Revokes each key of the user; returns the revoked key ids.
    async fn revoke_keys(
        &self,
        login: Option<&str>,
        user_id: &str,
        log: &CallLog,
    ) -> Result<Vec<String>, ConnectorError> {
        let mut revoked = Vec::new();
        for key in self.list_keys(log).await? {
            if !self.owns(&key, login, user_id) {
                continue;
            }
            let Some(kid) = id_string(key.get("id")) else {
                continue;
            };
            let path = format!("{}/{}", self.keys_path(), segment(&kid));
            let req = match self.key_revoke_method {
                KeyRevokeMethod::Delete => Request::new(Method::DELETE, path),
                KeyRevokeMethod::Disable => {
                    let status = key.get("status").and_then(Value::as_str).unwrap_or("");
                    if status.eq_ignore_ascii_case("DISABLED") {
                        continue;
                    }
                    Request::new(Method::PUT, path).json(json!({ "status": "DISABLED" }))
                }
            };
            match self.http.send(req, log).await {
                Ok(_) => revoked.push(kid),
                Err(e) if e.status == Some(404) => {}
                Err(e) => {
                    let mut err = ConnectorError::from(e);
                    if let Some(n) = revoked_note(&revoked) {
                        append(&mut err, &n);
                    }
                    return Err(err);
                }
            }
        }
        Ok(revoked)
    }

    /// Revokes keys (when configured), then deletes the user. `login_hint` is the SCIM
    /// userName when the user still exists in SCIM.
    pub(super) async fn deprovision(
        &self,
        link: &VendorLink,
        login_hint: Option<&str>,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        // Not linked: an earlier create may still have reached Carbon Black (a crash or a
        // 5xx after the vendor applied it), so look the login up before calling it gone.
        let found = match (&link.vendor_id, link.vendor_key.as_deref().or(login_hint)) {
            (None, Some(login)) => self.find_user(login, log).await?.and_then(|u| u.user_id),
            _ => None,
        };
        let Some(id) = link.vendor_id.as_ref().or(found.as_ref()) else {
            return Ok(SyncOutcome {
                link: link.clone(),
                state: SyncState::Deprovisioned,
                note: Some("no Carbon Black user linked".into()),
            });
        };
        let login = link.vendor_key.as_deref().or(login_hint);
        let revoked = if self.revoke_api_keys {
            self.revoke_keys(login, id, log).await?
        } else {
            Vec::new()
        };
        let note = revoked_note(&revoked);
        let req = Request::new(Method::DELETE, self.user_path(id));
        let gone_note = match self.http.send(req, log).await {
            Ok(_) => None,
            Err(e) if e.status == Some(404) => Some("user already gone at Carbon Black"),
            Err(e) => {
                let mut err = if e.status.is_some_and(|s| (400..500).contains(&s))
                    && is_last_admin(&e.vendor_message)
                {
                    ConnectorError::permanent(format!(
                        "Carbon Black refuses to delete the last administrator (login {}); \
                         assign another administrator first",
                        login.unwrap_or(id)
                    ))
                } else {
                    e.error
                };
                if let Some(n) = &note {
                    append(&mut err, n);
                }
                return Err(err);
            }
        };
        let note = match (note, gone_note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b.map(str::to_string)),
        };
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: None,
                vendor_key: link.vendor_key.clone().or(login_hint.map(str::to_string)),
                vendor_status: Some("DELETED".into()),
                applied: retire(&link.applied, id, &revoked),
            },
            state: SyncState::Deprovisioned,
            note,
        })
    }
}

/// Adds what was already done to an error's message (it cannot carry the link).
fn append(err: &mut ConnectorError, extra: &str) {
    match err {
        ConnectorError::Retryable { message, .. } | ConnectorError::Permanent { message } => {
            message.push_str(&format!(" ({extra})"));
        }
    }
}

//! Contrast access-group membership: the whole member list is PUT at once.
//!
//! The group id comes from `targets.<name>.groups[displayName]`, else the id found earlier
//! (the link), else a lookup by name in `GET /{org}/groups`. The listing's shape is not in
//! the vendor notes: groups are read from `groups`, `custom_groups` or `predefined_groups`,
//! the id from `group_id` or `id`. A listing answered 404/405 means "cannot list": Unmapped.

use reqwest::Method;
use serde_json::{Value, json};

use super::ContrastConnector;
use crate::config::ContrastGroupMethod;
use crate::connectors::http::{CallError, Request, id_string, segment};
use crate::connectors::{
    CallLog, ConnectorError, DesiredGroup, SyncOutcome, SyncState, VendorLink,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Config,
    Link,
    Lookup,
}

fn applied_ids(v: &Value) -> Option<Vec<String>> {
    v.get("user_ids")?
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// One `GET /groups` page: pushes its (id, name) pairs onto `found`; returns the number of
/// entries and the first entry's id (the pager's progress check).
pub(crate) fn groups_page(
    body: &Value,
    found: &mut Vec<(String, String)>,
) -> (usize, Option<String>) {
    let mut len = 0;
    let mut first = None;
    for key in ["groups", "custom_groups", "predefined_groups"] {
        for g in body
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            len += 1;
            let id = id_string(g.get("group_id")).or_else(|| id_string(g.get("id")));
            let gname = g.get("name").and_then(Value::as_str);
            if first.is_none() {
                first = id.clone();
            }
            if let (Some(id), Some(n)) = (id, gname) {
                found.push((id, n.to_string()));
            }
        }
    }
    (len, first)
}

impl ContrastConnector {
    fn group_body(&self, name: &str, ids: &[String]) -> Value {
        let users: Vec<Value> = ids.iter().map(|id| json!({ "user_id": id })).collect();
        match self.group_method {
            ContrastGroupMethod::UsersPut => json!({ "users": users }),
            ContrastGroupMethod::GroupPut => json!({ "name": name, "users": users }),
        }
    }

    async fn put_members(
        &self,
        gid: &str,
        name: &str,
        ids: &[String],
        log: &CallLog,
    ) -> Result<(), CallError> {
        let path = match self.group_method {
            ContrastGroupMethod::UsersPut => format!("{}/groups/{}/users", self.org, segment(gid)),
            ContrastGroupMethod::GroupPut => format!("{}/groups/{}", self.org, segment(gid)),
        };
        let req = Request::new(Method::PUT, path).json(self.group_body(name, ids));
        self.call(req, log).await.map(|_| ())
    }

    /// Finds an access group id by its name (exact, then case-insensitive).
    pub async fn find_group(
        &self,
        name: &str,
        log: &CallLog,
    ) -> Result<Option<String>, ConnectorError> {
        let mut found: Vec<(String, String)> = Vec::new();
        let res = self
            .paged(&format!("{}/groups", self.org), log, |body| {
                let (len, first) = groups_page(body, &mut found);
                let hit = found.iter().any(|(_, n)| n == name);
                (len, first, hit)
            })
            .await;
        match res {
            Ok(()) => {}
            Err(e) if matches!(e.status, Some(404) | Some(405)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let exact = found.iter().find(|(_, n)| n == name);
        let loose = || found.iter().find(|(_, n)| n.eq_ignore_ascii_case(name));
        Ok(exact.or_else(loose).map(|(id, _)| id.clone()))
    }

    fn unmapped(&self, g: &DesiredGroup, link: &VendorLink) -> SyncOutcome {
        SyncOutcome {
            link: VendorLink {
                vendor_id: None,
                vendor_key: Some(g.display_name.clone()),
                ..link.clone()
            },
            state: SyncState::Unmapped,
            note: Some(format!(
                "no Contrast access group for SCIM group {}; add targets.{}.groups",
                g.display_name, self.target
            )),
        }
    }

    pub(super) async fn converge_group(
        &self,
        g: &DesiredGroup,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        let (mut gid, mut source) = if let Some(id) = self.groups.get(&g.display_name) {
            (id.clone(), Source::Config)
        } else if let Some(id) = &link.vendor_id {
            (id.clone(), Source::Link)
        } else {
            match self.find_group(&g.display_name, log).await? {
                Some(id) => (id, Source::Lookup),
                None => return Ok(self.unmapped(g, link)),
            }
        };

        let mut ids: Vec<String> = g
            .members
            .iter()
            .filter_map(|m| m.vendor_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let missing = g.members.iter().filter(|m| m.vendor_id.is_none()).count();
        let note_missing = (missing > 0).then(|| format!("{missing} members not yet provisioned"));

        let same_group = link.applied.get("group_id").and_then(Value::as_str) == Some(gid.as_str());
        if same_group && applied_ids(&link.applied).as_deref() == Some(ids.as_slice()) {
            return Ok(SyncOutcome {
                link: VendorLink {
                    vendor_id: Some(gid),
                    vendor_key: Some(g.display_name.clone()),
                    ..link.clone()
                },
                state: SyncState::Synced,
                note: note_missing,
            });
        }

        loop {
            match self.put_members(&gid, &g.display_name, &ids, log).await {
                Ok(()) => break,
                // A remembered id went stale: look the group up by name once.
                Err(e) if e.status == Some(404) && source == Source::Link => {
                    match self.find_group(&g.display_name, log).await? {
                        Some(id) if id != gid => {
                            gid = id;
                            source = Source::Lookup;
                        }
                        _ => return Ok(self.unmapped(g, link)),
                    }
                }
                Err(e) if e.status == Some(404) => {
                    return Err(ConnectorError::permanent(format!(
                        "Contrast access group {gid} (for SCIM group {}) does not exist: {}",
                        g.display_name, e.vendor_message
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let note_moved = self.empty_previous_group(&gid, link, log).await?;
        let note = match (note_moved, note_missing) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        Ok(SyncOutcome {
            link: VendorLink {
                vendor_id: Some(gid.clone()),
                vendor_key: Some(g.display_name.clone()),
                vendor_status: None,
                applied: json!({ "group_id": gid, "user_ids": ids }),
            },
            state: SyncState::Synced,
            note,
        })
    }

    /// The SCIM group now maps to `gid` (its `groups` entry changed): the access group it
    /// filled before is emptied, after the new one was filled, so moving a mapping does
    /// not leave the old group's access behind. Left alone when another `groups` entry
    /// maps to it.
    async fn empty_previous_group(
        &self,
        gid: &str,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<Option<String>, ConnectorError> {
        let Some(old) = link.applied.get("group_id").and_then(Value::as_str) else {
            return Ok(None);
        };
        if old == gid || applied_ids(&link.applied).is_none_or(|v| v.is_empty()) {
            return Ok(None);
        }
        if self.groups.values().any(|v| v == old) {
            return Ok(Some(format!(
                "moved from access group {old}, left as is: another `groups` entry maps to it"
            )));
        }
        let name = link.vendor_key.clone().unwrap_or_default();
        match self.put_members(old, &name, &[], log).await {
            Ok(()) => Ok(Some(format!("moved from access group {old}, emptied it"))),
            Err(e) if e.status == Some(404) => Ok(Some(format!(
                "moved from access group {old}, which is gone"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn deleted_group(
        &self,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError> {
        let done = |note: Option<&str>| SyncOutcome {
            link: VendorLink {
                applied: json!({
                    "group_id": link.vendor_id,
                    "user_ids": Vec::<String>::new(),
                }),
                ..link.clone()
            },
            state: SyncState::Deprovisioned,
            note: note.map(str::to_string),
        };
        let Some(gid) = &link.vendor_id else {
            return Ok(SyncOutcome {
                link: link.clone(),
                state: SyncState::Deprovisioned,
                note: None,
            });
        };
        if applied_ids(&link.applied).is_some_and(|v| v.is_empty()) {
            return Ok(done(None));
        }
        let name = link.vendor_key.clone().unwrap_or_default();
        match self.put_members(gid, &name, &[], log).await {
            Ok(()) => Ok(done(Some("emptied the Contrast access group"))),
            Err(e) if e.status == Some(404) => Ok(done(Some("access group already gone"))),
            Err(e) => Err(e.into()),
        }
    }
}

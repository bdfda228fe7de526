//! SCIM operations one layer below the HTTP handlers: canonicalise, check preconditions,
//! call the store (which owns the transaction), render.

use serde_json::{Map, Value, json};

use super::ResourceType;
use super::answers::location_of;
pub use super::answers::{PatchAnswer, Projection, Rendered, Shown};
use super::canonical::canonicalize;
use super::error::ScimError;
use super::list_body::{resource_json, spliceable};
use super::members::members_value;
pub use super::members::take_members;
use super::patch::{apply_patch, named_members, parse_patch};
use super::projection::project;
use super::render::{Links, render};
use crate::state::{AppState, TargetInfo};
use crate::store::StoreError;
use crate::store::resources::{MemberInput, ResourceWrite, StoredResource};

/// Who and where: the authenticated target and its SCIM base URL.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub target: &'a TargetInfo,
    /// `{base}/scim/v2/{target}`
    pub base: String,
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(msg) => ScimError::uniqueness(msg),
            StoreError::NotFound => ScimError::not_found("resource not found"),
            StoreError::VersionMismatch { current } => ScimError::precondition_failed(format!(
                "If-Match does not match the current version W/\"{current}\""
            )),
            StoreError::Unavailable(msg) | StoreError::Contention(msg) => {
                ScimError::Unavailable(msg)
            }
            StoreError::Invalid(msg) => ScimError::invalid_value(msg),
            other => ScimError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Retries a store write that lost a deadlock or serialisation race (Postgres), a few times
/// with a short growing pause; then the IdP gets a retryable 503.
async fn retry_contention<T, F, Fut>(mut write: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0u32;
    loop {
        match write().await {
            Err(StoreError::Contention(_)) if tries < 4 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5u64 << tries)).await;
            }
            other => return other,
        }
    }
}

/// How many times a PATCH is re-applied to a newer version before it gives up (`patch`).
const PATCH_TRIES: usize = 32;

fn not_found(rt: ResourceType, id: &str) -> ScimError {
    ScimError::not_found(format!("{} `{id}` not found", rt.as_str()))
}

/// Removes server-owned keys a document may carry.
fn strip_server_keys(doc: &mut Map<String, Value>) {
    for k in ["id", "meta", "groups"] {
        doc.remove(k);
    }
}

impl Ctx<'_> {
    pub(super) fn enrichment(&self) -> Option<&str> {
        self.target.enrichment_source.as_deref()
    }

    async fn load(&self, rt: ResourceType, id: &str) -> Result<StoredResource, ScimError> {
        self.state
            .store
            .get_resource(&self.target.name, rt, id, self.enrichment())
            .await?
            .ok_or_else(|| not_found(rt, id))
    }

    pub async fn get(
        &self,
        rt: ResourceType,
        id: &str,
        attrs: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Shown, ScimError> {
        let r = self
            .state
            .store
            .get_listed_resource(&self.target.name, rt, id, self.enrichment())
            .await?
            .ok_or_else(|| not_found(rt, id))?;
        // Without enrichment or projection, the stored JSON goes out as stored (as in pages).
        let enriched = self.enrichment().is_some() && rt == ResourceType::User;
        if !enriched && attrs.is_none() && excluded.is_none() && spliceable(&r) {
            let body = resource_json(&r, &self.base).map_err(|e| ScimError::Internal(e.into()))?;
            return Ok(Shown::Text {
                body,
                version: r.version,
            });
        }
        let r = r.parse()?;
        self.show(r, attrs, excluded).await.map(Shown::Tree)
    }

    pub async fn create(
        &self,
        rt: ResourceType,
        body: &Value,
        shape: Projection<'_>,
    ) -> Result<Rendered, ScimError> {
        let mut doc = canonicalize(rt, body)?;
        strip_server_keys(&mut doc);
        let members = match rt {
            ResourceType::Group => Some(take_members(&mut doc)?),
            ResourceType::User => None,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let w = ResourceWrite {
            target: &self.target.name,
            resource_type: rt,
            id: &id,
            data: &doc,
            members: members.as_deref(),
            now_ms: self.state.clock.now_ms(),
            method: "POST",
        };
        let stored = retry_contention(|| self.state.store.create_resource(&w)).await?;
        self.state.wake.notify_waiters();
        if rt == ResourceType::User && self.enrichment().is_none() {
            // A new user is in no group yet and has no enrichment: render what was written
            // instead of reading it back (two round trips fewer per POST).
            let version = stored.version;
            let mut body = render(stored, &self.base, Some(&Links::new()), false);
            let location = location_of(&body);
            project(rt, &mut body, shape.attributes, shape.excluded)?;
            return Ok(Rendered {
                body,
                version,
                location,
            });
        }
        let r = self.load(rt, &id).await?;
        self.show(r, shape.attributes, shape.excluded).await
    }

    /// Checks `If-Match` against the current version; returns the version to write against.
    fn precondition(if_match: &Option<Option<Vec<i64>>>, current: i64) -> Result<(), ScimError> {
        match if_match {
            Some(Some(versions)) if !versions.contains(&current) => {
                Err(ScimError::precondition_failed(format!(
                    "If-Match does not match the current version W/\"{current}\""
                )))
            }
            _ => Ok(()),
        }
    }

    pub async fn replace(
        &self,
        rt: ResourceType,
        id: &str,
        body: &Value,
        if_match: Option<Option<Vec<i64>>>,
        shape: Projection<'_>,
    ) -> Result<Rendered, ScimError> {
        let mut doc = canonicalize(rt, body)?;
        strip_server_keys(&mut doc);
        let members = match rt {
            ResourceType::Group => Some(take_members(&mut doc)?),
            ResourceType::User => None,
        };
        // The store's transaction checks the version it replaces (a missing id is NotFound,
        // another version VersionMismatch), so only an If-Match naming several versions reads
        // the current one first. `If-Match: *` asks only that the resource exists.
        let expected = match &if_match {
            Some(Some(versions)) if versions.len() != 1 => {
                let cur = self.load(rt, id).await?;
                Self::precondition(&if_match, cur.version)?;
                Some(cur.version)
            }
            Some(Some(versions)) => versions.first().copied(),
            Some(None) | None => None,
        };
        let w = ResourceWrite {
            target: &self.target.name,
            resource_type: rt,
            id,
            data: &doc,
            members: members.as_deref(),
            now_ms: self.state.clock.now_ms(),
            method: "PUT",
        };
        let written =
            match retry_contention(|| self.state.store.replace_resource(&w, expected)).await {
                Err(StoreError::NotFound) => return Err(not_found(rt, id)),
                other => other?,
            };
        self.state.wake.notify_waiters();
        self.show_written(written, shape).await
    }

    /// Applies a PatchOp message. Concurrent writers are handled optimistically: the patch is
    /// re-applied to the newest version (unless the client pinned one with If-Match). Each
    /// lost race means another writer committed, so n parallel PATCHes of one resource (Entra
    /// ID's member adds) need at most n tries each; past `PATCH_TRIES` the IdP gets a 409.
    pub async fn patch(
        &self,
        rt: ResourceType,
        id: &str,
        body: &Value,
        if_match: Option<Option<Vec<i64>>>,
        answer: PatchAnswer,
        shape: Projection<'_>,
    ) -> Result<Rendered, ScimError> {
        let ops = parse_patch(body)?;
        // Okta's and Entra's member adds and removes name their members: only those are
        // read and written, whatever the group's size (`patch/named_members.rs`).
        let mut named = match rt {
            // An id with U+0000 names no member: no stored value holds one, and Postgres
            // could not bind it.
            ResourceType::Group => named_members(&ops).map(|mut ids| {
                ids.retain(|id| !id.contains('\0'));
                ids
            }),
            ResourceType::User => None,
        };
        for _ in 0..PATCH_TRIES {
            let cur = match &named {
                Some(ids) => self
                    .state
                    .store
                    .group_with_named_members(&self.target.name, id, ids)
                    .await?
                    .ok_or_else(|| not_found(rt, id))?,
                None => self.load(rt, id).await?,
            };
            Self::precondition(&if_match, cur.version)?;
            let mut doc = cur.data.clone();
            doc.insert("id".into(), json!(id));
            let old_members = match rt {
                ResourceType::Group => {
                    let links = self.links(&cur).await?;
                    doc.insert("members".into(), members_value(&links));
                    Some(
                        links
                            .into_iter()
                            .map(|(id, display)| MemberInput { id, display })
                            .collect::<Vec<_>>(),
                    )
                }
                ResourceType::User => None,
            };
            apply_patch(rt, &mut doc, &ops)?;
            strip_server_keys(&mut doc);
            let members = match rt {
                ResourceType::Group => Some(take_members(&mut doc)?),
                ResourceType::User => None,
            };
            if let (Some(ids), Some(members)) = (&named, &members)
                && members.iter().any(|m| !ids.contains(&m.id))
            {
                // A member the operations did not name by its id as stored (not expected:
                // ids are kept as sent): apply the PATCH to the whole list instead.
                named = None;
                continue;
            }
            if doc == cur.data && members == old_members {
                // Nothing changed: no new version, no job. The answer lists every member.
                if answer == PatchAnswer::Version {
                    return Ok(Rendered::version_only(cur.version));
                }
                let mut cur = cur;
                if named.is_some() {
                    cur.links = None;
                }
                if rt == ResourceType::Group && !shape.shows_members() {
                    cur.links = Some(Links::new());
                }
                return self.show(cur, shape.attributes, shape.excluded).await;
            }
            let w = ResourceWrite {
                target: &self.target.name,
                resource_type: rt,
                id,
                data: &doc,
                members: members.as_deref(),
                now_ms: self.state.clock.now_ms(),
                method: "PATCH",
            };
            let version = cur.version;
            let store = &self.state.store;
            let named_ids = named.as_deref();
            let written = retry_contention(|| async {
                match named_ids {
                    Some(ids) => store.replace_named_members(&w, ids, version).await,
                    None => store.replace_resource(&w, Some(version)).await,
                }
            });
            match written.await {
                Err(StoreError::VersionMismatch { .. }) if if_match.is_none() => continue,
                Err(e) => return Err(e.into()),
                Ok(written) => {
                    self.state.wake.notify_waiters();
                    if answer == PatchAnswer::Version {
                        return Ok(Rendered::version_only(written.version));
                    }
                    return self.show_written(written, shape).await;
                }
            }
        }
        Err(ScimError::status(
            axum::http::StatusCode::CONFLICT,
            "the resource kept changing concurrently; retry the PATCH",
        ))
    }

    pub async fn delete(
        &self,
        rt: ResourceType,
        id: &str,
        if_match: Option<Option<Vec<i64>>>,
    ) -> Result<(), ScimError> {
        // As a read of that id finds nothing (`Store::get_listed_resource`).
        if id.contains('\0') {
            return Err(not_found(rt, id));
        }
        let expected = match &if_match {
            Some(_) => {
                let cur = self.load(rt, id).await?;
                Self::precondition(&if_match, cur.version)?;
                Some(cur.version)
            }
            None => None,
        };
        let now = self.state.clock.now_ms();
        let t = &self.target.name;
        match retry_contention(|| self.state.store.delete_resource(t, rt, id, expected, now)).await
        {
            Err(StoreError::NotFound) => Err(not_found(rt, id)),
            Err(e) => Err(e.into()),
            Ok(()) => {
                self.state.wake.notify_waiters();
                Ok(())
            }
        }
    }
}

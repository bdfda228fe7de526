//! What a SCIM operation answers with: the rendered resource and its version, the
//! projection a request asked for (RFC 7644 §3.9, writes included), and the reads that
//! render a resource with its membership.

use serde_json::{Map, Value, json};

use super::ResourceType;
use super::error::ScimError;
use super::projection::project;
use super::render::{Links, render};
use super::service::Ctx;
use crate::store::resources::StoredResource;

/// A rendered resource and its version (for the ETag header).
pub struct Rendered {
    pub body: Map<String, Value>,
    pub version: i64,
    /// `meta.location`, kept for a 201's `Location` even when the projection drops `meta`.
    pub location: Option<String>,
}

impl Rendered {
    /// An answer without a body (a 204): the version alone, for the `ETag`.
    pub(super) fn version_only(version: i64) -> Self {
        Rendered {
            body: Map::new(),
            version,
            location: None,
        }
    }
}

/// What a PATCH answers with: the resource, or only its new version (a 204).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchAnswer {
    Resource,
    Version,
}

/// `attributes` / `excludedAttributes` of a request, for any answer carrying a resource
/// (RFC 7644 §3.9), writes included.
#[derive(Debug, Clone, Copy, Default)]
pub struct Projection<'a> {
    pub attributes: Option<&'a str>,
    pub excluded: Option<&'a str>,
}

impl Projection<'_> {
    /// Whether a group's answer lists its members (when not, they are not read).
    pub(super) fn shows_members(&self) -> bool {
        let mut probe = Map::from_iter([("members".to_string(), json!([{"value": "m"}]))]);
        project(
            ResourceType::Group,
            &mut probe,
            self.attributes,
            self.excluded,
        )
        .is_ok()
            && probe.contains_key("members")
    }
}

/// `meta.location` of a rendered resource.
pub(super) fn location_of(body: &Map<String, Value>) -> Option<String> {
    body.get("meta")?
        .get("location")?
        .as_str()
        .map(str::to_owned)
}

/// A single GET's answer: a rendered tree, or JSON text written from the stored JSON as
/// stored (`list_body::spliceable`), as pages write theirs.
pub enum Shown {
    Tree(Rendered),
    Text { body: Vec<u8>, version: i64 },
}

impl Ctx<'_> {
    pub(super) async fn links(&self, r: &StoredResource) -> Result<Links, ScimError> {
        if let Some(links) = &r.links {
            return Ok(links.clone());
        }
        let ids = std::slice::from_ref(&r.id);
        let store = &self.state.store;
        let t = &self.target.name;
        let mut m = match r.resource_type {
            ResourceType::User => store.groups_of(t, ids).await?,
            ResourceType::Group => store.members_of(t, ids).await?,
        };
        Ok(m.remove(&r.id).unwrap_or_default())
    }

    /// Renders `r` (moved into the answer, not copied) and applies the projection.
    pub async fn show(
        &self,
        r: StoredResource,
        attrs: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Rendered, ScimError> {
        let links = self.links(&r).await?;
        let (rt, version) = (r.resource_type, r.version);
        let mut body = render(r, &self.base, Some(&links), self.enrichment().is_some());
        let location = location_of(&body);
        project(rt, &mut body, attrs, excluded)?;
        Ok(Rendered {
            body,
            version,
            location,
        })
    }

    /// The answer to a PUT or PATCH: the resource as this request wrote it, with the version
    /// its transaction gave it (a read after the commit could show a later writer's data).
    /// Membership and enrichment are not part of the write: they come from the shared read
    /// by id (`store/id_lookups.rs`), which costs less than a query of their own.
    pub(super) async fn show_written(
        &self,
        mut written: StoredResource,
        shape: Projection<'_>,
    ) -> Result<Rendered, ScimError> {
        let (t, rt) = (&self.target.name, written.resource_type);
        let store = &self.state.store;
        if rt == ResourceType::Group && !shape.shows_members() {
            // Groups have no enrichment: with `members` not shown there is nothing to read.
            written.links = Some(Links::new());
        } else if let Some(read) = store
            .get_resource(t, rt, &written.id, self.enrichment())
            .await?
        {
            written.links = read.links;
            written.enrichment = read.enrichment;
        }
        self.show(written, shape.attributes, shape.excluded).await
    }
}

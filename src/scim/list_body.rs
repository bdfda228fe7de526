//! The body of a list answer (`ListResponse`) or of a single GET, written as JSON text.
//!
//! A resource whose stored JSON needs no change is spliced in as stored, not parsed into a
//! tree and serialized again: `{"id":…,` then the stored object's members, the membership,
//! `"meta":{…}}`. That is what `render::render` shows without enrichment (the same members;
//! the order of keys aside) at a fraction of the cost of a 100-resource page
//! (docs/performance.md, round 13). Enriched users and answers with `attributes` or
//! `excludedAttributes` are rendered as trees.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::ser::Error as _;
use serde_json::{Map, Value};

use super::LIST_RESPONSE_SCHEMA;
use super::ResourceType;
use super::projection::hidden_names;
use super::render::{Meta, group_members, user_groups};
use crate::store::resource_reads::ListedResource;

/// One resource of a list answer.
#[derive(Debug)]
pub enum ListItem {
    /// Rendered and projected.
    Tree(Map<String, Value>),
    /// Written from its stored JSON (checked by `spliceable`).
    Spliced(Box<ListedResource>),
}

/// A list answer: `totalResults`, `startIndex` and the resources.
#[derive(Debug)]
pub struct ListPage {
    pub total: i64,
    pub start: i64,
    pub items: Vec<ListItem>,
}

/// Keys the answer sets itself. Canonical JSON holds none of them (`canonical/mod.rs`,
/// `members::take_members`), so the check in `spliceable` is a guard, not a path taken.
const SERVER_KEYS: [&str; 4] = ["id", "meta", "groups", "members"];

/// The members of a JSON object, as text between its braces; None when it is not an object.
fn object_members(raw: &str) -> Option<&str> {
    Some(raw.trim().strip_prefix('{')?.strip_suffix('}')?.trim())
}

/// `"name"` finders for the splice check of one resource type.
struct SpliceGuard {
    schemas: Finder<'static>,
    /// The server keys and the attributes not shown by default.
    refused: Vec<Finder<'static>>,
}

impl SpliceGuard {
    fn new(rt: ResourceType) -> Self {
        let quoted = |name: &str| Finder::new(format!("\"{name}\"").as_bytes()).into_owned();
        SpliceGuard {
            schemas: quoted("schemas"),
            refused: SERVER_KEYS
                .into_iter()
                .chain(hidden_names(rt))
                .map(quoted)
                .collect(),
        }
    }

    fn of(rt: ResourceType) -> &'static SpliceGuard {
        static USER: LazyLock<SpliceGuard> = LazyLock::new(|| SpliceGuard::new(ResourceType::User));
        static GROUP: LazyLock<SpliceGuard> =
            LazyLock::new(|| SpliceGuard::new(ResourceType::Group));
        match rt {
            ResourceType::User => &USER,
            ResourceType::Group => &GROUP,
        }
    }
}

/// Whether `r` can be written from its stored JSON: an object with `schemas` that mentions
/// no server key and no attribute an answer does not show by default
/// (`projection::hidden_names`). `"name"` anywhere counts, so a value equal to such a name
/// also sends the resource to the tree renderer: a cost, not a wrong answer.
pub fn spliceable(r: &ListedResource) -> bool {
    let Some(members) = object_members(r.data.get()) else {
        return false;
    };
    let guard = SpliceGuard::of(r.resource_type);
    let text = members.as_bytes();
    guard.schemas.find(text).is_some() && guard.refused.iter().all(|f| f.find(text).is_none())
}

fn write_spliced(out: &mut Vec<u8>, r: &ListedResource, base: &str) -> serde_json::Result<()> {
    let members = object_members(r.data.get())
        .ok_or_else(|| serde_json::Error::custom("stored resource JSON is not an object"))?;
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &r.id)?;
    if !members.is_empty() {
        out.push(b',');
        out.extend_from_slice(members.as_bytes());
    }
    match r.resource_type {
        ResourceType::User => {
            if let Some(groups) = r.links.as_ref().filter(|l| !l.is_empty()) {
                out.extend_from_slice(b",\"groups\":");
                serde_json::to_writer(&mut *out, &user_groups(groups, base))?;
            }
        }
        ResourceType::Group => {
            out.extend_from_slice(b",\"members\":");
            serde_json::to_writer(&mut *out, &group_members(r.links.as_ref(), base))?;
        }
    }
    out.extend_from_slice(b",\"meta\":");
    let meta = Meta::new(
        r.resource_type,
        &r.id,
        &r.created,
        &r.last_modified,
        r.version,
        base,
    );
    serde_json::to_writer(&mut *out, &meta)?;
    out.push(b'}');
    Ok(())
}

/// One resource as JSON text, written from its stored JSON (for a single GET; `spliceable`
/// must hold).
pub fn resource_json(r: &ListedResource, base: &str) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(r.data.get().len() + 256);
    write_spliced(&mut out, r, base)?;
    Ok(out)
}

impl ListPage {
    /// The `ListResponse` as JSON text; `base` is the target's SCIM base for `meta.location`
    /// and `$ref`s of spliced items.
    pub fn to_json(&self, base: &str) -> serde_json::Result<Vec<u8>> {
        let size: usize = self
            .items
            .iter()
            .map(|i| match i {
                ListItem::Spliced(r) => r.data.get().len() + 256,
                ListItem::Tree(_) => 1024,
            })
            .sum();
        let mut out = Vec::with_capacity(size + 160);
        let head = format!(
            "{{\"schemas\":[\"{LIST_RESPONSE_SCHEMA}\"],\"totalResults\":{},\"startIndex\":{},\"itemsPerPage\":{},\"Resources\":[",
            self.total,
            self.start,
            self.items.len()
        );
        out.extend_from_slice(head.as_bytes());
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            match item {
                ListItem::Tree(m) => serde_json::to_writer(&mut out, m)?,
                ListItem::Spliced(r) => write_spliced(&mut out, r, base)?,
            }
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

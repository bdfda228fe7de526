//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) on an outgoing resource.
//!
//! Decisions:
//! - `id` (returned: always) and `schemas` (not an attribute, needed to read the resource) are
//!   always kept and cannot be excluded;
//! - `meta` is treated as `returned: default` (RFC 7644 §3.9's `attributes=userName` example
//!   returns no `meta`): requested explicitly (`meta`, `meta.lastModified`) it is kept;
//! - `returned: never` attributes (`password`) are always removed; `returned: request` ones
//!   only appear when named in `attributes` (there are none in the catalog today);
//! - names are URN-qualified or not, case-insensitive, with optional sub-attributes
//!   (`name.givenName`, `emails.value`: each element keeps only the named sub-attributes); an
//!   extension URN alone selects the whole extension;
//! - unknown names are ignored (RFC 7644 §3.4.2.5 describes no error for them), so this never
//!   fails on client input (an `attributes` list with no names at all counts as absent); when both parameters are given, `attributes` selects first and
//!   `excludedAttributes` then removes.

use serde_json::{Map, Value};

use crate::scim::ResourceType;
use crate::scim::canonical::{get_path, set_path};
use crate::scim::error::ScimError;
use crate::scim::schema::{self, AttrDef, Returned};

/// A selected attribute: its storage path (without sub-attribute) and which sub-attributes.
struct Sel {
    path: Vec<&'static str>,
    attr: Option<&'static AttrDef>,
    /// None: the whole attribute.
    subs: Option<Vec<&'static str>>,
}

fn parse_list(rt: ResourceType, list: &str) -> Vec<Sel> {
    let mut out: Vec<Sel> = Vec::new();
    for token in list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .take(200)
    {
        let Ok((sd, rest)) = schema::split_urn(rt, token) else {
            continue;
        };
        let sel = if rest.is_empty() {
            match sd {
                Some(sd) if !std::ptr::eq(sd, schema::core_schema(rt)) => Sel {
                    path: vec![sd.id],
                    attr: None,
                    subs: None,
                },
                _ => continue,
            }
        } else {
            let (name, sub) = match rest.split_once('.') {
                Some((n, s)) => (n, Some(s)),
                None => (rest, None),
            };
            let Some(r) = schema::resolve(rt, sd.map(|s| s.id), name, sub) else {
                continue;
            };
            let n = r.json_path.len() - usize::from(r.sub.is_some());
            Sel {
                path: r.json_path[..n].to_vec(),
                attr: Some(r.attr),
                subs: r.sub.map(|s| vec![s.name]),
            }
        };
        match out.iter_mut().find(|s| s.path == sel.path) {
            Some(existing) => match (&mut existing.subs, sel.subs) {
                (Some(have), Some(more)) => have.extend(more),
                (have, _) => *have = None,
            },
            None => out.push(sel),
        }
    }
    out
}

fn keep_subs(v: &Value, subs: &[&str]) -> Value {
    let pick = |o: &Map<String, Value>| {
        Value::Object(
            o.iter()
                .filter(|(k, _)| subs.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|e| e.as_object().map_or(e.clone(), pick))
                .collect(),
        ),
        Value::Object(o) => pick(o),
        other => other.clone(),
    }
}

fn drop_sub(v: &mut Value, sub: &str) {
    match v {
        Value::Array(a) => a.iter_mut().filter_map(Value::as_object_mut).for_each(|o| {
            o.remove(sub);
        }),
        Value::Object(o) => {
            o.remove(sub);
        }
        _ => {}
    }
}

/// Attributes whose `returned` is `never` or (unless requested) `request`, with storage paths.
fn hidden(rt: ResourceType, requested: &[Sel]) -> Vec<Vec<&'static str>> {
    let mut out = Vec::new();
    let mut add = |prefix: Option<&'static str>, a: &'static AttrDef| {
        let path: Vec<&'static str> = prefix.into_iter().chain([a.name]).collect();
        let asked = requested.iter().any(|s| s.path == path);
        if a.returned == Returned::Never || (a.returned == Returned::Request && !asked) {
            out.push(path);
        }
    };
    for a in schema::core_schema(rt)
        .attributes
        .iter()
        .chain(schema::common_attributes())
    {
        add(None, a);
    }
    for ext in schema::extensions(rt) {
        for a in ext.attributes {
            add(Some(ext.id), a);
        }
    }
    out
}

/// Names of the attributes an answer without `attributes` does not show (`returned: never`,
/// or `request` when not asked for): a stored object holding none of them needs no
/// projection (`list_body::spliceable`).
pub fn hidden_names(rt: ResourceType) -> Vec<&'static str> {
    hidden(rt, &[])
        .into_iter()
        .filter_map(|p| p.last().copied())
        .collect()
}

/// Applies `attributes` / `excludedAttributes` (comma-separated) to an outgoing resource.
/// Never fails on client input; the `Result` is kept for the handler's convenience.
pub fn project(
    rt: ResourceType,
    resource: &mut Map<String, Value>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<(), ScimError> {
    let requested = match attributes.map(str::trim) {
        Some(list) if list.split(',').any(|t| !t.trim().is_empty()) => Some(parse_list(rt, list)),
        _ => None,
    };
    if let Some(sels) = &requested {
        let mut out = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = resource.get(key) {
                out.insert(key.to_string(), v.clone());
            }
        }
        for s in sels {
            let Some(v) = get_path(resource, &s.path) else {
                continue;
            };
            let v = match &s.subs {
                None => v.clone(),
                Some(subs) => keep_subs(v, subs),
            };
            set_path(&mut out, &s.path, Some(v));
        }
        *resource = out;
    }
    for path in hidden(rt, requested.as_deref().unwrap_or(&[])) {
        set_path(resource, &path, None);
    }
    if let Some(list) = excluded {
        for s in parse_list(rt, list) {
            if s.attr.is_some_and(|a| a.returned == Returned::Always) {
                continue;
            }
            match &s.subs {
                None => set_path(resource, &s.path, None),
                Some(subs) => {
                    let mut v = match get_path(resource, &s.path) {
                        Some(v) => v.clone(),
                        None => continue,
                    };
                    for sub in subs {
                        drop_sub(&mut v, sub);
                    }
                    set_path(resource, &s.path, Some(v));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! Outgoing representation: stored JSON + id + meta + derived membership + enrichment.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::body::etag;
use super::{ABNORMAL_USER_SCHEMA, ResourceType};
use crate::state::AppState;
use crate::store::enrichment::EnrichmentRow;
use crate::store::resources::StoredResource;

/// `http(s)://host` this server is reached at (config `public_url`, else the Host header).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(u) = &state.config.public_url {
            return Ok(BaseUrl(u.trim_end_matches('/').to_string()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// The SCIM base of a target: `{base}/scim/v2/{target}`.
pub fn target_base(base: &BaseUrl, target: &str) -> String {
    format!("{}/scim/v2/{target}", base.0)
}

/// Membership to show: (id, label) pairs.
pub type Links = crate::store::resources::MemberLinks;

/// Builds the full resource JSON.
/// Takes the resource by value: its stored JSON is moved into the answer, not copied.
pub fn render(
    r: StoredResource,
    base: &str,
    links: Option<&Links>,
    enriched: bool,
) -> Map<String, Value> {
    let mut data = r.data;
    let mut schemas: Vec<Value> = match data.remove("schemas") {
        Some(Value::Array(a)) => a,
        _ => vec![json!(r.resource_type.schema())],
    };
    let mut out = Map::new();
    out.insert("id".into(), json!(r.id));
    out.append(&mut data);
    match r.resource_type {
        ResourceType::User => {
            if let Some(groups) = links.filter(|l| !l.is_empty()) {
                out.insert("groups".into(), user_groups(groups, base));
            }
            if enriched {
                // Present on every user of an enriched target: empty until Abnormal knows them.
                let ext = r
                    .enrichment
                    .as_ref()
                    .map(enrichment_json)
                    .unwrap_or_default();
                schemas.push(json!(ABNORMAL_USER_SCHEMA));
                out.insert(ABNORMAL_USER_SCHEMA.into(), Value::Object(ext));
            }
        }
        ResourceType::Group => {
            out.insert("members".into(), group_members(links, base));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    let meta = Meta::new(
        r.resource_type,
        &r.id,
        &r.created,
        &r.last_modified,
        r.version,
        base,
    );
    out.insert("meta".into(), json!(meta));
    out
}

/// A user's `groups` (non-empty links).
pub fn user_groups(groups: &Links, base: &str) -> Value {
    groups
        .iter()
        .map(|(gid, label)| {
            json!({"value": gid, "display": label, "$ref": format!("{base}/Groups/{gid}"), "type": "direct"})
        })
        .collect()
}

/// A group's `members` (always present, `[]` without links).
pub fn group_members(links: Option<&Links>, base: &str) -> Value {
    links
        .into_iter()
        .flatten()
        .map(|(uid, display)| {
            let mut m =
                json!({"value": uid, "$ref": format!("{base}/Users/{uid}"), "type": "User"});
            if let Some(d) = display {
                m["display"] = json!(d);
            }
            m
        })
        .collect()
}

/// `meta` of a resource; `json!` makes it a tree, `serde_json::to_writer` writes it as text.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta<'a> {
    resource_type: &'static str,
    created: &'a str,
    last_modified: &'a str,
    version: String,
    location: String,
}

impl<'a> Meta<'a> {
    pub fn new(
        rt: ResourceType,
        id: &str,
        created: &'a str,
        last_modified: &'a str,
        version: i64,
        base: &str,
    ) -> Self {
        Meta {
            resource_type: rt.as_str(),
            created,
            last_modified,
            version: etag(version),
            location: format!("{base}/{}/{id}", rt.endpoint()),
        }
    }
}

fn enrichment_json(e: &EnrichmentRow) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    };
    put("riskScore", json!(e.risk_score));
    put("riskLevel", json!(e.risk_level));
    put("compromisedSince", json!(e.compromised_since));
    put("isVip", json!(e.is_vip));
    put("department", json!(e.department));
    put("title", json!(e.title));
    put("isActive", json!(e.is_active));
    put("openCaseCount", json!(e.open_case_count));
    let cases = e
        .cases
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .unwrap_or_else(|| json!([]));
    put("cases", cases);
    put("lastRefreshed", json!(e.last_refreshed));
    m
}

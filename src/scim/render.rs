//! Outgoing representation: stored JSON + id + meta + derived membership + enrichment.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
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
                let arr: Vec<Value> = groups
                    .iter()
                    .map(|(gid, label)| {
                        json!({"value": gid, "display": label, "$ref": format!("{base}/Groups/{gid}"), "type": "direct"})
                    })
                    .collect();
                out.insert("groups".into(), Value::Array(arr));
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
            let arr: Vec<Value> = links
                .map(|l| {
                    l.iter()
                        .map(|(uid, display)| {
                            let mut m = json!({"value": uid, "$ref": format!("{base}/Users/{uid}"), "type": "User"});
                            if let Some(d) = display {
                                m["display"] = json!(d);
                            }
                            m
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.insert("members".into(), Value::Array(arr));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": r.resource_type.as_str(),
            "created": r.created,
            "lastModified": r.last_modified,
            "version": etag(r.version),
            "location": format!("{base}/{}/{}", r.resource_type.endpoint(), r.id),
        }),
    );
    out
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

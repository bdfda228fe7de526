//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`: what this server really supports.

use serde_json::{Value, json};

use super::error::ScimError;
use super::schema::{schema_document, schema_documents};
use super::{
    ABNORMAL_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA,
};

pub fn service_provider_config(base: &str, max_results: u32) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/scim-bridge/scim-bridge/blob/main/docs/configuration.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A static per-target bearer token (Authorization: Bearer <token>)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

pub fn resource_types(base: &str, enriched: bool) -> Vec<Value> {
    let mut user_ext = vec![json!({"schema": ENTERPRISE_USER_SCHEMA, "required": false})];
    if enriched {
        user_ext.push(json!({"schema": ABNORMAL_USER_SCHEMA, "required": false}));
    }
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "User Account", "schema": USER_SCHEMA,
            "schemaExtensions": user_ext,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "Group", "schema": GROUP_SCHEMA, "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
        }),
    ]
}

pub fn list_response(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

/// The schema documents a target exposes: the abnormal extension only where it is populated.
pub fn schemas(base: &str, enriched: bool) -> Vec<Value> {
    schema_documents(base)
        .into_iter()
        .filter(|s| enriched || s.get("id").and_then(Value::as_str) != Some(ABNORMAL_USER_SCHEMA))
        .collect()
}

pub fn schema(base: &str, id: &str, enriched: bool) -> Result<Value, ScimError> {
    if id == ABNORMAL_USER_SCHEMA && !enriched {
        return Err(ScimError::not_found(format!("schema `{id}` not found")));
    }
    schema_document(id, base)
        .ok_or_else(|| ScimError::not_found(format!("schema `{id}` not found")))
}

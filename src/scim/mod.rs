//! The SCIM 2.0 wire protocol: routes, auth, JSON, filters, PATCH. Knows nothing of vendors.

pub mod canonical;
pub mod error;
pub mod filter_sql;
pub mod patch;
pub mod projection;
pub mod schema;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Read-only risk attributes pulled from Abnormal Security.
pub const ABNORMAL_USER_SCHEMA: &str = "urn:scim-bridge:schemas:extension:abnormal:2.0:User";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The two SCIM resource types, stored in `scim_resources.resource_type` as `User` / `Group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }
    /// The endpoint name: `Users` / `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "Users",
            ResourceType::Group => "Groups",
        }
    }
    /// The core schema URN.
    pub fn schema(self) -> &'static str {
        match self {
            ResourceType::User => USER_SCHEMA,
            ResourceType::Group => GROUP_SCHEMA,
        }
    }
    pub fn parse(s: &str) -> Option<ResourceType> {
        match s {
            "User" => Some(ResourceType::User),
            "Group" => Some(ResourceType::Group),
            _ => None,
        }
    }
}

pub mod answers;
pub mod auth;
pub mod body;
pub mod discovery;
pub mod handlers;
pub mod list;
pub mod list_body;
pub mod members;
pub mod render;
pub mod routes;
pub mod service;

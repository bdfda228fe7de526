//! The `/Schemas` representation (RFC 7643 §7). Common attributes (`id`, `externalId`,
//! `meta`) are not part of any schema (RFC 7643 §3.1) and so are not listed.

use serde_json::{Map, Value, json};

use super::{ALL_SCHEMAS, AttrDef, AttrType, Mutability, Returned, SchemaDef, Uniqueness};

const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// All `/Schemas` documents, with `meta.location` under `base` (e.g. `http://host/scim/v2/t1`).
pub fn schema_documents(base: &str) -> Vec<Value> {
    ALL_SCHEMAS.iter().map(|s| document(s, base)).collect()
}

/// One schema document by URN (case-insensitive), or None.
pub fn schema_document(id: &str, base: &str) -> Option<Value> {
    ALL_SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| document(s, base))
}

fn document(s: &SchemaDef, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base.trim_end_matches('/'), s.id),
        },
    })
}

pub(crate) fn type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
        AttrType::Binary => "binary",
    }
}

fn attr_json(a: &AttrDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    m.insert("type".into(), json!(type_name(a.ty)));
    m.insert("multiValued".into(), json!(a.multi_valued));
    m.insert("description".into(), json!(a.description));
    m.insert("required".into(), json!(a.required));
    if a.ty != AttrType::Complex && a.ty != AttrType::Boolean {
        m.insert("caseExact".into(), json!(a.case_exact));
    }
    if !a.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), json!(a.canonical_values));
    }
    if a.ty == AttrType::Reference {
        m.insert("referenceTypes".into(), json!(a.reference_types));
    }
    m.insert(
        "mutability".into(),
        json!(match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }),
    );
    m.insert(
        "returned".into(),
        json!(match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }),
    );
    if a.ty != AttrType::Complex && a.ty != AttrType::Boolean {
        m.insert(
            "uniqueness".into(),
            json!(match a.uniqueness {
                Uniqueness::None => "none",
                Uniqueness::Server => "server",
                Uniqueness::Global => "global",
            }),
        );
    }
    if a.ty == AttrType::Complex {
        m.insert(
            "subAttributes".into(),
            Value::Array(a.sub_attributes.iter().map(attr_json).collect()),
        );
    }
    Value::Object(m)
}

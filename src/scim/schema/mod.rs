//! The attribute schema catalog (RFC 7643 §2, §4, §7, §8.7.1): static definitions of the core
//! User and Group schemas, the Enterprise User extension, the read-only Abnormal Security
//! extension and the common attributes (`id`, `externalId`, `meta`), plus case-insensitive
//! attribute resolution and the `/Schemas` documents.
//!
//! Resolution rules (used by canonicalisation, filters, PATCH and projection alike):
//! - names compare case-insensitively (RFC 7643 §2.1), the catalog's spelling is canonical;
//! - a URN-qualified name must name the resource type's core schema or one of its extensions;
//! - an unqualified name resolves to a core or common attribute first, else to an extension
//!   attribute when exactly one extension defines it (`department` is ambiguous between the
//!   Enterprise and Abnormal extensions and so must be qualified).

mod defs;
mod documents;
#[cfg(test)]
mod tests;

pub use documents::{schema_document, schema_documents};

use super::{
    ABNORMAL_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceType, USER_SCHEMA,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub sub_attributes: &'static [AttrDef],
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
}

impl AttrDef {
    /// A sub-attribute by name, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&'static AttrDef> {
        find_attr(self.sub_attributes, name)
    }
    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}

/// A schema: its URN, name and top-level attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

pub static USER_SCHEMA_DEF: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: defs::USER,
};
pub static GROUP_SCHEMA_DEF: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: defs::GROUP,
};
pub static ENTERPRISE_SCHEMA_DEF: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: defs::ENTERPRISE,
};
pub static ABNORMAL_SCHEMA_DEF: SchemaDef = SchemaDef {
    id: ABNORMAL_USER_SCHEMA,
    name: "AbnormalUser",
    description: "Read-only Abnormal Security risk data for the user's mailbox",
    attributes: defs::ABNORMAL,
};

/// Every schema served at `/Schemas`, in order.
pub static ALL_SCHEMAS: [&SchemaDef; 4] = [
    &USER_SCHEMA_DEF,
    &ENTERPRISE_SCHEMA_DEF,
    &ABNORMAL_SCHEMA_DEF,
    &GROUP_SCHEMA_DEF,
];

/// The common attributes `id`, `externalId`, `meta` (RFC 7643 §3.1).
pub fn common_attributes() -> &'static [AttrDef] {
    defs::COMMON
}

/// The core schema of a resource type.
pub fn core_schema(rt: ResourceType) -> &'static SchemaDef {
    match rt {
        ResourceType::User => &USER_SCHEMA_DEF,
        ResourceType::Group => &GROUP_SCHEMA_DEF,
    }
}

/// The schema extensions a resource type accepts.
pub fn extensions(rt: ResourceType) -> &'static [&'static SchemaDef] {
    static USER_EXT: [&SchemaDef; 2] = [&ENTERPRISE_SCHEMA_DEF, &ABNORMAL_SCHEMA_DEF];
    match rt {
        ResourceType::User => &USER_EXT,
        ResourceType::Group => &[],
    }
}

/// The core schema or an extension of `rt` whose URN equals `uri` (case-insensitively).
pub fn schema_for(rt: ResourceType, uri: &str) -> Option<&'static SchemaDef> {
    std::iter::once(core_schema(rt))
        .chain(extensions(rt).iter().copied())
        .find(|s| s.id.eq_ignore_ascii_case(uri))
}

/// An attribute of a list by name, case-insensitively.
pub fn find_attr(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Splits a possibly URN-qualified attribute name (`urn:…:enterprise:2.0:User:manager.value`)
/// into the schema it names and the rest (`manager.value`; empty when `s` is the URN itself).
/// `Ok((None, s))` when `s` is not URN-qualified; `Err(())` for an unknown URN.
#[allow(clippy::result_unit_err)]
pub fn split_urn(rt: ResourceType, s: &str) -> Result<(Option<&'static SchemaDef>, &str), ()> {
    if !s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Ok((None, s));
    }
    let candidates = std::iter::once(core_schema(rt)).chain(extensions(rt).iter().copied());
    for sd in candidates {
        let n = sd.id.len();
        let Some(head) = s.get(..n) else { continue };
        if !head.eq_ignore_ascii_case(sd.id) {
            continue;
        }
        match s.get(n..) {
            Some("") => return Ok((Some(sd), "")),
            Some(rest) if rest.starts_with(':') => return Ok((Some(sd), &rest[1..])),
            _ => {}
        }
    }
    Err(())
}

/// A resolved attribute reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The URN of the schema defining the attribute (the core schema for common attributes).
    pub schema: &'static str,
    pub attr: &'static AttrDef,
    pub sub: Option<&'static AttrDef>,
    /// Canonical storage path: extension attributes nested under their URN key,
    /// e.g. `["urn:…:enterprise:2.0:User", "manager", "value"]`.
    pub json_path: Vec<&'static str>,
}

impl Resolved {
    /// The attribute addressed: the sub-attribute if any, else the attribute.
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.attr)
    }
    /// True for attributes of an extension schema (stored under the URN key).
    pub fn is_extension(&self) -> bool {
        self.schema != USER_SCHEMA && self.schema != GROUP_SCHEMA
    }
    /// True for attributes of the read-only Abnormal extension.
    pub fn is_abnormal(&self) -> bool {
        self.schema == ABNORMAL_USER_SCHEMA
    }
}

impl PartialEq for AttrDef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Attribute lookup for a resource type: `uri` None means core/common or (unambiguously) an
/// extension. `sub` must name a sub-attribute of a complex attribute.
pub fn resolve(
    rt: ResourceType,
    uri: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Option<Resolved> {
    let core = core_schema(rt);
    let (schema, attr) = match uri {
        Some(u) => {
            let sd = schema_for(rt, u)?;
            let attr = if std::ptr::eq(sd, core) {
                find_attr(core.attributes, name).or_else(|| find_attr(defs::COMMON, name))?
            } else {
                find_attr(sd.attributes, name)?
            };
            (sd, attr)
        }
        None => {
            if let Some(attr) =
                find_attr(core.attributes, name).or_else(|| find_attr(defs::COMMON, name))
            {
                (core, attr)
            } else {
                let mut found = extensions(rt)
                    .iter()
                    .filter_map(|sd| find_attr(sd.attributes, name).map(|a| (*sd, a)));
                let first = found.next()?;
                if found.next().is_some() {
                    return None;
                }
                first
            }
        }
    };
    let sub = match sub {
        Some(s) => Some(attr.sub(s)?),
        None => None,
    };
    let mut json_path = Vec::with_capacity(3);
    if !std::ptr::eq(schema, core) {
        json_path.push(schema.id);
    }
    json_path.push(attr.name);
    if let Some(s) = sub {
        json_path.push(s.name);
    }
    Some(Resolved {
        schema: schema.id,
        attr,
        sub,
        json_path,
    })
}

//! The static attribute definitions: RFC 7643 §4.1 (User), §4.2 (Group), §4.3 (Enterprise
//! User), §3.1 (common attributes) and the read-only Abnormal Security extension.

use super::{AttrDef, AttrType as T, Mutability as M, Returned as R, Uniqueness as U};

const fn a(name: &'static str, ty: T, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: M::ReadWrite,
        returned: R::Default,
        uniqueness: U::None,
        description,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}
const fn s(name: &'static str, description: &'static str) -> AttrDef {
    a(name, T::String, description)
}

impl AttrDef {
    const fn multi(self) -> Self {
        AttrDef {
            multi_valued: true,
            ..self
        }
    }
    const fn required(self) -> Self {
        AttrDef {
            required: true,
            ..self
        }
    }
    const fn exact(self) -> Self {
        AttrDef {
            case_exact: true,
            ..self
        }
    }
    const fn mutability(self, mutability: M) -> Self {
        AttrDef { mutability, ..self }
    }
    const fn returned(self, returned: R) -> Self {
        AttrDef { returned, ..self }
    }
    const fn unique(self, uniqueness: U) -> Self {
        AttrDef { uniqueness, ..self }
    }
    const fn subs(self, sub_attributes: &'static [AttrDef]) -> Self {
        AttrDef {
            sub_attributes,
            ..self
        }
    }
    const fn canon(self, canonical_values: &'static [&'static str]) -> Self {
        AttrDef {
            canonical_values,
            ..self
        }
    }
    const fn refs(self, reference_types: &'static [&'static str]) -> Self {
        AttrDef {
            reference_types,
            ..self
        }
    }
    const fn ro(self) -> Self {
        self.mutability(M::ReadOnly)
    }
}

const fn complex(
    name: &'static str,
    description: &'static str,
    subs: &'static [AttrDef],
) -> AttrDef {
    a(name, T::Complex, description).subs(subs)
}

/// The usual sub-attributes of a multi-valued attribute (RFC 7643 §2.4).
const fn std4(value: AttrDef, types: &'static [&'static str]) -> [AttrDef; 4] {
    [
        value,
        s(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        s("type", "A label indicating the attribute's function.").canon(types),
        a(
            "primary",
            T::Boolean,
            "A Boolean value indicating the 'primary' or preferred attribute value.",
        ),
    ]
}

static EMAIL_SUBS: [AttrDef; 4] = std4(
    s("value", "Email address for the user."),
    &["work", "home", "other"],
);
static PHONE_SUBS: [AttrDef; 4] = std4(
    s("value", "Phone number of the User."),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
static IM_SUBS: [AttrDef; 4] = std4(
    s("value", "Instant messaging address for the User."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
static PHOTO_SUBS: [AttrDef; 4] = std4(
    a("value", T::Reference, "URL of a photo of the User.").refs(&["external"]),
    &["photo", "thumbnail"],
);
static ENTITLEMENT_SUBS: [AttrDef; 4] = std4(s("value", "The value of an entitlement."), &[]);
static ROLE_SUBS: [AttrDef; 4] = std4(s("value", "The value of a role."), &[]);
static X509_SUBS: [AttrDef; 4] = std4(
    a("value", T::Binary, "The value of an X.509 certificate.").exact(),
    &[],
);

static NAME_SUBS: [AttrDef; 6] = [
    s(
        "formatted",
        "The full name, including all middle names, titles, and suffixes.",
    ),
    s("familyName", "The family name of the User."),
    s("givenName", "The given name of the User."),
    s("middleName", "The middle name(s) of the User."),
    s("honorificPrefix", "The honorific prefix(es) of the User."),
    s("honorificSuffix", "The honorific suffix(es) of the User."),
];

static ADDRESS_SUBS: [AttrDef; 8] = [
    s(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    s("streetAddress", "The full street address component."),
    s("locality", "The city or locality component."),
    s("region", "The state or region component."),
    s("postalCode", "The zip code or postal code component."),
    s("country", "The country name component."),
    s("type", "A label indicating the attribute's function.").canon(&["work", "home", "other"]),
    a(
        "primary",
        T::Boolean,
        "Indicates the primary mailing address.",
    ),
];

static USER_GROUP_SUBS: [AttrDef; 4] = [
    s("value", "The identifier of the User's group.").ro(),
    a(
        "$ref",
        T::Reference,
        "The URI of the corresponding 'Group' resource.",
    )
    .refs(&["Group"])
    .ro(),
    s("display", "A human-readable name of the group.").ro(),
    s("type", "How the membership was derived.")
        .canon(&["direct", "indirect"])
        .ro(),
];

/// Core User attributes (RFC 7643 §4.1).
pub static USER: &[AttrDef] = &[
    s(
        "userName",
        "Unique identifier for the User, used to authenticate.",
    )
    .required()
    .unique(U::Server),
    complex(
        "name",
        "The components of the user's real name.",
        &NAME_SUBS,
    ),
    s(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    s(
        "nickName",
        "The casual way to address the user in real life.",
    ),
    a(
        "profileUrl",
        T::Reference,
        "A fully qualified URL pointing to a page representing the User's online profile.",
    )
    .refs(&["external"]),
    s("title", "The user's title, such as \"Vice President\"."),
    s(
        "userType",
        "Identifies the relationship between the organization and the user.",
    ),
    s(
        "preferredLanguage",
        "The User's preferred written or spoken language.",
    ),
    s("locale", "The User's default location for localization."),
    s(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format.",
    ),
    a("active", T::Boolean, "The User's administrative status."),
    s(
        "password",
        "The User's cleartext password; never stored or returned.",
    )
    .mutability(M::WriteOnly)
    .returned(R::Never),
    complex("emails", "Email addresses for the user.", &EMAIL_SUBS).multi(),
    complex("phoneNumbers", "Phone numbers for the User.", &PHONE_SUBS).multi(),
    complex("ims", "Instant messaging addresses for the User.", &IM_SUBS).multi(),
    complex("photos", "URLs of photos of the User.", &PHOTO_SUBS).multi(),
    complex(
        "addresses",
        "A physical mailing address for this User.",
        &ADDRESS_SUBS,
    )
    .multi(),
    complex(
        "groups",
        "A list of groups to which the user belongs (derived).",
        &USER_GROUP_SUBS,
    )
    .multi()
    .ro(),
    complex(
        "entitlements",
        "A list of entitlements for the User.",
        &ENTITLEMENT_SUBS,
    )
    .multi(),
    complex("roles", "A list of roles for the User.", &ROLE_SUBS).multi(),
    complex(
        "x509Certificates",
        "A list of certificates issued to the User.",
        &X509_SUBS,
    )
    .multi(),
];

static MANAGER_SUBS: [AttrDef; 3] = [
    s(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    ),
    a(
        "$ref",
        T::Reference,
        "The URI of the SCIM resource representing the User's manager.",
    )
    .refs(&["User"]),
    s("displayName", "The displayName of the User's manager.").ro(),
];

/// Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE: &[AttrDef] = &[
    s(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    s("costCenter", "Identifies the name of a cost center."),
    s("organization", "Identifies the name of an organization."),
    s("division", "Identifies the name of a division."),
    s("department", "Identifies the name of a department."),
    complex("manager", "The User's manager.", &MANAGER_SUBS),
];

static MEMBER_SUBS: [AttrDef; 4] = [
    s("value", "Identifier of the member of this Group.")
        .required()
        .mutability(M::Immutable)
        .exact(),
    a("$ref", T::Reference, "The URI of the member resource.")
        .refs(&["User", "Group"])
        .mutability(M::Immutable),
    s("display", "A human-readable name of the member."),
    s("type", "The type of the member.")
        .canon(&["User", "Group"])
        .mutability(M::Immutable),
];

/// Core Group attributes (RFC 7643 §4.2).
pub static GROUP: &[AttrDef] = &[
    s("displayName", "A human-readable name for the Group.")
        .required()
        .unique(U::Server),
    complex("members", "A list of members of the Group.", &MEMBER_SUBS).multi(),
];

static CASE_SUBS: [AttrDef; 3] = [
    s("caseId", "The Abnormal case identifier.").exact().ro(),
    s("severity", "The case severity.").ro(),
    s("status", "The case status.").ro(),
];

/// The Abnormal Security enrichment extension: every attribute readOnly, filled by the bridge.
pub static ABNORMAL: &[AttrDef] = &[
    s("riskScore", "Abnormal's risk score for the account.").ro(),
    s("riskLevel", "Abnormal's risk level for the account.").ro(),
    a(
        "compromisedSince",
        T::DateTime,
        "When Abnormal first saw the account compromised.",
    )
    .ro(),
    a(
        "isVip",
        T::Boolean,
        "Whether Abnormal flags the account as a VIP.",
    )
    .ro(),
    s(
        "department",
        "The department Abnormal knows for the account.",
    )
    .ro(),
    s("title", "The title Abnormal knows for the account.").ro(),
    a(
        "isActive",
        T::Boolean,
        "Whether the account is active in Abnormal.",
    )
    .ro(),
    a(
        "openCaseCount",
        T::Integer,
        "The number of open Abnormal cases.",
    )
    .ro(),
    complex("cases", "The account's Abnormal cases.", &CASE_SUBS)
        .multi()
        .ro(),
    a(
        "lastRefreshed",
        T::DateTime,
        "When the bridge last refreshed this data.",
    )
    .ro(),
];

static META_SUBS: [AttrDef; 5] = [
    s(
        "resourceType",
        "The name of the resource type of the resource.",
    )
    .exact()
    .ro(),
    a(
        "created",
        T::DateTime,
        "When the resource was added to the service provider.",
    )
    .ro(),
    a(
        "lastModified",
        T::DateTime,
        "When the resource was last updated.",
    )
    .ro(),
    a("location", T::Reference, "The URI of the resource.")
        .exact()
        .ro(),
    s("version", "The version (ETag) of the resource.")
        .exact()
        .ro(),
];

/// Common attributes of every resource (RFC 7643 §3.1).
pub static COMMON: &[AttrDef] = &[
    s(
        "id",
        "A unique identifier for a SCIM resource, issued by the service provider.",
    )
    .exact()
    .ro()
    .returned(R::Always)
    .unique(U::Server),
    s(
        "externalId",
        "An identifier for the resource as defined by the provisioning client.",
    )
    .exact(),
    complex("meta", "Resource metadata.", &META_SUBS).ro(),
];

//! What an attribute path compiles to: an indexed column, a JSON location inside `r.data`, an
//! enrichment column, a membership sub-query, or nothing at all.

use crate::scim::ResourceType;
use crate::scim::error::ScimError;
use crate::scim::schema::{AttrDef, AttrType, Resolved};
use crate::store::dialect::Dialect;

/// How a scalar compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// A boolean; `text` when the SQL expression yields the JSON text `true`/`false`.
    Bool {
        text: bool,
    },
    Num,
    Date,
}

/// A SQL expression yielding one scalar value (or NULL when absent).
#[derive(Debug, Clone)]
pub struct Scalar {
    pub expr: String,
    pub kind: Kind,
    pub case_exact: bool,
    /// The column already holds a lowercased value: don't wrap it in `lower()`.
    pub lowered: bool,
}

impl Scalar {
    fn col(expr: &str, kind: Kind) -> Self {
        Scalar {
            expr: expr.to_string(),
            kind,
            case_exact: true,
            lowered: false,
        }
    }
    fn ci(mut self) -> Self {
        self.case_exact = false;
        self
    }
    fn lowered(mut self) -> Self {
        self.case_exact = false;
        self.lowered = true;
        self
    }
}

/// A JSON location: a base JSON expression and a key path (keys from the static catalog only).
#[derive(Debug, Clone)]
pub struct JsonLoc {
    pub base: String,
    pub path: Vec<&'static str>,
}

impl JsonLoc {
    pub fn new(base: &str, path: &[&'static str]) -> Self {
        JsonLoc {
            base: base.to_string(),
            path: path.to_vec(),
        }
    }
    pub fn child(&self, key: &'static str) -> Self {
        let mut l = self.clone();
        l.path.push(key);
        l
    }
    /// Postgres text-array path literal: `'{"name","givenName"}'`.
    fn pg_path(&self) -> String {
        let keys: Vec<String> = self.path.iter().map(|k| format!("\"{k}\"")).collect();
        format!("'{{{}}}'", keys.join(","))
    }
    /// SQLite JSON path literal: `'$."name"."givenName"'`.
    fn sqlite_path(&self) -> String {
        let mut p = String::from("'$");
        for k in &self.path {
            p.push_str(&format!(".\"{k}\""));
        }
        p.push('\'');
        p
    }
    /// The JSON value (Postgres jsonb; SQLite JSON text or SQL scalar).
    pub fn json(&self, d: Dialect) -> String {
        match d {
            Dialect::Postgres => format!("({} #> {})", self.base, self.pg_path()),
            Dialect::Sqlite => format!("json_extract({}, {})", self.base, self.sqlite_path()),
        }
    }
    /// The value as SQL text (Postgres) / SQL scalar (SQLite).
    pub fn text(&self, d: Dialect) -> String {
        match d {
            Dialect::Postgres => format!("({} #>> {})", self.base, self.pg_path()),
            Dialect::Sqlite => self.json(d),
        }
    }
    /// The JSON type name of the value (`object`, `array`, …; NULL when absent).
    pub fn json_type(&self, d: Dialect) -> String {
        match d {
            Dialect::Postgres => format!("jsonb_typeof{}", self.json(d)),
            Dialect::Sqlite => format!("json_type({}, {})", self.base, self.sqlite_path()),
        }
    }
    /// A scalar of a simple attribute stored at this location.
    pub fn scalar(&self, d: Dialect, def: &AttrDef) -> Scalar {
        let (expr, kind) = match (def.ty, d) {
            (AttrType::Boolean, Dialect::Postgres) => (self.text(d), Kind::Bool { text: true }),
            (AttrType::Boolean, Dialect::Sqlite) => (self.text(d), Kind::Bool { text: false }),
            (AttrType::Integer | AttrType::Decimal, Dialect::Postgres) => (
                format!(
                    "(CASE WHEN {} = 'number' THEN {}::numeric END)",
                    self.json_type(d),
                    self.text(d)
                ),
                Kind::Num,
            ),
            (AttrType::Integer | AttrType::Decimal, Dialect::Sqlite) => (self.text(d), Kind::Num),
            (AttrType::DateTime, _) => (self.text(d), Kind::Date),
            _ => (self.text(d), Kind::Str),
        };
        Scalar {
            expr,
            kind,
            case_exact: def.case_exact,
            lowered: false,
        }
    }
    /// `COALESCE(<array length> > 0, FALSE)`: a non-empty array is present here.
    pub fn non_empty_array(&self, d: Dialect) -> String {
        match d {
            Dialect::Postgres => {
                let j = self.json(d);
                format!(
                    "COALESCE(jsonb_array_length(CASE WHEN jsonb_typeof{j} = 'array' THEN {j} END) > 0, FALSE)"
                )
            }
            Dialect::Sqlite => format!(
                "COALESCE(json_array_length({}, {}) > 0, FALSE)",
                self.base,
                self.sqlite_path()
            ),
        }
    }
    /// `FROM` item iterating the elements of the array at this location as `e`; non-arrays
    /// iterate nothing. The element's JSON is [`elem_base`].
    pub fn elements(&self, d: Dialect) -> String {
        match d {
            Dialect::Postgres => {
                let j = self.json(d);
                format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof{j} = 'array' THEN {j} ELSE '[]'::jsonb END) AS e(v)"
                )
            }
            Dialect::Sqlite => format!(
                "json_each(CASE WHEN {} = 'array' THEN {} ELSE '[]' END) AS e",
                self.json_type(d),
                self.json(d)
            ),
        }
    }
}

/// The JSON expression of the current array element inside [`JsonLoc::elements`].
pub fn elem_base(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "e.v",
        Dialect::Sqlite => "e.value",
    }
}

/// Which side of `scim_group_members` a membership attribute reads.
#[derive(Debug, Clone, Copy)]
pub enum Membership {
    /// User `groups`: the user is `member_id`, values are `group_id`.
    UserGroups,
    /// Group `members`: the group is `group_id`, values are `member_id`.
    GroupMembers,
}

impl Membership {
    /// `EXISTS (…)` around a condition on `gm.group_id` / `gm.member_id` ([`Self::value`]).
    pub fn exists(self, cond: &str) -> String {
        let own = match self {
            Membership::UserGroups => "gm.member_id",
            Membership::GroupMembers => "gm.group_id",
        };
        format!(
            "EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.target = r.target AND {own} = r.id AND {cond})"
        )
    }
    pub fn value(self) -> Scalar {
        match self {
            Membership::UserGroups => Scalar::col("gm.group_id", Kind::Str),
            Membership::GroupMembers => Scalar::col("gm.member_id", Kind::Str),
        }
    }
}

/// What an attribute (without its sub-attribute, for complex ones) compiles to.
#[derive(Debug, Clone)]
pub enum Target {
    Scalar(Scalar),
    /// A single-valued complex attribute stored as a JSON object.
    Complex(JsonLoc),
    /// A multi-valued complex attribute stored as a JSON array.
    Multi(JsonLoc),
    Membership(Membership),
    /// Enrichment attribute without the enrichment join: matches nothing.
    Nothing,
    /// `meta`: always present; only its sub-attributes compare.
    Meta,
}

fn bad(detail: String) -> ScimError {
    ScimError::invalid_filter(detail)
}

/// Maps a resolved top-level attribute to its target. `r.sub` is handled by the caller,
/// except for `meta`, whose sub-attributes are columns.
pub fn target(
    rt: ResourceType,
    r: &Resolved,
    d: Dialect,
    joined: bool,
) -> Result<Target, ScimError> {
    let name = r.attr.name;
    if r.is_abnormal() {
        if !joined {
            return Ok(Target::Nothing);
        }
        let t = match name {
            "riskScore" => Scalar::col("en.risk_score", Kind::Str).ci(),
            "riskLevel" => Scalar::col("en.risk_level", Kind::Str).ci(),
            "compromisedSince" => Scalar::col("en.compromised_since", Kind::Date),
            "isVip" => Scalar::col("en.is_vip", Kind::Bool { text: false }),
            "department" => Scalar::col("en.department", Kind::Str).ci(),
            "title" => Scalar::col("en.title", Kind::Str).ci(),
            "isActive" => Scalar::col("en.is_active", Kind::Bool { text: false }),
            "openCaseCount" => Scalar::col("en.open_case_count", Kind::Num),
            "lastRefreshed" => Scalar::col("en.last_refreshed", Kind::Date),
            "cases" => {
                let base = match d {
                    Dialect::Postgres => "(en.cases::jsonb)",
                    Dialect::Sqlite => "en.cases",
                };
                return Ok(Target::Multi(JsonLoc::new(base, &[])));
            }
            other => return Err(bad(format!("attribute `{other}` cannot be filtered"))),
        };
        return Ok(Target::Scalar(t));
    }
    let t = match (rt, name) {
        (_, "id") => Scalar::col("r.id", Kind::Str),
        (_, "externalId") => Scalar::col("r.external_id", Kind::Str),
        (ResourceType::User, "userName") => Scalar::col("r.user_name_lc", Kind::Str).lowered(),
        (_, "displayName") if !r.is_extension() => {
            Scalar::col("r.display_name_lc", Kind::Str).lowered()
        }
        (ResourceType::User, "active") => Scalar::col("r.active", Kind::Bool { text: false }),
        (_, "meta") => return Ok(Target::Meta),
        (ResourceType::User, "groups") => return Ok(Target::Membership(Membership::UserGroups)),
        (ResourceType::Group, "members") => {
            return Ok(Target::Membership(Membership::GroupMembers));
        }
        (_, "password") => return Err(bad("attribute `password` cannot be filtered".into())),
        _ => {
            let loc = JsonLoc::new(
                "r.data",
                &r.json_path[..r.json_path.len() - usize::from(r.sub.is_some())],
            );
            return Ok(if r.attr.multi_valued {
                Target::Multi(loc)
            } else if r.attr.is_complex() {
                Target::Complex(loc)
            } else {
                Target::Scalar(loc.scalar(d, r.attr))
            });
        }
    };
    Ok(Target::Scalar(t))
}

/// The column of a `meta` sub-attribute.
pub fn meta_column(sub: &str) -> Result<Scalar, ScimError> {
    Ok(match sub {
        "created" => Scalar::col("r.created", Kind::Date),
        "lastModified" => Scalar::col("r.last_modified", Kind::Date),
        "resourceType" => Scalar::col("r.resource_type", Kind::Str),
        other => return Err(bad(format!("attribute `meta.{other}` cannot be filtered"))),
    })
}

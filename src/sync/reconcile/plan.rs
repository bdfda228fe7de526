//! The pure reconcile planner: desired users (with what the mapping table knows) against the
//! accounts listed at the vendor → the list of drifts. No I/O; unit-tested below.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::connectors::{DesiredUser, VendorAccount};

/// One SCIM user of the target as reconcile sees it.
#[derive(Debug, Clone)]
pub struct DesiredEntry {
    pub user: DesiredUser,
    /// The vendor id the mapping table remembers.
    pub vendor_id: Option<String>,
    /// The vendor key (login) the mapping table remembers.
    pub vendor_key: Option<String>,
    /// The role the connector would apply (None: do not compare roles).
    pub expected_role: Option<String>,
}

/// What differs between the vendor and the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriftKind {
    /// The user should have an (enabled) account at the vendor and has none.
    MissingAtVendor,
    /// An account at the vendor with no SCIM user: reported, never deleted.
    ExtraAtVendor,
    /// A managed attribute differs.
    AttributeDrift {
        field: String,
        vendor: Option<String>,
        desired: Option<String>,
    },
    /// Enabled at the vendor but deactivated in SCIM, or the other way round.
    EnabledMismatch { vendor: bool, desired: bool },
}

/// One drift, naming the SCIM resource (None for unmanaged accounts) and the vendor account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub resource_id: Option<String>,
    /// SCIM userName, or the vendor login for unmanaged accounts.
    pub key: String,
    pub vendor_id: Option<String>,
    #[serde(flatten)]
    pub kind: DriftKind,
}

impl Drift {
    /// Short kind name for tables and metrics.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            DriftKind::MissingAtVendor => "missing_at_vendor",
            DriftKind::ExtraAtVendor => "extra_at_vendor",
            DriftKind::AttributeDrift { .. } => "attribute_drift",
            DriftKind::EnabledMismatch { .. } => "enabled_mismatch",
        }
    }
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

fn on_off(b: bool) -> &'static str {
    if b { "enabled" } else { "disabled" }
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftKind::MissingAtVendor => write!(f, "missing at the vendor"),
            DriftKind::ExtraAtVendor => write!(f, "unmanaged account at the vendor (no SCIM user)"),
            DriftKind::AttributeDrift {
                field,
                vendor,
                desired,
            } => write!(
                f,
                "{field} is {} at the vendor, {} desired",
                show(vendor),
                show(desired)
            ),
            DriftKind::EnabledMismatch { vendor, desired } => write!(
                f,
                "{} at the vendor, {} desired",
                on_off(*vendor),
                on_off(*desired)
            ),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.kind)
    }
}

fn lc(s: &str) -> String {
    s.trim().to_lowercase()
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Compares desired users with vendor accounts. Accounts match by the remembered vendor id,
/// else case-insensitively by login / e-mail. Attributes are compared for active users
/// only, and only those the IdP sets (given / family name) or the connector decides (role).
pub fn plan(desired: &[DesiredEntry], accounts: &[VendorAccount]) -> Vec<Drift> {
    let by_id: HashMap<&str, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.vendor_id.as_str(), i))
        .collect();
    let by_key: HashMap<String, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (lc(&a.key), i))
        .collect();
    let mut used: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for d in desired {
        let u = &d.user;
        let found = d
            .vendor_id
            .as_deref()
            .and_then(|id| by_id.get(id))
            .or_else(|| {
                [Some(&u.user_name), u.email.as_ref(), d.vendor_key.as_ref()]
                    .into_iter()
                    .flatten()
                    .find_map(|k| by_key.get(&lc(k)))
            })
            .copied()
            .filter(|i| !used.contains(i));
        let drift = |kind| Drift {
            resource_id: Some(u.scim_id.clone()),
            key: u.user_name.clone(),
            vendor_id: found.map(|i| accounts[i].vendor_id.clone()),
            kind,
        };
        let Some(i) = found else {
            if u.active {
                out.push(drift(DriftKind::MissingAtVendor));
            }
            continue;
        };
        used.insert(i);
        let a = &accounts[i];
        if a.enabled != u.active {
            out.push(drift(DriftKind::EnabledMismatch {
                vendor: a.enabled,
                desired: u.active,
            }));
        }
        if !u.active {
            continue;
        }
        let fields = [
            ("given_name", nonempty(&u.given_name), &a.given_name, false),
            (
                "family_name",
                nonempty(&u.family_name),
                &a.family_name,
                false,
            ),
            ("role", d.expected_role.as_deref(), &a.role, true),
        ];
        for (field, want, have, ci) in fields {
            let Some(want) = want else { continue };
            let have_s = have.as_deref().map(str::trim).unwrap_or("");
            let same = if ci {
                have_s.eq_ignore_ascii_case(want)
            } else {
                have_s == want
            };
            if !same {
                out.push(drift(DriftKind::AttributeDrift {
                    field: field.to_string(),
                    vendor: have.clone(),
                    desired: Some(want.to_string()),
                }));
            }
        }
    }
    for (i, a) in accounts.iter().enumerate() {
        if !used.contains(&i) {
            out.push(Drift {
                resource_id: None,
                key: a.key.clone(),
                vendor_id: Some(a.vendor_id.clone()),
                kind: DriftKind::ExtraAtVendor,
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

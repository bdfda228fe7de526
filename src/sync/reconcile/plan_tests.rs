use super::*;

fn user(id: &str, name: &str, active: bool) -> DesiredUser {
    DesiredUser {
        scim_id: id.into(),
        user_name: name.into(),
        given_name: Some("Jane".into()),
        family_name: Some("Doe".into()),
        display_name: None,
        email: Some(name.into()),
        phone: None,
        active,
        roles: vec![],
        groups: vec![],
    }
}

fn entry(id: &str, name: &str, active: bool, vid: Option<&str>) -> DesiredEntry {
    DesiredEntry {
        user: user(id, name, active),
        vendor_id: vid.map(str::to_string),
        vendor_key: None,
        expected_role: Some("ROLE_VIEW".into()),
    }
}

fn account(id: &str, key: &str, enabled: bool) -> VendorAccount {
    VendorAccount {
        vendor_id: id.into(),
        key: key.into(),
        given_name: Some("Jane".into()),
        family_name: Some("Doe".into()),
        role: Some("ROLE_VIEW".into()),
        enabled,
        status: None,
    }
}

#[test]
fn in_sync_is_empty() {
    let d = [entry("s1", "jane@x.com", true, Some("v1"))];
    assert_eq!(plan(&d, &[account("v1", "jane@x.com", true)]), vec![]);
}

#[test]
fn matches_key_case_insensitively_without_vendor_id() {
    let d = [entry("s1", "Jane@X.com", true, None)];
    assert_eq!(plan(&d, &[account("v1", "jane@x.COM", true)]), vec![]);
}

#[test]
fn finds_every_kind() {
    let d = [
        entry("s1", "off@x.com", false, Some("v1")),
        entry("s2", "role@x.com", true, Some("v2")),
        entry("s3", "gone@x.com", true, Some("v3")),
        entry("s4", "inactive-gone@x.com", false, None),
    ];
    let mut role = account("v2", "role@x.com", true);
    role.role = Some("ROLE_ADMIN".into());
    role.family_name = Some("Smith".into());
    let accounts = [
        account("v1", "off@x.com", true),
        role,
        account("v9", "stranger@x.com", true),
    ];
    let got = plan(&d, &accounts);
    let kinds: Vec<(Option<&str>, String)> = got
        .iter()
        .map(|x| (x.resource_id.as_deref(), x.kind.to_string()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                Some("s1"),
                "enabled at the vendor, disabled desired".to_string()
            ),
            (
                Some("s2"),
                "family_name is Smith at the vendor, Doe desired".to_string()
            ),
            (
                Some("s2"),
                "role is ROLE_ADMIN at the vendor, ROLE_VIEW desired".to_string()
            ),
            (Some("s3"), "missing at the vendor".to_string()),
            (
                None,
                "unmanaged account at the vendor (no SCIM user)".to_string()
            ),
        ]
    );
    assert_eq!(got[4].vendor_id.as_deref(), Some("v9"));
    assert_eq!(got[0].vendor_id.as_deref(), Some("v1"));
}

#[test]
fn role_compared_case_insensitively_and_skipped_when_unknown() {
    let mut e = entry("s1", "a@x.com", true, Some("v1"));
    e.expected_role = Some("role_view".into());
    assert_eq!(
        plan(&[e.clone()], &[account("v1", "a@x.com", true)]),
        vec![]
    );
    e.expected_role = None;
    let mut a = account("v1", "a@x.com", true);
    a.role = Some("ANYTHING".into());
    assert_eq!(plan(&[e], &[a]), vec![]);
}

#[test]
fn disabled_vendor_account_of_active_user_is_a_mismatch() {
    let d = [entry("s1", "a@x.com", true, Some("v1"))];
    let got = plan(&d, &[account("v1", "a@x.com", false)]);
    assert_eq!(
        got[0].kind,
        DriftKind::EnabledMismatch {
            vendor: false,
            desired: true
        }
    );
    assert_eq!(got.len(), 1);
}

#[test]
fn names_not_set_in_scim_are_not_compared() {
    let mut e = entry("s1", "a@x.com", true, Some("v1"));
    e.user.given_name = None;
    let mut a = account("v1", "a@x.com", true);
    a.given_name = Some("Derived".into());
    assert_eq!(plan(&[e], &[a]), vec![]);
}

#[test]
fn one_account_matches_one_user() {
    let d = [
        entry("s1", "a@x.com", true, None),
        entry("s2", "A@x.com", true, None),
    ];
    let got = plan(&d, &[account("v1", "a@x.com", true)]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, DriftKind::MissingAtVendor);
    assert_eq!(got[0].resource_id.as_deref(), Some("s2"));
}

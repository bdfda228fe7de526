use serde_json::json;

use super::tests::{cfg, conn, vendor};
use super::*;
use crate::connectors::http::testkit::{Double, Reply, Seen, fixture};
use crate::connectors::{MemberRef, SyncState};

const GROUP_USERS: &str =
    include_str!("../../../tests/fixtures/connectors/contrast_group_users_put.json");
const GROUP_PUT: &str = include_str!("../../../tests/fixtures/connectors/contrast_group_put.json");

fn eng(members: &[Option<&str>]) -> DesiredGroup {
    DesiredGroup {
        scim_id: "g1".into(),
        display_name: "Engineering".into(),
        members: members
            .iter()
            .enumerate()
            .map(|(i, v)| MemberRef {
                scim_id: format!("m{i}"),
                vendor_id: v.map(str::to_string),
            })
            .collect(),
    }
}

#[tokio::test]
async fn group_put_whole_list_and_skip_noop() {
    let (d, _) = vendor(vec![], true).await;
    let mut c = cfg(&d.base);
    c.groups.insert("Engineering".into(), "42".into());
    let k = conn(&c);
    let g = eng(&[Some("u-2"), None, Some("u-1"), None]);
    let out = k
        .sync_group(Some(&g), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Synced);
    assert_eq!(out.note.as_deref(), Some("2 members not yet provisioned"));
    let w = d.writes();
    assert_eq!(w[0].path, "/Contrast/api/ng/org-1/groups/42/users");
    assert_eq!(w[0].body, Some(fixture(GROUP_USERS)));
    k.sync_group(Some(&g), &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(d.requests().len(), 1, "unchanged list: no PUT");
    // Group deleted: PUT an empty list.
    let out = k
        .sync_group(None, &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    assert_eq!(d.writes()[1].body, Some(json!({"users": []})));

    let mut c = cfg(&d.base);
    c.groups.insert("Engineering".into(), "42".into());
    c.group_members_method = Some(ContrastGroupMethod::GroupPut);
    conn(&c)
        .sync_group(Some(&g), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    let w = d.writes();
    assert_eq!(w[2].path, "/Contrast/api/ng/org-1/groups/42");
    assert_eq!(w[2].body, Some(fixture(GROUP_PUT)));
}

#[tokio::test]
async fn group_lookup_by_name_or_unmapped() {
    let d = Double::start(|s: &Seen| {
        if s.is("GET", "/Contrast/api/ng/org-1/groups") {
            return Reply::json(
                200,
                json!({"success": true,
                "custom_groups": [{"group_id": 7, "name": "Engineering"}],
                "predefined_groups": [{"group_id": 1, "name": "View"}]}),
            );
        }
        Reply::json(200, json!({"success": true}))
    })
    .await;
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_group(
            Some(&eng(&[Some("u-1")])),
            &VendorLink::default(),
            &CallLog::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.link.vendor_id.as_deref(), Some("7"));
    assert_eq!(d.writes()[0].path, "/Contrast/api/ng/org-1/groups/7/users");
    let mut other = eng(&[]);
    other.display_name = "Sales".into();
    let out = k
        .sync_group(Some(&other), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Unmapped);
    assert_eq!(
        out.note.as_deref(),
        Some("no Contrast access group for SCIM group Sales; add targets.ct.groups")
    );
}

#[tokio::test]
async fn a_moved_mapping_empties_the_previous_group() {
    let (d, _) = vendor(vec![], true).await;
    let mut c = cfg(&d.base);
    c.groups.insert("Engineering".into(), "42".into());
    let g = eng(&[Some("u-1")]);
    let out = conn(&c)
        .sync_group(Some(&g), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    // The admin points the SCIM group at another access group.
    c.groups.insert("Engineering".into(), "43".into());
    let moved = conn(&c)
        .sync_group(Some(&g), &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(moved.state, SyncState::Synced);
    assert_eq!(moved.link.vendor_id.as_deref(), Some("43"));
    assert_eq!(
        moved.note.as_deref(),
        Some("moved from access group 42, emptied it")
    );
    let w = d.writes();
    assert_eq!(w.len(), 3);
    // The new group is filled first, then the old one emptied.
    assert_eq!(w[1].path, "/Contrast/api/ng/org-1/groups/43/users");
    assert_eq!(w[1].body, Some(json!({"users": [{"user_id": "u-1"}]})));
    assert_eq!(w[2].path, "/Contrast/api/ng/org-1/groups/42/users");
    assert_eq!(w[2].body, Some(json!({"users": []})));
    // Converged: nothing more to write.
    conn(&c)
        .sync_group(Some(&g), &moved.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(d.writes().len(), 3);

    // An access group another SCIM group maps to is not emptied.
    c.groups.insert("Engineering".into(), "44".into());
    c.groups.insert("Platform".into(), "43".into());
    let shared = conn(&c)
        .sync_group(Some(&g), &moved.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(
        shared.note.as_deref(),
        Some("moved from access group 43, left as is: another `groups` entry maps to it")
    );
    let w = d.writes();
    assert_eq!(w.len(), 4);
    assert_eq!(w[3].path, "/Contrast/api/ng/org-1/groups/44/users");
}

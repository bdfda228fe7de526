use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::deprovision_tests::keys;
use super::*;
use crate::config::UpdateMethod;
use crate::connectors::OpenGate;
use crate::connectors::http::testkit::{Double, Reply, Seen, fixture};

const CREATE: &str = include_str!("../../../tests/fixtures/connectors/carbon_black_create.json");
const PATCH: &str = include_str!("../../../tests/fixtures/connectors/carbon_black_patch.json");
const PUT: &str = include_str!("../../../tests/fixtures/connectors/carbon_black_put.json");

pub(super) const USERS: &str = "/appservices/v6/orgs/ORG1/users";
pub(super) const KEYS: &str = "/appservices/v6/orgs/ORG1/apiaccess/key";

pub(super) fn cfg(base: &str) -> TargetConfig {
    TargetConfig {
        base_url: Some(base.into()),
        org_key: Some("ORG1".into()),
        api_id: Some("APIID".into()),
        api_secret: Some(SecretString::from("CB-SECRET-XYZ")),
        ..TargetConfig::default()
    }
}

pub(super) fn conn(cfg: &TargetConfig) -> CarbonBlackConnector {
    CarbonBlackConnector::new("cb", cfg, Duration::from_secs(5), Arc::new(OpenGate)).unwrap()
}

pub(super) fn jane() -> DesiredUser {
    DesiredUser {
        scim_id: "s1".into(),
        user_name: "jane.doe@example.com".into(),
        given_name: Some("Jane".into()),
        family_name: Some("Doe".into()),
        display_name: None,
        email: Some("jane.doe@example.com".into()),
        phone: Some("+1 555 0100".into()),
        active: true,
        roles: vec!["ANALYST".into()],
        groups: vec![],
    }
}

pub(super) fn linked() -> VendorLink {
    VendorLink {
        vendor_id: Some("456".into()),
        vendor_key: Some("jane.doe@example.com".into()),
        vendor_status: Some("ACTIVE".into()),
        applied: json!({"email": "jane.doe@example.com", "first_name": "Jane",
            "last_name": "Doe", "role": "ANALYST", "phone": "+1 555 0100"}),
    }
}

pub(super) struct Vendor {
    users: Vec<Value>,
    keys: Vec<Value>,
    create_returns_id: bool,
    pub(super) delete_user: (u16, Value),
    next_id: u64,
}

/// A scripted Carbon Black: start/rows user listing, POST (with or without user_id),
/// a key listing, and configurable DELETE answers.
pub(super) async fn vendor(users: Vec<Value>, keys: Vec<Value>) -> (Double, Arc<Mutex<Vendor>>) {
    let st = Arc::new(Mutex::new(Vendor {
        users,
        keys,
        create_returns_id: true,
        delete_user: (204, Value::Null),
        next_id: 900,
    }));
    let s2 = st.clone();
    let d = Double::start(move |s: &Seen| {
        let mut v = s2.lock().unwrap();
        if s.is("GET", USERS) {
            let start: usize = s.query("start").unwrap().parse().unwrap();
            let rows: usize = s.query("rows").unwrap().parse().unwrap();
            let page: Vec<Value> = v.users.iter().skip(start).take(rows).cloned().collect();
            return Reply::json(200, json!({"users": page, "num_found": v.users.len()}));
        }
        if s.is("POST", USERS) {
            v.next_id += 1;
            let mut u = s.body.clone().unwrap();
            u["user_id"] = json!(v.next_id);
            u["status"] = json!("PENDING_ACTIVATION");
            v.users.push(u.clone());
            if !v.create_returns_id {
                return Reply::json(200, json!({"login_id": u["login_id"]}));
            }
            return Reply::json(
                200,
                json!({"user_id": v.next_id, "login_id": u["login_id"],
                "status": "PENDING_ACTIVATION"}),
            );
        }
        if s.is("GET", KEYS) {
            return Reply::json(200, json!({"results": v.keys}));
        }
        if s.is("DELETE", &format!("{USERS}/")) {
            return Reply::json(v.delete_user.0, v.delete_user.1.clone());
        }
        if s.is("PATCH", &format!("{USERS}/999")) {
            return Reply::json(
                404,
                json!({"error_code": "NOT_FOUND", "message": "no user"}),
            );
        }
        Reply::json(200, json!({}))
    })
    .await;
    (d, st)
}

#[test]
fn new_validates_and_resolves_region() {
    let mut c = cfg("http://x");
    c.base_url = None;
    assert!(
        CarbonBlackConnector::new("cb", &c, Duration::from_secs(1), Arc::new(OpenGate))
            .unwrap_err()
            .contains("targets.cb.base_url or targets.cb.region")
    );
    c.region = Some("eu".into());
    let k =
        CarbonBlackConnector::new("cb", &c, Duration::from_secs(1), Arc::new(OpenGate)).unwrap();
    assert!(format!("{k:?}").contains("defense-eu.conferdeploy.net"));
    c.api_secret = None;
    assert_eq!(
        CarbonBlackConnector::new("cb", &c, Duration::from_secs(1), Arc::new(OpenGate))
            .unwrap_err(),
        "targets.cb.api_secret is required for kind carbon_black"
    );
}

#[test]
fn role_rules() {
    let mut c = cfg("http://x");
    c.group_roles.insert("SOC".into(), "ANALYST".into());
    c.group_roles
        .insert("Admins".into(), "ADMINISTRATOR".into());
    let k = conn(&c);
    let mut d = jane();
    d.roles.clear();
    assert_eq!(k.pick_role(&d).unwrap(), "READ_ONLY_ANALYST");
    d.groups = vec!["SOC".into(), "Admins".into()];
    assert_eq!(k.pick_role(&d).unwrap(), "ADMINISTRATOR");
    d.roles = vec!["analyst".into()];
    assert!(
        k.pick_role(&d)
            .unwrap_err()
            .to_string()
            .contains("not a Carbon Black role")
    );
}

#[tokio::test]
async fn create_looks_up_then_posts_golden_body() {
    let (d, _) = vendor(
        vec![json!({"user_id": 1, "login_id": "other@x.com"})],
        vec![],
    )
    .await;
    let k = conn(&cfg(&d.base));
    let log = CallLog::default();
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &log)
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Synced);
    assert_eq!(out.link.vendor_id.as_deref(), Some("901"));
    assert_eq!(
        out.link.vendor_status.as_deref(),
        Some("PENDING_ACTIVATION")
    );
    let seen = d.requests();
    assert_eq!(seen[0].path, format!("{USERS}?start=0&rows=200"));
    assert_eq!(seen[1].body, Some(fixture(CREATE)));
    assert_eq!(seen[1].headers["x-auth-token"], "CB-SECRET-XYZ/APIID");
    let recs = log.take();
    let text = format!(
        "{recs:?} {} {:?} {k:?}",
        serde_json::to_string(&recs).unwrap(),
        out.link
    );
    assert!(!text.contains("CB-SECRET-XYZ"), "{text}");
}

#[tokio::test]
async fn create_without_user_id_relists_and_adopt_pages() {
    let (d, st) = vendor(vec![], vec![]).await;
    st.lock().unwrap().create_returns_id = false;
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.link.vendor_id.as_deref(), Some("901"));
    assert_eq!(
        out.link.vendor_status.as_deref(),
        Some("PENDING_ACTIVATION")
    );
    assert_eq!(d.requests().len(), 3);

    let mut users: Vec<Value> = (0..200)
        .map(|i| json!({"user_id": i, "login_id": format!("u{i}@x.com")}))
        .collect();
    users.push(
        json!({"user_id": 777, "login_id": "JANE.DOE@example.com", "email": "jane.doe@example.com",
        "first_name": "Jane", "last_name": "Doe", "role": "ANALYST", "phone": "+1 555 0100"}),
    );
    let (d, _) = vendor(users, vec![]).await;
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("777"));
    let seen = d.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].query("start").as_deref(), Some("200"));
}

#[tokio::test]
async fn update_patch_put_noop_and_immutable_login() {
    let (d, _) = vendor(vec![], vec![]).await;
    let mut want = jane();
    want.family_name = Some("Smith".into());
    want.roles = vec!["ADMINISTRATOR".into()];
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_user(Some(&want), &linked(), &CallLog::default())
        .await
        .unwrap();
    let again = k
        .sync_user(Some(&want), &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(again.state, SyncState::Synced);
    let w = d.writes();
    assert_eq!(w.len(), 1);
    assert!(w[0].is("PATCH", &format!("{USERS}/456")));
    assert_eq!(w[0].body, Some(fixture(PATCH)));

    let mut c = cfg(&d.base);
    c.update_method = Some(UpdateMethod::Put);
    conn(&c)
        .sync_user(Some(&want), &linked(), &CallLog::default())
        .await
        .unwrap();
    let w = d.writes();
    assert!(w[1].is("PUT", &format!("{USERS}/456")));
    assert_eq!(w[1].body, Some(fixture(PUT)));

    let mut renamed = jane();
    renamed.user_name = "jd@example.com".into();
    let e = k
        .sync_user(Some(&renamed), &linked(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("login_id is immutable at Carbon Black")
    );
    assert_eq!(d.requests().len(), 2);
}

#[tokio::test]
async fn no_keys_revoked_when_disabled_and_groups_unmapped() {
    let (d, _) = vendor(vec![], keys()).await;
    let mut c = cfg(&d.base);
    c.revoke_api_keys = Some(false);
    let k = conn(&c);
    k.sync_user(None, &linked(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(d.requests().len(), 1);
    let g = DesiredGroup {
        scim_id: "g".into(),
        display_name: "SOC".into(),
        members: vec![],
    };
    let out = k
        .sync_group(Some(&g), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Unmapped);
    assert_eq!(d.requests().len(), 1);
}

#[tokio::test]
async fn vanished_user_is_recreated_and_accounts_listed() {
    let (d, _) = vendor(
        vec![json!({"user_id": 5, "login_id": "a@x.com", "status": "ACTIVE"})],
        vec![],
    )
    .await;
    let mut link = linked();
    link.vendor_id = Some("999".into());
    link.applied = json!({});
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&jane()), &link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.link.vendor_id.as_deref(), Some("901"));
    assert_eq!(out.link.applied["previous_user_ids"], json!(["999"]));
    let all = conn(&cfg(&d.base))
        .list_accounts(&CallLog::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].vendor_id, "5");
    assert!(all[0].enabled);
}

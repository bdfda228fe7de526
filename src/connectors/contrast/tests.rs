use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::connectors::http::testkit::{Double, Reply, Seen, fixture};
use crate::connectors::{OpenGate, SyncState};

const CREATE: &str = include_str!("../../../tests/fixtures/connectors/contrast_create.json");
const UPDATE: &str = include_str!("../../../tests/fixtures/connectors/contrast_update.json");
const DISABLE: &str = include_str!("../../../tests/fixtures/connectors/contrast_disable.json");

pub(super) const ORG: &str = "org-1";

pub(super) fn cfg(base: &str) -> TargetConfig {
    TargetConfig {
        base_url: Some(format!("{base}/Contrast/api/ng")),
        org_uuid: Some(ORG.into()),
        username: Some("admin@example.com".into()),
        service_key: Some(SecretString::from("SERVICE-KEY-SECRET")),
        api_key: Some(SecretString::from("API-KEY-SECRET")),
        ..TargetConfig::default()
    }
}

pub(super) fn conn(cfg: &TargetConfig) -> ContrastConnector {
    ContrastConnector::new("ct", cfg, Duration::from_secs(5), Arc::new(OpenGate)).unwrap()
}

pub(super) fn jane() -> DesiredUser {
    DesiredUser {
        scim_id: "s1".into(),
        user_name: "jane.doe@example.com".into(),
        given_name: Some("Jane".into()),
        family_name: Some("Doe".into()),
        display_name: None,
        email: Some("jane.doe@example.com".into()),
        phone: None,
        active: true,
        roles: vec![],
        groups: vec![],
    }
}

pub(super) fn user(id: &str, name: &str) -> Value {
    json!({"user_id": id, "username": name, "first_name": "F", "last_name": "L",
           "enabled": true, "role": "ROLE_VIEW"})
}

/// A scripted Contrast: users listed with offset/limit, POST adds (with or without user_id
/// in the answer), PUT/DELETE succeed for known ids and 404 otherwise.
pub(super) async fn vendor(
    users: Vec<Value>,
    create_returns_id: bool,
) -> (Double, Arc<Mutex<Vec<Value>>>) {
    let state = Arc::new(Mutex::new(users));
    let st = state.clone();
    let d = Double::start(move |s: &Seen| {
        let base = format!("/Contrast/api/ng/{ORG}");
        let mut users = st.lock().unwrap();
        let p = s.path_only().to_string();
        if s.is("GET", &format!("{base}/users")) {
            let off: usize = s.query("offset").unwrap().parse().unwrap();
            let lim: usize = s.query("limit").unwrap().parse().unwrap();
            let page: Vec<Value> = users.iter().skip(off).take(lim).cloned().collect();
            return Reply::json(
                200,
                json!({"success": true, "users": page, "count": users.len()}),
            );
        }
        if s.is("POST", &format!("{base}/users")) {
            let b = s.body.clone().unwrap();
            let id = format!("new-{}", users.len());
            users.push(json!({"user_id": id, "username": b["email"], "enabled": true}));
            let u = if create_returns_id {
                json!({"user_id": id, "username": b["email"], "enabled": true})
            } else {
                json!({"username": b["email"], "enabled": true})
            };
            return Reply::json(200, json!({"success": true, "user": u}));
        }
        let known = users
            .iter()
            .any(|u| p.contains(&format!("/users/{}", u["user_id"].as_str().unwrap())));
        if p.starts_with(&format!("{base}/users/")) && !known {
            return Reply::json(
                404,
                json!({"success": false, "messages": ["User not found"]}),
            );
        }
        Reply::json(200, json!({"success": true, "messages": ["ok"]}))
    })
    .await;
    (d, state)
}

#[test]
fn new_names_missing_keys() {
    let mut c = cfg("http://x");
    c.api_key = None;
    let e =
        ContrastConnector::new("ct", &c, Duration::from_secs(1), Arc::new(OpenGate)).unwrap_err();
    assert_eq!(e, "targets.ct.api_key is required for kind contrast");
    let mut c = cfg("http://x");
    c.org_uuid = None;
    let e =
        ContrastConnector::new("ct", &c, Duration::from_secs(1), Arc::new(OpenGate)).unwrap_err();
    assert!(e.contains("targets.ct.org_uuid"), "{e}");
    let mut c = cfg("http://x");
    c.default_role = Some("admin".into());
    assert!(ContrastConnector::new("ct", &c, Duration::from_secs(1), Arc::new(OpenGate)).is_err());
}

#[test]
fn role_rules() {
    let mut c = cfg("http://x");
    c.group_roles.insert("Eng".into(), "ROLE_EDIT".into());
    c.group_roles.insert("Admins".into(), "ROLE_ADMIN".into());
    let k = conn(&c);
    let mut d = jane();
    assert_eq!(k.pick_role(&d).unwrap(), "ROLE_VIEW");
    d.groups = vec!["Eng".into(), "Admins".into(), "Other".into()];
    assert_eq!(k.pick_role(&d).unwrap(), "ROLE_ADMIN");
    d.roles = vec!["ROLE_RULES_ADMIN".into()];
    assert_eq!(k.pick_role(&d).unwrap(), "ROLE_RULES_ADMIN");
    d.roles = vec!["admin".into()];
    let e = k.pick_role(&d).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("role `admin` is not a Contrast role (ROLE_ADMIN")
    );
    let mut c = cfg("http://x");
    c.default_role = Some("ROLE_NO_ACCESS".into());
    assert_eq!(conn(&c).pick_role(&jane()).unwrap(), "ROLE_NO_ACCESS");
}

#[test]
fn names_are_derived_when_missing() {
    let mut d = jane();
    d.given_name = None;
    d.family_name = None;
    d.display_name = Some("Mary Ann Lee".into());
    assert_eq!(user::names(&d, "x@y"), ("Mary".into(), "Ann Lee".into()));
    d.display_name = None;
    assert_eq!(
        user::names(&d, "john.smith@y.com"),
        ("john".into(), "smith".into())
    );
    assert_eq!(
        user::names(&d, "root@y.com"),
        ("root".into(), "root".into())
    );
}

#[tokio::test]
async fn create_looks_up_first_then_posts_golden_body() {
    let (d, _) = vendor(vec![user("a", "someone@example.com")], true).await;
    let k = conn(&cfg(&d.base));
    let log = CallLog::default();
    let mut desired = jane();
    desired.roles = vec!["ROLE_EDIT".into()];
    let out = k
        .sync_user(Some(&desired), &VendorLink::default(), &log)
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Synced);
    assert_eq!(out.note.as_deref(), Some("invitation sent"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("new-1"));
    assert_eq!(out.link.vendor_key.as_deref(), Some("jane.doe@example.com"));
    let seen = d.requests();
    assert!(seen[0].is(
        "GET",
        &format!(
            "/Contrast/api/ng/org-1/users?offset=0&limit={}",
            super::PAGE_SIZE
        )
    ));
    assert_eq!(seen[1].body, Some(fixture(CREATE)));
    // Headers: Basic base64(username:service_key), API-Key, Accept.
    let basic =
        base64::engine::general_purpose::STANDARD.encode("admin@example.com:SERVICE-KEY-SECRET");
    assert_eq!(
        seen[1].headers["authorization"],
        format!("Basic {basic}").as_str()
    );
    assert_eq!(seen[1].headers["api-key"], "API-KEY-SECRET");
    assert_eq!(seen[1].headers["accept"], "application/json");
    // No secret anywhere in the call records or the link.
    let recs = log.take();
    let text = format!(
        "{recs:?} {} {:?} {k:?}",
        serde_json::to_string(&recs).unwrap(),
        out.link
    );
    for s in ["SERVICE-KEY-SECRET", "API-KEY-SECRET", basic.as_str()] {
        assert!(!text.contains(s), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn create_without_user_id_relists() {
    let (d, _) = vendor(vec![], false).await;
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.link.vendor_id.as_deref(), Some("new-0"));
    let seen = d.requests();
    assert_eq!(seen.len(), 3);
    assert!(seen[2].is("GET", "/Contrast/api/ng/org-1/users"));
}

#[tokio::test]
async fn adopts_existing_user_across_pages_and_converges() {
    let mut users: Vec<Value> = (0..super::PAGE_SIZE)
        .map(|i| user(&format!("u{i}"), &format!("p{i}@x.com")))
        .collect();
    users.push(
        json!({"user_id": "jane-id", "username": "Jane.Doe@Example.com",
        "first_name": "Jane", "last_name": "Doe", "enabled": true, "role": "ROLE_VIEW"}),
    );
    let (d, _) = vendor(users, true).await;
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("jane-id"));
    let seen = d.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1].query("offset").as_deref(),
        Some(super::PAGE_SIZE.to_string().as_str())
    );
    assert!(d.writes().is_empty(), "already matches: no PUT");
}

#[tokio::test]
async fn linked_update_puts_only_changes_and_skips_noop() {
    let (d, _) = vendor(vec![user("jane-id", "jane.doe@example.com")], true).await;
    let k = conn(&cfg(&d.base));
    let link = VendorLink {
        vendor_id: Some("jane-id".into()),
        vendor_key: Some("jane.doe@example.com".into()),
        vendor_status: None,
        applied: json!({"first_name": "Jane", "last_name": "Doe", "role": "ROLE_EDIT", "enabled": true}),
    };
    let mut desired = jane();
    desired.family_name = Some("Smith".into());
    desired.roles = vec!["ROLE_ADMIN".into()];
    let out = k
        .sync_user(Some(&desired), &link, &CallLog::default())
        .await
        .unwrap();
    let w = d.writes();
    assert_eq!(w.len(), 1);
    assert!(w[0].is("PUT", "/Contrast/api/ng/org-1/users/jane-id"));
    assert_eq!(w[0].body, Some(fixture(UPDATE)));
    // Again with the returned link: nothing to do.
    let again = k
        .sync_user(Some(&desired), &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(again.state, SyncState::Synced);
    assert_eq!(d.requests().len(), 1);
}

#[tokio::test]
async fn deactivate_and_disable_methods() {
    let (d, _) = vendor(vec![user("jane-id", "jane.doe@example.com")], true).await;
    let link = VendorLink {
        vendor_id: Some("jane-id".into()),
        vendor_key: Some("jane.doe@example.com".into()),
        vendor_status: None,
        applied: json!({"first_name": "Jane", "last_name": "Doe", "role": "ROLE_VIEW", "enabled": true}),
    };
    let mut desired = jane();
    desired.active = false;
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&desired), &link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    let w = d.writes();
    assert_eq!(w[0].path, "/Contrast/api/ng/org-1/users/jane-id");
    assert_eq!(w[0].body, Some(fixture(DISABLE)));

    let mut c = cfg(&d.base);
    c.disable_method = Some(ContrastDisableMethod::EnabledPut);
    let out = conn(&c)
        .sync_user(None, &link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    assert_eq!(out.link.vendor_id.as_deref(), Some("jane-id"));
    let w = d.writes();
    assert_eq!(w[1].path, "/Contrast/api/ng/org-1/users/jane-id/enabled");
    assert_eq!(w[1].body, Some(fixture(DISABLE)));
}

#[tokio::test]
async fn rename_and_bad_role_fail_without_calls() {
    let (d, _) = vendor(vec![], true).await;
    let k = conn(&cfg(&d.base));
    let link = VendorLink {
        vendor_id: Some("jane-id".into()),
        vendor_key: Some("old@example.com".into()),
        ..VendorLink::default()
    };
    let e = k
        .sync_user(Some(&jane()), &link, &CallLog::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Contrast usernames are immutable: cannot rename old@example.com to \
         jane.doe@example.com; deprovision and re-create the user"
    );
    let mut desired = jane();
    desired.roles = vec!["admin".into()];
    let e = k
        .sync_user(Some(&desired), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    assert!(d.requests().is_empty());
}

#[tokio::test]
async fn vanished_linked_user_is_recreated() {
    let (d, _) = vendor(vec![], true).await;
    let link = VendorLink {
        vendor_id: Some("gone".into()),
        vendor_key: Some("jane.doe@example.com".into()),
        vendor_status: None,
        applied: json!({}),
    };
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&jane()), &link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.link.vendor_id.as_deref(), Some("new-0"));
    assert_eq!(out.link.applied["previous_user_ids"], json!(["gone"]));
    let seen = d.requests();
    assert!(seen[0].is("PUT", "/Contrast/api/ng/org-1/users/gone"));
    assert!(seen[2].is("POST", "/Contrast/api/ng/org-1/users"));
}

#[tokio::test]
async fn delete_mode_and_unlinked_delete() {
    let (d, _) = vendor(vec![user("jane-id", "jane.doe@example.com")], true).await;
    let mut c = cfg(&d.base);
    c.on_delete = Some(OnDelete::Delete);
    let k = conn(&c);
    let out = k
        .sync_user(None, &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    assert!(d.requests().is_empty());
    let link = VendorLink {
        vendor_id: Some("jane-id".into()),
        ..VendorLink::default()
    };
    let out = k.sync_user(None, &link, &CallLog::default()).await.unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    assert_eq!(out.link.vendor_id, None);
    assert_eq!(out.link.applied["previous_user_ids"], json!(["jane-id"]));
    assert!(d.requests()[0].is("DELETE", "/Contrast/api/ng/org-1/users/jane-id"));
}

#[tokio::test]
async fn list_accounts_all_pages_and_success_false() {
    let n = super::PAGE_SIZE * 2 + 10;
    let users: Vec<Value> = (0..n)
        .map(|i| user(&format!("u{i}"), &format!("p{i}@x.com")))
        .collect();
    let (d, _) = vendor(users, true).await;
    let all = conn(&cfg(&d.base))
        .list_accounts(&CallLog::default())
        .await
        .unwrap();
    assert_eq!(all.len(), n as usize);
    assert_eq!(d.requests().len(), 3);
    assert_eq!(all[n as usize - 1].key, format!("p{}@x.com", n - 1));

    let d =
        Double::start(|_| Reply::json(200, json!({"success": false, "messages": ["nope"]}))).await;
    let e = conn(&cfg(&d.base))
        .list_accounts(&CallLog::default())
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("nope"));
}

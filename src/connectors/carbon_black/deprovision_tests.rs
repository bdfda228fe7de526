use serde_json::{Value, json};

use super::tests::{KEYS, USERS, cfg, conn, jane, linked, vendor};
use super::*;
use crate::config::KeyRevokeMethod;
use crate::connectors::http::testkit::fixture;

const KEY_DISABLE: &str =
    include_str!("../../../tests/fixtures/connectors/carbon_black_key_disable.json");

pub(super) fn keys() -> Vec<Value> {
    vec![
        json!({"id": "K1", "owner_login_id": "Jane.Doe@example.com", "status": "ENABLED"}),
        json!({"id": "K2", "owner_login_id": "456", "status": "ENABLED"}),
        json!({"id": "K3", "owner_login_id": "bob@example.com", "status": "ENABLED"}),
        json!({"id": "K4", "name": "no owner"}),
    ]
}

#[tokio::test]
async fn deprovision_revokes_keys_then_deletes() {
    let (d, _) = vendor(vec![], keys()).await;
    let out = conn(&cfg(&d.base))
        .sync_user(None, &linked(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    assert_eq!(out.note.as_deref(), Some("revoked 2 API keys: K1, K2"));
    assert_eq!(out.link.vendor_id, None);
    assert_eq!(out.link.applied["previous_user_ids"], json!(["456"]));
    assert_eq!(out.link.applied["revoked_keys"], json!(["K1", "K2"]));
    let w: Vec<String> = d
        .writes()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        w,
        vec![
            format!("DELETE {KEYS}/K1"),
            format!("DELETE {KEYS}/K2"),
            format!("DELETE {USERS}/456"),
        ]
    );

    // Reactivation: a new user, the old id kept.
    let mut back = jane();
    back.active = true;
    let again = conn(&cfg(&d.base))
        .sync_user(Some(&back), &out.link, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(again.link.vendor_id.as_deref(), Some("901"));
    assert_eq!(again.link.applied["previous_user_ids"], json!(["456"]));
}

#[tokio::test]
async fn inactive_user_is_deleted_with_disable_method_for_keys() {
    let (d, st) = vendor(vec![], keys()).await;
    st.lock().unwrap().delete_user = (404, json!({"message": "not found"}));
    let mut c = cfg(&d.base);
    c.api_key_revoke_method = Some(KeyRevokeMethod::Disable);
    let mut inactive = jane();
    inactive.active = false;
    let out = conn(&c)
        .sync_user(Some(&inactive), &linked(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    let w = d.writes();
    assert!(w[0].is("PUT", &format!("{KEYS}/K1")));
    assert_eq!(w[0].body, Some(fixture(KEY_DISABLE)));
    assert_eq!(
        w.len(),
        3,
        "K1, K2 disabled; user DELETE answered 404 = gone"
    );
}

#[tokio::test]
async fn last_admin_refusal_is_permanent_after_keys_revoked() {
    let (d, st) = vendor(vec![], keys()).await;
    st.lock().unwrap().delete_user = (
        400,
        json!({"error_code": "INVALID", "message": "Cannot delete the last administrator of the org"}),
    );
    let e = conn(&cfg(&d.base))
        .sync_user(None, &linked(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    assert!(
        e.to_string().starts_with(
            "Carbon Black refuses to delete the last administrator (login jane.doe@example.com); \
             assign another administrator first"
        ),
        "{e}"
    );
    assert!(e.to_string().contains("revoked 2 API keys: K1, K2"));
    assert_eq!(d.writes().len(), 3);
}

/// Found by the crash test: the create reached Carbon Black but its answer was lost, then
/// the user was deactivated. The unlinked account must be found by login and deleted.
#[tokio::test]
async fn inactive_unlinked_user_is_looked_up_and_deleted() {
    let users = vec![json!({"user_id": 777, "login_id": "JANE.DOE@example.com"})];
    let (d, _) = vendor(users, vec![]).await;
    let mut inactive = jane();
    inactive.active = false;
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&inactive), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.state, SyncState::Deprovisioned);
    let w: Vec<String> = d
        .writes()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert!(w.contains(&format!("DELETE {USERS}/777")), "{w:?}");
}

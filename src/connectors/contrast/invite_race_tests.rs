//! An invitation that races another one for the same login.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::lookup_tests::calls;
use super::tests::{ORG, cfg, conn, jane};
use crate::connectors::http::testkit::{Double, Reply, Seen};
use crate::connectors::{CallLog, Connector, SyncState, VendorLink};

/// A Contrast where Jane is invited by someone else between the bridge's look-up and its
/// own invitation: the first listing is empty, the POST answers 409, and from then on
/// Jane is listed (as `listed_after` says).
async fn raced_vendor(listed_after: bool) -> Double {
    let posted = Arc::new(Mutex::new(false));
    Double::start(move |s: &Seen| {
        let users = format!("/Contrast/api/ng/{ORG}/users");
        let mut posted = posted.lock().unwrap();
        if s.is("POST", &users) {
            *posted = true;
            return Reply::json(
                409,
                json!({"success": false, "messages": ["A user with username 'jane.doe@example.com' already exists"]}),
            );
        }
        if s.is("GET", &users) {
            let page = if *posted && listed_after {
                vec![json!({"user_id": "jane-id", "username": "jane.doe@example.com",
                            "first_name": "Jane", "last_name": "Doe", "enabled": true,
                            "role": "ROLE_EDIT"})]
            } else {
                vec![]
            };
            let n = page.len();
            return Reply::json(200, json!({"success": true, "users": page, "count": n}));
        }
        Reply::json(200, json!({"success": true, "messages": ["ok"]}))
    })
    .await
}

/// The 409 is answered by a fresh look-up and the account adopted (its role set to the
/// desired one), not a permanent failure and not a second invitation.
#[tokio::test]
async fn a_409_invitation_adopts_the_account_invited_meanwhile() {
    let d = raced_vendor(true).await;
    let k = conn(&cfg(&d.base));
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("jane-id"));
    assert_eq!(out.state, SyncState::Synced);
    let seen = calls(&d);
    let users = format!("/Contrast/api/ng/{ORG}/users");
    assert_eq!(
        seen,
        [
            format!("GET {users}"),
            format!("POST {users}"),
            format!("GET {users}"),
            format!("PUT {users}/jane-id"),
        ],
        "one invitation, then adopted and converged (ROLE_EDIT -> ROLE_VIEW)"
    );
}

/// A 409 for a login Contrast does not list (yet) is retried later, not given up.
#[tokio::test]
async fn a_409_for_an_unlisted_login_is_retried() {
    let d = raced_vendor(false).await;
    let k = conn(&cfg(&d.base));
    let e = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("409"), "{e}");
}

/// After "absent" from the index, a 400 that says the user exists is checked by a fresh
/// look-up too (Contrast documents no status for a taken username): Jane, invited by an
/// admin after the listing the index holds, is adopted.
#[tokio::test]
async fn a_refusal_after_an_answer_from_the_index_is_looked_up() {
    let users = Arc::new(Mutex::new(Vec::<serde_json::Value>::new()));
    let st = users.clone();
    let d = Double::start(move |s: &Seen| {
        let path = format!("/Contrast/api/ng/{ORG}/users");
        let mut users = st.lock().unwrap();
        if s.is("POST", &path) {
            let email = s.body.clone().unwrap()["email"].clone();
            if email == "jane.doe@example.com" {
                users.push(
                    json!({"user_id": "jane-id", "username": email, "first_name": "Jane",
                                  "last_name": "Doe", "enabled": true, "role": "ROLE_VIEW"}),
                );
                return Reply::json(
                    400,
                    json!({"success": false, "messages": ["User already exists"]}),
                );
            }
            users.push(json!({"user_id": "other-id", "username": email}));
            return Reply::json(
                200,
                json!({"success": true, "user": {"user_id": "other-id"}}),
            );
        }
        if s.is("GET", &path) {
            let n = users.len();
            return Reply::json(200, json!({"success": true, "users": *users, "count": n}));
        }
        Reply::json(200, json!({"success": true}))
    })
    .await;
    let k = conn(&cfg(&d.base));
    let mut other = jane();
    other.user_name = "other@example.com".into();
    other.email = Some(other.user_name.clone());
    k.sync_user(Some(&other), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("jane-id"));
}

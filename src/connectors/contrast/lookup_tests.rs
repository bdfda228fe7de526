//! The look-ups before creates, with the index of listed logins (`connectors::login_index`).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::tests::{ORG, cfg, conn, jane, user, vendor};
use crate::connectors::http::testkit::{Double, Reply, Seen};
use crate::connectors::{CallLog, Connector, DesiredUser, VendorLink};

fn person(n: usize) -> DesiredUser {
    let mut d = jane();
    d.user_name = format!("new{n}@example.com");
    d.email = Some(d.user_name.clone());
    d
}

/// The requests `d` saw, as "METHOD path".
pub(super) fn calls(d: &Double) -> Vec<String> {
    d.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_only()))
        .collect()
}

/// 150 users at Contrast (two pages), then three new users: one listing for the three
/// with the index, one per create without it.
#[tokio::test]
async fn creates_within_the_index_age_share_one_listing() {
    let users: Vec<Value> = (0..150)
        .map(|i| user(&format!("u{i}"), &format!("p{i}@x.com")))
        .collect();
    let list = format!("GET /Contrast/api/ng/{ORG}/users");
    let post = format!("POST /Contrast/api/ng/{ORG}/users");
    for (age, lists) in [(None, 1), (Some(0), 3)] {
        let (d, _) = vendor(users.clone(), true).await;
        let mut c = cfg(&d.base);
        c.lookup_cache_secs = age;
        let k = conn(&c);
        for n in 0..3 {
            let out = k
                .sync_user(
                    Some(&person(n)),
                    &VendorLink::default(),
                    &CallLog::default(),
                )
                .await
                .unwrap();
            assert_eq!(out.note.as_deref(), Some("invitation sent"));
        }
        let seen = calls(&d);
        assert_eq!(
            seen.iter().filter(|c| **c == list).count(),
            2 * lists,
            "{age:?}: {seen:?}"
        );
        assert_eq!(seen.iter().filter(|c| **c == post).count(), 3, "{seen:?}");
    }
}

/// An invitation applied whose answer was lost (500): the next attempt looks the login up
/// afresh, though the index's listing (from before the invitation) does not have it, and
/// adopts the account instead of inviting again.
#[tokio::test]
async fn a_login_invited_here_is_looked_up_afresh() {
    let users = Arc::new(Mutex::new(Vec::<Value>::new()));
    let st = users.clone();
    let d = Double::start(move |s: &Seen| {
        let path = format!("/Contrast/api/ng/{ORG}/users");
        let mut users = st.lock().unwrap();
        if s.is("POST", &path) {
            let b = s.body.clone().unwrap();
            users.push(
                json!({"user_id": "jane-id", "username": b["email"], "first_name": "Jane",
                              "last_name": "Doe", "enabled": true, "role": "ROLE_VIEW"}),
            );
            return Reply::json(500, json!({"success": false, "messages": ["lost"]}));
        }
        if s.is("GET", &path) {
            let n = users.len();
            return Reply::json(200, json!({"success": true, "users": *users, "count": n}));
        }
        Reply::json(200, json!({"success": true}))
    })
    .await;
    let k = conn(&cfg(&d.base));
    let e = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    let out = k
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("jane-id"));
    let posts = calls(&d).iter().filter(|c| c.starts_with("POST")).count();
    assert_eq!(posts, 1, "{:?}", calls(&d));
}

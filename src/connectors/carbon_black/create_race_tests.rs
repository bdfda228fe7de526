//! The look-up before a create: the index of listed logins, and a create that races
//! another one for the same login.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::tests::{USERS, cfg, conn, jane, vendor};
use crate::connectors::http::testkit::{Double, Reply, Seen};
use crate::connectors::{CallLog, Connector, SyncState, VendorLink};

/// A Carbon Black where Jane is created by someone else between the bridge's look-up and
/// its own POST: the first listing is empty, the POST answers 409, and from then on Jane
/// is listed (as `listed_after` says), with another role than the desired one.
async fn raced_vendor(listed_after: bool) -> Double {
    let posted = Arc::new(Mutex::new(false));
    Double::start(move |s: &Seen| {
        let mut posted = posted.lock().unwrap();
        if s.is("POST", USERS) {
            *posted = true;
            return Reply::json(
                409,
                json!({"error_code": "CONFLICT", "message": "A user with login_id 'jane.doe@example.com' already exists"}),
            );
        }
        if s.is("GET", USERS) {
            let page = if *posted && listed_after {
                vec![json!({"user_id": 777, "login_id": "jane.doe@example.com",
                    "email": "jane.doe@example.com", "first_name": "Jane", "last_name": "Doe",
                    "role": "READ_ONLY_ANALYST", "phone": "+1 555 0100", "status": "ACTIVE"})]
            } else {
                vec![]
            };
            let n = page.len();
            return Reply::json(200, json!({"users": page, "num_found": n}));
        }
        Reply::json(200, json!({}))
    })
    .await
}

/// The 409 is answered by a fresh look-up and the account adopted (its role changed to
/// the desired one), not a permanent failure and not a second create.
#[tokio::test]
async fn a_409_create_adopts_the_account_created_meanwhile() {
    let d = raced_vendor(true).await;
    let out = conn(&cfg(&d.base))
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap();
    assert_eq!(out.note.as_deref(), Some("adopted existing account"));
    assert_eq!(out.link.vendor_id.as_deref(), Some("777"));
    assert_eq!(out.state, SyncState::Synced);
    let seen: Vec<String> = d
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_only()))
        .collect();
    assert_eq!(
        seen,
        [
            format!("GET {USERS}"),
            format!("POST {USERS}"),
            format!("GET {USERS}"),
            format!("PATCH {USERS}/777"),
        ],
        "one create, then adopted and its role set"
    );
}

/// A 409 for a login Carbon Black does not list (yet) is retried later, not given up.
#[tokio::test]
async fn a_409_for_an_unlisted_login_is_retried() {
    let d = raced_vendor(false).await;
    let e = conn(&cfg(&d.base))
        .sync_user(Some(&jane()), &VendorLink::default(), &CallLog::default())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("409"), "{e}");
}

/// 250 users at Carbon Black (two pages), then three new users: one listing for the three
/// with the index, one per create without it (`lookup_cache_secs = 0`).
#[tokio::test]
async fn creates_within_the_index_age_share_one_listing() {
    let users: Vec<Value> = (0..250)
        .map(|i| json!({"user_id": i, "login_id": format!("u{i}@x.com")}))
        .collect();
    for (age, lists) in [(None, 1), (Some(0), 3)] {
        let (d, _) = vendor(users.clone(), vec![]).await;
        let mut c = cfg(&d.base);
        c.lookup_cache_secs = age;
        let k = conn(&c);
        for n in 0..3 {
            let mut who = jane();
            who.user_name = format!("new{n}@example.com");
            who.email = Some(who.user_name.clone());
            k.sync_user(Some(&who), &VendorLink::default(), &CallLog::default())
                .await
                .unwrap();
        }
        let seen = d.requests();
        let gets = seen.iter().filter(|r| r.is("GET", USERS)).count();
        let posts = seen.iter().filter(|r| r.is("POST", USERS)).count();
        assert_eq!((gets, posts), (2 * lists, 3), "{age:?}");
    }
}

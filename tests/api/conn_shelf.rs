//! One-statement reads and creates on Postgres borrow connections from a shelf outside
//! sqlx's pool (no release ping, docs/performance.md round 3). A connection whose query
//! was cut off mid-flight must never be reused (it would hand the next query the old
//! answer), and closing the store must not wait for shelved connections.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::*;
use scim_bridge::scim::ResourceType;

async fn create(app: &TestApp, name: &str) -> String {
    let (s, u) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

both!(
    cancelled_reads_never_hand_out_a_stale_answer,
    |b| async move {
        let app = spawn_app(b).await;
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(create(&app, &format!("shelf{i}@example.com")).await);
        }
        let store = app.store().clone();
        for round in 0..200u64 {
            let cut = &ids[(round % 4) as usize];
            // Cut the read off somewhere between sending and reading its answer.
            let delay = Duration::from_micros(round * 7 % 400);
            let _ = tokio::time::timeout(
                delay,
                store.get_resource("t1", ResourceType::User, cut, None),
            )
            .await;
            let want = &ids[((round + 1) % 4) as usize];
            let got = store
                .get_resource("t1", ResourceType::User, want, None)
                .await
                .expect("read after a cancelled one")
                .expect("the user exists");
            assert_eq!(
                &got.id, want,
                "round {round}: a stale answer was handed out"
            );
        }
        // Concurrent filter lookups each get their own user.
        let mut tasks = Vec::new();
        for i in 0..4 {
            let url = app.url("t1", "/Users");
            let token = app.tokens["t1"].clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                for _ in 0..25 {
                    let filter = format!("userName eq \"shelf{i}@example.com\"");
                    let body: serde_json::Value = client
                        .get(&url)
                        .query(&[("filter", filter)])
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(body["totalResults"], 1, "{body}");
                    assert_eq!(
                        body["Resources"][0]["userName"],
                        format!("shelf{i}@example.com")
                    );
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // The pool's close waits for checked-out connections; shelved ones are given back.
        tokio::time::timeout(Duration::from_secs(10), store.close())
            .await
            .expect("closing the store does not wait for shelved connections");
    }
);

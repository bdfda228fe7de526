use serde_json::json;

use super::Fixture;
use crate::sim::Faults;
use crate::sim::contrast::*;

#[tokio::test]
async fn create_invites_and_accept_activates() {
    let f = Fixture::new().await;
    let (status, body) = f.create("jane@example.com", "ROLE_EDIT").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["username"], "jane@example.com");
    assert_eq!(body["user"]["enabled"], true);
    let id = body["user"]["user_id"].as_str().unwrap().to_string();

    let user = f.sim.user_by_username("JANE@example.com").unwrap();
    assert_eq!(user.user_id, id);
    assert_eq!(user.invitation_status, InvitationStatus::Pending);
    assert!(user.date_created > 0);

    let (status, body) = f.send(f.http.get(f.url(&format!("/users/{id}")))).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["invitation_status"], "PENDING");
    assert_eq!(body["user"]["role"], "ROLE_EDIT");

    let r = f
        .http
        .post(format!("{}/_sim/users/{id}/accept", f.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user = f.sim.user(&id).unwrap();
    assert_eq!(user.invitation_status, InvitationStatus::Accepted);
    assert!(user.last_login.is_some());

    let (status, body) = f.create("Jane@Example.com", "ROLE_VIEW").await;
    assert_eq!(status, 409);
    assert!(
        body["messages"][0]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert_eq!(f.sim.users().len(), 1);

    let (status, _) = f.send(f.http.get(f.url("/users/unknown"))).await;
    assert_eq!(status, 404);
    f.server.shutdown().await;
}

#[tokio::test]
async fn create_validates_fields_and_roles() {
    let f = Fixture::new().await;
    let (status, body) = f.create("jane@example.com", "role_edit").await;
    assert_eq!(status, 400);
    assert_eq!(body["success"], false);
    assert_eq!(body["errors"][0]["field"], "role");
    let (status, _) = f.create("not-an-email", "ROLE_EDIT").await;
    assert_eq!(status, 400);
    let (status, body) = f
        .send(
            f.http
                .post(f.url("/users"))
                .json(&json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
    let (status, _) = f
        .send(
            f.http
                .post(f.url("/users"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(status, 400);
    for role in [
        "ROLE_ADMIN",
        "ROLE_EDIT",
        "ROLE_RULES_ADMIN",
        "ROLE_VIEW",
        "ROLE_NO_ACCESS",
    ] {
        let (status, _) = f.create(&format!("{role}@example.com"), role).await;
        assert_eq!(status, 200, "{role}");
    }
    let (status, body) = f.send(f.http.get(f.url("/roles"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["roles"].as_array().unwrap().len(), 5);
    f.server.shutdown().await;
}

#[tokio::test]
async fn update_disable_and_delete() {
    let f = Fixture::new().await;
    let (_, body) = f.create("jane@example.com", "ROLE_EDIT").await;
    let id = body["user"]["user_id"].as_str().unwrap().to_string();
    let path = format!("/users/{id}");

    let (status, body) = f
        .send(
            f.http
                .put(f.url(&path))
                .json(&json!({"last_name":"Smith","role":"ROLE_ADMIN"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["role"], "ROLE_ADMIN");
    assert_eq!(f.sim.user(&id).unwrap().last_name, "Smith");

    let (status, _) = f
        .send(f.http.put(f.url(&path)).json(&json!({"enabled": false})))
        .await;
    assert_eq!(status, 200);
    assert!(!f.sim.user(&id).unwrap().enabled);

    let (status, _) = f
        .send(
            f.http
                .put(f.url(&format!("{path}/enabled")))
                .json(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(f.sim.user(&id).unwrap().enabled);

    let (status, body) = f
        .send(
            f.http
                .put(f.url(&path))
                .json(&json!({"email":"other@example.com"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["messages"][0], "username cannot be changed");
    let (status, _) = f
        .send(
            f.http
                .put(f.url(&path))
                .json(&json!({"username":"jane@example.com","role":"ROLE_VIEW"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = f
        .send(f.http.put(f.url(&path)).json(&json!({"role":"ADMIN"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(f.sim.user(&id).unwrap().role, "ROLE_VIEW");

    let (status, body) = f.send(f.http.delete(f.url(&path))).await;
    assert_eq!(status, 200);
    assert_eq!(body["messages"][0], "User deleted successfully.");
    assert!(f.sim.user(&id).is_none());
    let (status, _) = f.send(f.http.delete(f.url(&path))).await;
    assert_eq!(status, 404);
    f.server.shutdown().await;
}

#[tokio::test]
async fn paging_offset_limit() {
    let f = Fixture::new().await;
    f.sim.seed_people(30);
    let (_, body) = f.send(f.http.get(f.url("/users"))).await;
    assert_eq!(body["users"].as_array().unwrap().len(), 25);
    assert_eq!(body["count"], 30);
    let (_, body) = f
        .send(
            f.http
                .get(f.url("/users"))
                .query(&[("offset", "25"), ("limit", "25")]),
        )
        .await;
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[4]["username"], "person30@example.com");
    let (status, _) = f
        .send(f.http.get(f.url("/users")).query(&[("offset", "-1")]))
        .await;
    assert_eq!(status, 400);
    let (_, body) = f
        .send(
            f.http
                .get(f.url("/groups"))
                .query(&[("offset", "1"), ("limit", "1")]),
        )
        .await;
    assert_eq!(body["count"], 3);
    assert_eq!(body["groups"][0]["group_id"], "g-2");
    f.server.shutdown().await;
}

#[tokio::test]
async fn missing_user_id_fault_still_creates() {
    let f = Fixture::new().await;
    f.sim.set_faults(Faults {
        missing_user_id_rate: 1.0,
        ..Faults::default()
    });
    let (status, body) = f.create("jane@example.com", "ROLE_EDIT").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"success": true}));
    assert!(f.sim.user_by_username("jane@example.com").is_some());
    f.server.shutdown().await;
}

use serde_json::{Value, json};

use super::*;
use crate::sim::test_support::client;

struct Fixture {
    sim: ContrastSim,
    server: SimServer,
    http: reqwest::Client,
}

impl Fixture {
    async fn new() -> Self {
        let sim = ContrastSim::default();
        let server = sim.start().await.unwrap();
        Fixture {
            sim,
            server,
            http: client(),
        }
    }

    fn url(&self, rest: &str) -> String {
        let org = &self.sim.config().org_uuid;
        format!("{}{BASE_PATH}/{org}{rest}", self.server.base_url())
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let cfg = self.sim.config();
        rb.basic_auth(&cfg.username, Some(&cfg.service_key))
            .header("API-Key", &cfg.api_key)
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let r = self.authed(rb).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, email: &str, role: &str) -> (u16, Value) {
        let body = json!({"first_name":"Jane","last_name":"Doe","email":email,"role":role});
        self.send(self.http.post(self.url("/users")).json(&body))
            .await
    }
}

#[tokio::test]
async fn auth_requires_both_headers() {
    let f = Fixture::new().await;
    let cfg = f.sim.config().clone();
    let no_auth = f.http.get(f.url("/users")).send().await.unwrap();
    assert_eq!(no_auth.status(), 401);
    let only_basic = f
        .http
        .get(f.url("/users"))
        .basic_auth(&cfg.username, Some(&cfg.service_key))
        .send()
        .await
        .unwrap();
    assert_eq!(only_basic.status(), 401);
    let wrong_key = f
        .http
        .get(f.url("/users"))
        .basic_auth(&cfg.username, Some("nope"))
        .header("API-Key", &cfg.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    let body: Value = wrong_key.json().await.unwrap();
    assert_eq!(body["success"], false);

    let (status, _) = f.send(f.http.get(f.url("/users"))).await;
    assert_eq!(status, 200);
    let other_org = format!("{}{BASE_PATH}/not-our-org/users", f.server.base_url());
    let (status, body) = f.send(f.http.get(other_org)).await;
    assert_eq!(status, 403);
    assert_eq!(body["success"], false);
    let (status, body) = f
        .send(
            f.http
                .get(format!("{}{BASE_PATH}/profile", f.server.base_url())),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["username"], cfg.username);

    let statuses: Vec<u16> = f.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![401, 401, 401, 200, 403, 200]);
    f.server.shutdown().await;
}

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
async fn group_put_replaces_whole_membership() {
    let f = Fixture::new().await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let (_, body) = f.create(&format!("{name}@example.com"), "ROLE_VIEW").await;
        ids.push(body["user"]["user_id"].as_str().unwrap().to_string());
    }
    let members = |list: &[&String]| json!({"users": list.iter().map(|id| json!({"user_id": id})).collect::<Vec<_>>()});
    let (status, body) = f
        .send(
            f.http
                .put(f.url("/groups/g-1/users"))
                .json(&members(&[&ids[0], &ids[1]])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        f.sim.group_members("g-1"),
        vec![ids[0].clone(), ids[1].clone()]
    );

    // Replacing, not adding: only c remains.
    f.send(
        f.http
            .put(f.url("/groups/g-1/users"))
            .json(&members(&[&ids[2]])),
    )
    .await;
    assert_eq!(f.sim.group_members("g-1"), vec![ids[2].clone()]);

    // Unknown user: 400, membership untouched.
    let ghost = "ghost".to_string();
    let (status, _) = f
        .send(
            f.http
                .put(f.url("/groups/g-1/users"))
                .json(&members(&[&ids[0], &ghost])),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(f.sim.group_members("g-1"), vec![ids[2].clone()]);
    let (status, _) = f
        .send(
            f.http
                .put(f.url("/groups/g-9/users"))
                .json(&members(&[&ids[0]])),
        )
        .await;
    assert_eq!(status, 404);

    // Public-docs variant with the full group body.
    let mut body = members(&[&ids[0]]);
    body["name"] = json!("Developers");
    let (status, resp) = f.send(f.http.put(f.url("/groups/g-1")).json(&body)).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(f.sim.group_members("g-1"), vec![ids[0].clone()]);

    let (_, list) = f.send(f.http.get(f.url("/groups"))).await;
    assert_eq!(list["groups"][0]["users"][0]["user_id"], ids[0].as_str());
    let (_, user) = f
        .send(f.http.get(f.url(&format!("/users/{}", ids[0]))))
        .await;
    assert_eq!(user["user"]["groups"][0]["group_id"], "g-1");

    // Deleting a user drops its memberships.
    f.sim.delete_user(&ids[0]);
    assert!(f.sim.group_members("g-1").is_empty());
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

#[tokio::test]
async fn faults_429_and_apply_then_fail_over_http() {
    let f = Fixture::new().await;
    let base = f.server.base_url();
    let r = f
        .http
        .put(format!("{base}/_sim/faults"))
        .json(&json!({"rate_limit_per_sec": 0.01, "rate_limit_burst": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = f.send(f.http.get(f.url("/users"))).await;
    assert_eq!(status, 200);
    let r = f.authed(f.http.get(f.url("/users"))).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());

    f.sim.set_faults(Faults {
        apply_then_fail_rate: 1.0,
        ..Faults::default()
    });
    let (status, _) = f.create("crash@example.com", "ROLE_EDIT").await;
    assert_eq!(status, 500);
    assert!(f.sim.user_by_username("crash@example.com").is_some());

    f.sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (status, _) = f.create("never@example.com", "ROLE_EDIT").await;
    assert!([500, 502, 503].contains(&status));
    assert!(f.sim.user_by_username("never@example.com").is_none());

    let calls: Vec<RecordedCall> = f
        .http
        .get(format!("{base}/_sim/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[2].method, "POST");
    assert_eq!(
        calls[2].body.as_ref().unwrap()["email"],
        "crash@example.com"
    );
    f.http
        .delete(format!("{base}/_sim/calls"))
        .send()
        .await
        .unwrap();
    assert!(f.sim.calls().is_empty());
    f.server.shutdown().await;
}

#[tokio::test]
async fn control_routes_change_state_behind_the_back() {
    let f = Fixture::new().await;
    let base = f.server.base_url();
    let r = f
        .http
        .post(format!("{base}/_sim/users"))
        .json(&json!({"email": "extra@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    f.http
        .put(format!("{base}/_sim/users/{id}"))
        .json(&json!({"enabled": false, "role": "ROLE_ADMIN"}))
        .send()
        .await
        .unwrap();
    let u = f.sim.user(&id).unwrap();
    assert!(!u.enabled);
    assert_eq!(u.role, "ROLE_ADMIN");
    let r = f
        .http
        .post(format!("{base}/_sim/groups"))
        .json(&json!({"name": "Ops"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["group_id"], "g-4");
    let state: Value = f
        .http
        .get(format!("{base}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["users"].as_array().unwrap().len(), 1);
    assert_eq!(state["groups"].as_array().unwrap().len(), 4);
    let r = f
        .http
        .delete(format!("{base}/_sim/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(f.sim.users().is_empty());
    assert!(f.sim.calls().is_empty(), "control routes are not recorded");
    f.server.shutdown().await;
}

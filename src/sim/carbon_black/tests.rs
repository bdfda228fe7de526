use serde_json::{Value, json};

use super::*;
use crate::sim::tests::client;
use crate::sim::{Faults, SimServer};

struct Fixture {
    sim: CarbonBlackSim,
    server: SimServer,
    http: reqwest::Client,
}

impl Fixture {
    async fn with(cfg: CarbonBlackSimConfig) -> Self {
        let sim = CarbonBlackSim::new(cfg);
        let server = sim.start().await.unwrap();
        Fixture {
            sim,
            server,
            http: client(),
        }
    }

    async fn new() -> Self {
        Self::with(CarbonBlackSimConfig::default()).await
    }

    fn url(&self, rest: &str) -> String {
        format!("{}{}{rest}", self.server.base_url(), self.sim.org_path())
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let cfg = self.sim.config();
        let token = format!("{}/{}", cfg.api_secret, cfg.api_id);
        let r = rb.header("X-Auth-Token", token).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, login: &str, role: &str) -> (u16, Value) {
        let body = json!({
            "login_id": login, "email": login, "first_name": "John", "last_name": "Smith",
            "role": role,
        });
        self.send(self.http.post(self.url("/users")).json(&body))
            .await
    }
}

#[tokio::test]
async fn auth_token_must_match() {
    let f = Fixture::new().await;
    let r = f.http.get(f.url("/users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = f
        .http
        .get(f.url("/users"))
        .header("X-Auth-Token", "APIID0001/api-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "id and secret swapped");
    let (status, body) = f.send(f.http.get(f.url("/users"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["num_found"], 1);
    assert_eq!(body["users"][0]["login_id"], OWNER_LOGIN);
    let other = format!("{}/appservices/v6/orgs/OTHER/users", f.server.base_url());
    let (status, _) = f.send(f.http.get(other)).await;
    assert_eq!(status, 403);
    let statuses: Vec<u16> = f.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![401, 401, 200, 403]);
    f.server.shutdown().await;
}

#[tokio::test]
async fn create_is_pending_until_activated_and_ids_are_never_reused() {
    let f = Fixture::new().await;
    let (status, body) = f.create("newuser@example.com", "ANALYST").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "PENDING_ACTIVATION");
    assert_eq!(body["login_id"], "newuser@example.com");
    let id = body["user_id"].as_u64().unwrap();
    assert_eq!(id, 2);

    let (status, body) = f.send(f.http.get(f.url(&format!("/users/{id}")))).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "PENDING_ACTIVATION");
    assert_eq!(body["first_name"], "John");

    let r = f
        .http
        .post(format!("{}/_sim/users/{id}/activate", f.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(f.sim.user(id).unwrap().status, UserStatus::Active);

    let (status, body) = f.create("NEWUSER@example.com", "ANALYST").await;
    assert_eq!(status, 409, "{body}");

    let (status, _) = f.send(f.http.delete(f.url(&format!("/users/{id}")))).await;
    assert_eq!(status, 204);
    let (status, _) = f.send(f.http.get(f.url(&format!("/users/{id}")))).await;
    assert_eq!(status, 404);
    let (_, body) = f.create("newuser@example.com", "ANALYST").await;
    assert_eq!(body["user_id"], 3, "ids are not reused");

    let (status, body) = f.send(f.http.get(f.url("/users/abc"))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_ARGUMENT");
    f.server.shutdown().await;
}

#[tokio::test]
async fn create_validation() {
    let f = Fixture::new().await;
    let (status, body) = f.create("x@example.com", "Analyst").await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_ARGUMENT");
    let (status, _) = f.create("not-an-email", "ANALYST").await;
    assert_eq!(status, 400);
    let (status, body) = f
        .send(f.http.post(f.url("/users")).json(&json!({"login_id": "a@example.com", "first_name": "A", "last_name": "B", "role": "ANALYST"})))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("email"));
    for role in ["ADMINISTRATOR", "ANALYST", "READ_ONLY_ANALYST"] {
        let (status, _) = f.create(&format!("{role}@example.com"), role).await;
        assert_eq!(status, 200);
    }
    assert_eq!(f.sim.users().len(), 4);
    f.sim.set_faults(Faults {
        missing_user_id_rate: 1.0,
        ..Faults::default()
    });
    let (status, body) = f.create("noid@example.com", "ANALYST").await;
    assert_eq!(status, 200);
    assert!(body.get("user_id").is_none());
    assert_eq!(body["status"], "PENDING_ACTIVATION");
    assert!(f.sim.user_by_login("noid@example.com").is_some());
    f.server.shutdown().await;
}

#[tokio::test]
async fn patch_and_put_update() {
    let f = Fixture::new().await;
    let (_, body) = f.create("u@example.com", "ANALYST").await;
    let path = format!("/users/{}", body["user_id"]);
    let (status, body) = f
        .send(
            f.http
                .patch(f.url(&path))
                .json(&json!({"role": "ADMINISTRATOR", "phone": "+1 555"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "ADMINISTRATOR");
    assert_eq!(body["phone"], "+1 555");
    assert_eq!(body["first_name"], "John");

    let mut whole = body.clone();
    whole["last_name"] = json!("Doe");
    whole["role"] = json!("READ_ONLY_ANALYST");
    let (status, body) = f.send(f.http.put(f.url(&path)).json(&whole)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["last_name"], "Doe");
    assert_eq!(body["role"], "READ_ONLY_ANALYST");

    let (status, body) = f
        .send(
            f.http
                .patch(f.url(&path))
                .json(&json!({"login_id": "other@example.com"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "login_id is read-only");
    let (status, _) = f
        .send(
            f.http
                .patch(f.url(&path))
                .json(&json!({"role": "SUPERUSER"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = f
        .send(
            f.http
                .patch(f.url("/users/999"))
                .json(&json!({"role": "ANALYST"})),
        )
        .await;
    assert_eq!(status, 404);
    let (_, grants) = f.send(f.http.get(f.url(&format!("{path}/grants")))).await;
    assert_eq!(grants["grants"][0]["role"], "READ_ONLY_ANALYST");
    assert_eq!(grants["grants"][0]["org_key"], "ABCD1234");
    f.server.shutdown().await;
}

#[tokio::test]
async fn last_admin_cannot_be_deleted() {
    let f = Fixture::new().await;
    let (status, body) = f.send(f.http.delete(f.url("/users/1"))).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("last administrator")
    );
    assert!(f.sim.user(1).is_some());

    let (_, body) = f.create("admin2@example.com", "ADMINISTRATOR").await;
    let id2 = body["user_id"].as_u64().unwrap();
    let (status, _) = f.send(f.http.delete(f.url("/users/1"))).await;
    assert_eq!(status, 204);
    let (status, _) = f.send(f.http.delete(f.url(&format!("/users/{id2}")))).await;
    assert_eq!(status, 400);

    let bare = Fixture::with(CarbonBlackSimConfig {
        seed_owner_admin: false,
        ..CarbonBlackSimConfig::default()
    })
    .await;
    assert!(bare.sim.users().is_empty());
    let (_, body) = bare.create("first@example.com", "ANALYST").await;
    assert_eq!(body["user_id"], 1);
    f.server.shutdown().await;
    bare.server.shutdown().await;
}

#[tokio::test]
async fn keys_survive_user_delete_and_can_be_revoked() {
    let f = Fixture::new().await;
    let base = f.server.base_url();
    let (_, body) = f.create("jane@example.com", "ANALYST").await;
    let uid = body["user_id"].as_u64().unwrap();
    let r = f
        .http
        .post(format!("{base}/_sim/keys"))
        .json(&json!({"owner_login_id": "jane@example.com", "name": "jane-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let k1: CbApiKey = r.json().await.unwrap();
    assert_eq!(k1.owner_user_id, Some(uid));
    let k2 = f.sim.add_key("jane@example.com", "jane-2");

    let (status, _) = f.send(f.http.delete(f.url(&format!("/users/{uid}")))).await;
    assert_eq!(status, 204);
    let (_, list) = f.send(f.http.get(f.url("/apiaccess/key"))).await;
    let results = list["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "user delete must not touch keys");
    assert_eq!(results[0]["owner_login_id"], "jane@example.com");
    assert_eq!(results[0]["status"], "ENABLED");
    assert_eq!(results[0]["access_level_type"], "CUSTOM");

    let (status, _) = f
        .send(f.http.delete(f.url(&format!("/apiaccess/key/{}", k1.id))))
        .await;
    assert_eq!(status, 204);
    let (status, body) = f
        .send(
            f.http
                .put(f.url(&format!("/apiaccess/key/{}", k2.id)))
                .json(&json!({"status": "DISABLED"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "DISABLED");
    let keys = f.sim.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].status, KeyStatus::Disabled);
    let (status, _) = f
        .send(f.http.delete(f.url(&format!("/apiaccess/key/{}", k1.id))))
        .await;
    assert_eq!(status, 404);
    f.server.shutdown().await;
}

#[tokio::test]
async fn paging_start_rows() {
    let f = Fixture::new().await;
    f.sim.seed_people(24);
    let (_, body) = f.send(f.http.get(f.url("/users"))).await;
    assert_eq!(body["users"].as_array().unwrap().len(), 20);
    assert_eq!(body["num_found"], 25);
    let (_, body) = f
        .send(
            f.http
                .get(f.url("/users"))
                .query(&[("start", "20"), ("rows", "20")]),
        )
        .await;
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[4]["login_id"], "person24@example.com");
    let (status, _) = f
        .send(f.http.get(f.url("/users")).query(&[("rows", "201")]))
        .await;
    assert_eq!(status, 400);
    let (status, _) = f
        .send(f.http.get(f.url("/users")).query(&[("rows", "200")]))
        .await;
    assert_eq!(status, 200);
    f.server.shutdown().await;
}

#[tokio::test]
async fn rate_limit_is_429_without_retry_after() {
    let f = Fixture::new().await;
    f.sim.set_faults(Faults {
        rate_limit_per_sec: Some(0.01),
        rate_limit_burst: Some(2),
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = f
            .http
            .get(f.url("/users"))
            .header("X-Auth-Token", "api-secret/APIID0001")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("retry-after").is_none());
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429, 429]);
    assert_eq!(f.sim.calls().len(), 4);
    f.server.shutdown().await;
}

#[tokio::test]
async fn control_routes_behind_the_back() {
    let f = Fixture::new().await;
    let base = f.server.base_url();
    let r = f
        .http
        .post(format!("{base}/_sim/users"))
        .json(&json!({"login_id": "extra@example.com", "role": "ADMINISTRATOR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let user: CbUser = r.json().await.unwrap();
    assert_eq!(user.status, UserStatus::Active);
    f.http
        .patch(format!("{base}/_sim/users/{}", user.user_id))
        .json(&json!({"role": "ANALYST", "first_name": "Changed"}))
        .send()
        .await
        .unwrap();
    let u = f.sim.user(user.user_id).unwrap();
    assert_eq!(
        (u.role.as_str(), u.first_name.as_str()),
        ("ANALYST", "Changed")
    );
    let r = f
        .http
        .delete(format!("{base}/_sim/users/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "control delete skips the last-admin rule");
    let state: CarbonBlackState = f
        .http
        .get(format!("{base}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.users.len(), 1);
    assert_eq!(state.next_user_id, 3);
    assert!(f.sim.calls().is_empty());
    f.server.shutdown().await;
}

use serde_json::{Value, json};

use super::*;
use crate::sim::tests::client;
use crate::sim::{Faults, RecordedCall, SimServer};

mod groups_tests;
mod users_tests;

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

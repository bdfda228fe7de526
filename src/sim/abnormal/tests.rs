use serde_json::{Value, json};

use super::*;
use crate::sim::tests::client;
use crate::sim::{Faults, SimServer};

struct Fixture {
    sim: AbnormalSim,
    server: SimServer,
    http: reqwest::Client,
}

impl Fixture {
    async fn with(sim: AbnormalSim) -> Self {
        let server = sim.start().await.unwrap();
        Fixture {
            sim,
            server,
            http: client(),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.server.base_url())
    }

    async fn get(&self, rest: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(rest))
            .bearer_auth(&self.sim.config().token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Walk `/v1/accounts` like a connector: stop when `nextPageNumber` is null or absent.
    async fn all_emails(&self) -> (Vec<String>, Vec<Value>) {
        let (mut emails, mut last_pages) = (Vec::new(), Vec::new());
        let mut n = 1;
        loop {
            let (status, body) = self.get(&format!("/v1/accounts?pageNumber={n}")).await;
            assert_eq!(status, 200);
            for a in body["accounts"].as_array().unwrap() {
                emails.push(a["email"].as_str().unwrap().to_string());
            }
            match body.get("nextPageNumber").and_then(Value::as_u64) {
                Some(next) => n = next,
                None => {
                    last_pages.push(body);
                    break;
                }
            }
        }
        (emails, last_pages)
    }
}

fn small_pages(style: LastPageStyle) -> AbnormalSimConfig {
    AbnormalSimConfig {
        page_size: 2,
        last_page_style: style,
        ..AbnormalSimConfig::default()
    }
}

#[tokio::test]
async fn bearer_token_required() {
    let f = Fixture::with(AbnormalSim::seeded(3, 1)).await;
    let r = f.http.get(f.url("/v1/accounts")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = f
        .http
        .get(f.url("/v1/accounts"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, _) = f.get("/v1/accounts").await;
    assert_eq!(status, 200);
    let statuses: Vec<u16> = f.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![401, 401, 200]);
    f.server.shutdown().await;
}

#[tokio::test]
async fn paging_last_page_null() {
    let f = Fixture::with(AbnormalSim::seeded_with(
        small_pages(LastPageStyle::Null),
        5,
        1,
    ))
    .await;
    let (status, first) = f.get("/v1/accounts").await;
    assert_eq!(status, 200);
    assert_eq!(first["nextPageNumber"], 2);
    assert_eq!(first["accounts"].as_array().unwrap().len(), 2);
    let (emails, last) = f.all_emails().await;
    assert_eq!(emails.len(), 5);
    assert_eq!(emails[4], "person5@example.com");
    assert!(last[0].get("nextPageNumber").is_some_and(Value::is_null));
    let (_, beyond) = f.get("/v1/accounts?pageNumber=9").await;
    assert!(beyond["accounts"].as_array().unwrap().is_empty());
    let (status, _) = f.get("/v1/accounts?pageNumber=0").await;
    assert_eq!(status, 400);
    let (_, sized) = f.get("/v1/accounts?pageNumber=1&pageSize=1").await;
    assert_eq!(sized["accounts"].as_array().unwrap().len(), 1);
    f.server.shutdown().await;
}

#[tokio::test]
async fn paging_last_page_absent() {
    let f = Fixture::with(AbnormalSim::seeded_with(
        small_pages(LastPageStyle::Absent),
        4,
        1,
    ))
    .await;
    let (emails, last) = f.all_emails().await;
    assert_eq!(emails.len(), 4);
    assert!(last[0].get("nextPageNumber").is_none());
    assert_eq!(last[0]["accounts"].as_array().unwrap().len(), 2);
    f.server.shutdown().await;
}

#[tokio::test]
async fn account_detail_with_encoded_email_and_cases() {
    let sim = AbnormalSim::default();
    let mut a = AbnormalAccount::new("Jane.Doe@example.com");
    a.risk_score = "high".into();
    a.risk_level = "HIGH".into();
    a.compromised_since = Some("2025-01-01T00:00:00Z".into());
    a.is_vip = true;
    a.department = Some("Finance".into());
    sim.upsert_account(a);
    let case = sim.add_case("jane.doe@example.com", "HIGH", "Open");
    let f = Fixture::with(sim).await;

    let (status, body) = f.get("/v1/accounts/jane.doe%40example.com").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "Jane.Doe@example.com");
    assert_eq!(body["riskScore"], "high");
    assert_eq!(body["riskLevel"], "HIGH");
    assert_eq!(body["compromisedSince"], "2025-01-01T00:00:00Z");
    assert_eq!(body["isVip"], true);
    assert_eq!(body["isActive"], true);
    assert_eq!(body["title"], Value::Null);

    let (status, body) = f.get("/v1/accounts/JANE.DOE%40EXAMPLE.COM/cases").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["cases"],
        json!([{"caseId": case.case_id, "severity": "HIGH", "status": "Open"}])
    );
    let (status, body) = f.get(&format!("/v1/cases/{}", case.case_id)).await;
    assert_eq!(status, 200);
    assert_eq!(body["affectedEmployee"], "jane.doe@example.com");
    assert!(body["firstObserved"].is_string());
    let (_, list) = f.get("/v1/cases?pageNumber=1").await;
    assert_eq!(list["cases"].as_array().unwrap().len(), 1);
    assert!(list["nextPageNumber"].is_null());

    let (status, _) = f.get("/v1/accounts/nobody%40example.com").await;
    assert_eq!(status, 404);
    let (status, _) = f.get("/v1/accounts/nobody%40example.com/cases").await;
    assert_eq!(status, 404);
    let (status, _) = f.get("/v1/cases/0").await;
    assert_eq!(status, 404);
    f.server.shutdown().await;
}

#[tokio::test]
async fn unlicensed_modules_answer_403() {
    let f = Fixture::with(AbnormalSim::seeded(2, 1)).await;
    let (status, body) = f.get("/v1/vendors/supplier.com").await;
    assert_eq!(status, 403);
    assert_eq!(body["message"], "Forbidden: module not licensed");
    let r = f
        .http
        .get(f.url("/v1/vendors/supplier.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "auth comes before the licence check");

    let r = f
        .http
        .put(f.url("/_sim/unlicensed"))
        .json(&json!(["/v1/accounts/*/cases"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = f.get("/v1/accounts/person1%40example.com/cases").await;
    assert_eq!(status, 403);
    let (status, _) = f.get("/v1/accounts/person1%40example.com").await;
    assert_eq!(status, 200);
    let (status, body) = f.get("/v1/vendors/supplier.com").await;
    assert_eq!(status, 200);
    assert_eq!(body["vendorDomain"], "supplier.com");
    f.server.shutdown().await;
}

#[tokio::test]
async fn burst_of_429_without_retry_after() {
    let f = Fixture::with(AbnormalSim::seeded(2, 1)).await;
    let r = f
        .http
        .put(f.url("/_sim/burst"))
        .json(&json!({"count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..3 {
        let r = f
            .http
            .get(f.url("/v1/accounts"))
            .bearer_auth("abnormal-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().get("retry-after").is_none());
    }
    let (status, _) = f.get("/v1/accounts").await;
    assert_eq!(status, 200);
    f.sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let err = f
        .http
        .get(f.url("/v1/accounts"))
        .bearer_auth("abnormal-token")
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "transport error expected: {err:?}");
    f.server.shutdown().await;
}

#[tokio::test]
async fn seeding_is_deterministic_and_varied() {
    let a = AbnormalSim::seeded(200, 7).snapshot();
    let b = AbnormalSim::seeded(200, 7).snapshot();
    assert_eq!(a, b);
    assert_ne!(a, AbnormalSim::seeded(200, 8).snapshot());
    let count = |score: &str| a.accounts.iter().filter(|x| x.risk_score == score).count();
    assert!(count("high") > 0 && count("medium") > 0 && count("low") > 0);
    assert!(a.accounts.iter().any(|x| x.is_vip));
    assert!(a.accounts.iter().any(|x| x.compromised_since.is_some()));
    assert!(
        a.accounts
            .iter()
            .all(|x| x.risk_level == x.risk_score.to_uppercase())
    );
    assert!(
        a.cases
            .iter()
            .any(|c| c.status == "Open" && c.severity == "HIGH")
    );
    for c in a.cases.iter().filter(|c| c.status == "Open") {
        let acct = a
            .accounts
            .iter()
            .find(|x| x.email == c.affected_employee)
            .unwrap();
        assert!(acct.compromised_since.is_some());
    }
}

#[tokio::test]
async fn control_routes_upsert_delete_and_cases() {
    let f = Fixture::with(AbnormalSim::seeded(1, 1)).await;
    let r = f
        .http
        .put(f.url("/_sim/accounts/new%40example.com"))
        .json(&json!({"riskScore": "medium", "isVip": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, body) = f.get("/v1/accounts/new%40example.com").await;
    assert_eq!(body["riskLevel"], "MEDIUM");
    assert_eq!(body["isVip"], true);
    let r = f
        .http
        .put(f.url("/_sim/accounts/new@example.com"))
        .json(&json!({"riskScore": "high", "compromisedSince": "2025-02-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let acct = f.sim.account("NEW@example.com").unwrap();
    assert_eq!(acct.risk_score, "high");
    assert!(acct.is_vip, "upsert keeps fields not given");
    let r = f
        .http
        .post(f.url("/_sim/accounts/new@example.com/cases"))
        .json(&json!({"severity": "MEDIUM"}))
        .send()
        .await
        .unwrap();
    let case: AbnormalCase = r.json().await.unwrap();
    assert_eq!(case.status, "Open");
    f.http
        .put(f.url(&format!("/_sim/cases/{}", case.case_id)))
        .json(&json!({"status": "Closed"}))
        .send()
        .await
        .unwrap();
    let (_, cases) = f.get("/v1/accounts/new%40example.com/cases").await;
    assert_eq!(cases["cases"][0]["status"], "Closed");
    let r = f
        .http
        .delete(f.url("/_sim/accounts/new%40example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = f.get("/v1/accounts/new%40example.com").await;
    assert_eq!(status, 404);
    let state: AbnormalState = f
        .http
        .get(f.url("/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.accounts.len(), 1);
    f.server.shutdown().await;
}

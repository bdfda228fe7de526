use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::connectors::OpenGate;
use crate::connectors::http::testkit::{Double, Reply, Seen};

fn client(base: &str) -> AbnormalClient {
    let cfg = TargetConfig {
        base_url: Some(base.into()),
        token: Some(SecretString::from("ABN-TOKEN-123")),
        ..TargetConfig::default()
    };
    AbnormalClient::new("ab", &cfg, Duration::from_secs(5), Arc::new(OpenGate)).unwrap()
}

#[test]
fn new_requires_token() {
    let e = AbnormalClient::new(
        "ab",
        &TargetConfig::default(),
        Duration::from_secs(1),
        Arc::new(OpenGate),
    )
    .unwrap_err();
    assert_eq!(e, "targets.ab.token is required for kind abnormal");
}

#[tokio::test]
async fn pages_until_next_is_null_or_absent() {
    // Page 1 → 2 (number), 2 → 3 (null on the wire is tested below), 3 has no field.
    let d = Double::start(|s: &Seen| match s.query("pageNumber").as_deref() {
        Some("1") => Reply::json(
            200,
            json!({"accounts": [{"email": "a@x.com", "riskScore": "high"}], "nextPageNumber": 2}),
        ),
        Some("2") => Reply::json(
            200,
            json!({"accounts": [{"email": "b@x.com", "riskScore": 87}], "nextPageNumber": "3"}),
        ),
        _ => Reply::json(
            200,
            json!({"accounts": [{"email": "c@x.com", "name": null}]}),
        ),
    })
    .await;
    let c = client(&d.base);
    let log = CallLog::default();
    let all = c.list_all_accounts(&log).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].risk_score.as_deref(), Some("87"));
    assert_eq!(d.requests().len(), 3);
    let recs = log.take();
    assert_eq!(recs[0].path, "/v1/accounts?pageNumber=1");
    let seen = d.requests();
    assert_eq!(seen[0].headers["authorization"], "Bearer ABN-TOKEN-123");
    let text = format!("{recs:?} {} {c:?}", serde_json::to_string(&recs).unwrap());
    assert!(!text.contains("ABN-TOKEN-123"), "{text}");

    let d =
        Double::start(|_| Reply::json(200, json!({"accounts": [], "nextPageNumber": null}))).await;
    let p = client(&d.base)
        .list_accounts_page(1, &CallLog::default())
        .await
        .unwrap();
    assert_eq!(p.next_page, None);
}

#[tokio::test]
async fn account_detail_encodes_email_and_404_is_none() {
    let d = Double::start(|s: &Seen| {
        if s.path == "/v1/accounts/user%40example.com" {
            return Reply::json(
                200,
                json!({"email": "user@example.com", "name": "Jane Doe", "riskScore": "high",
                    "riskLevel": "HIGH", "compromisedSince": null, "isVip": false,
                    "department": "Finance", "title": "CFO", "isActive": true, "extra": [1]}),
            );
        }
        if s.path == "/v1/accounts/user%40example.com/cases" {
            return Reply::json(
                200,
                json!({"cases": [{"caseId": 1234, "severity": "HIGH", "status": "Open"},
                                 {"caseId": "99", "status": "Closed"}]}),
            );
        }
        Reply::json(404, json!({"message": "not found"}))
    })
    .await;
    let c = client(&format!("{}/v1/", d.base));
    let log = CallLog::default();
    let a = c.account("user@example.com", &log).await.unwrap().unwrap();
    assert_eq!(a.department.as_deref(), Some("Finance"));
    assert_eq!(a.is_vip, Some(false));
    assert_eq!(a.compromised_since, None);
    let cases = c.open_cases("user@example.com", &log).await.unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].case_id.as_deref(), Some("1234"));
    assert!(cases[0].is_open() && !cases[1].is_open());
    assert_eq!(c.account("nobody@example.com", &log).await.unwrap(), None);
    assert_eq!(d.requests()[2].path, "/v1/accounts/nobody%40example.com");
}

#[tokio::test]
async fn forbidden_and_rate_limited() {
    let d = Double::start(|s: &Seen| {
        if s.path.contains("cases") {
            Reply::raw(429, "")
        } else {
            Reply::raw(403, "forbidden")
        }
    })
    .await;
    let c = client(&d.base);
    let e = c.account("a@x.com", &CallLog::default()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Abnormal answered 403 for /v1/accounts/a%40x.com: the token's portal user lacks \
         access or the module is not licensed"
    );
    let e = c
        .open_cases("a@x.com", &CallLog::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConnectorError::Retryable {
                rate_limited: true,
                ..
            }
        ),
        "{e:?}"
    );
}

//! Seed data for the execution tests.

use serde_json::{Value, json};

use crate::scim::ResourceType;
use crate::scim::canonical::canonicalize;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub fn users() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "u01",
            "2024-01-01T00:00:00.000Z",
            json!({"userName": "Alice@Example.com", "externalId": "ext-1",
            "name": {"givenName": "Alice", "familyName": "Smith"}, "displayName": "Alice Smith", "title": "Engineer",
            "emails": [{"value": "alice@example.com", "type": "work", "primary": true}, {"value": "alice@home.org", "type": "home"}],
            "active": true, ENT: {"department": "Sales", "manager": {"value": "u02"}}}),
        ),
        (
            "u02",
            "2024-02-01T00:00:00.000Z",
            json!({"userName": "bob@example.com", "externalId": "EXT-2",
            "name": {"givenName": "Bob", "familyName": "Jones"}, "emails": [{"value": "bob@example.com", "type": "work"}],
            "active": false, ENT: {"department": "Engineering"}}),
        ),
        (
            "u03",
            "2024-03-01T00:00:00.000Z",
            json!({"userName": "carol@other.org", "active": true, "title": "VP", "nickName": "50%_off"}),
        ),
        (
            "u04",
            "2024-04-01T00:00:00.000Z",
            json!({"userName": "dave@example.com", "active": true,
            "emails": [{"value": "dave@corp.example.com", "type": "work"}], ENT: {"costCenter": "CC1"}}),
        ),
        (
            "u05",
            "2024-05-01T00:00:00.000Z",
            json!({"userName": "eve@evil.com", "phoneNumbers": [{"value": "+1 555", "type": "mobile"}]}),
        ),
        (
            "u06",
            "2024-06-01T00:00:00.000Z",
            json!({"userName": "Frank@Example.com", "displayName": "Frank", "active": true,
            "addresses": [{"type": "work", "postalCode": "98052"}]}),
        ),
        (
            "u07",
            "2024-07-01T00:00:00.000Z",
            json!({"userName": "grace@example.com", "userType": "Contractor", "active": true,
            "emails": [{"value": "g@x.com", "type": "other", "primary": false}]}),
        ),
        (
            "u08",
            "2024-08-01T00:00:00.000Z",
            json!({"userName": "heidi@example.com", "name": {"familyName": "O'Brien"}, "active": false}),
        ),
        (
            "u09",
            "2024-09-01T00:00:00.000Z",
            json!({"userName": "ivan@example.com", "externalId": "ext-9", "active": true}),
        ),
        (
            "u10",
            "2024-10-01T00:00:00.000Z",
            json!({"userName": "judy@example.com", "active": true, "entitlements": [{"value": "E1"}]}),
        ),
    ]
}

pub fn groups() -> Vec<(&'static str, Value)> {
    vec![
        (
            "g1",
            json!({"displayName": "Admins", "members": [{"value": "u01"}, {"value": "u02"}]}),
        ),
        (
            "g2",
            json!({"displayName": "Everyone", "members": [{"value": "u01"}, {"value": "u02"}, {"value": "u03"}, {"value": "u04"}, {"value": "u05"}]}),
        ),
    ]
}

pub struct Row_ {
    pub rt: &'static str,
    pub id: &'static str,
    pub external_id: Option<String>,
    pub user_name_lc: Option<String>,
    pub display_name_lc: Option<String>,
    pub email_lc: Option<String>,
    pub active: Option<bool>,
    pub data: String,
    pub created: &'static str,
}

pub fn rows() -> Vec<Row_> {
    let mut out = Vec::new();
    for (id, created, body) in users() {
        let c = canonicalize(ResourceType::User, &body).unwrap();
        let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_lowercase);
        let primary = c.get("emails").and_then(Value::as_array).and_then(|a| {
            a.iter()
                .find(|e| e["primary"] == true)
                .and_then(|e| e["value"].as_str())
                .map(str::to_lowercase)
        });
        out.push(Row_ {
            rt: "User",
            id,
            external_id: c
                .get("externalId")
                .and_then(Value::as_str)
                .map(String::from),
            user_name_lc: s("userName"),
            display_name_lc: s("displayName"),
            email_lc: primary.or_else(|| s("userName")),
            active: c.get("active").and_then(Value::as_bool),
            data: Value::Object(c).to_string(),
            created,
        });
    }
    for (id, body) in groups() {
        let c = canonicalize(ResourceType::Group, &body).unwrap();
        out.push(Row_ {
            rt: "Group",
            id,
            external_id: None,
            user_name_lc: None,
            display_name_lc: c
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_lowercase),
            email_lc: None,
            active: None,
            data: Value::Object(c).to_string(),
            created: "2024-01-15T00:00:00.000Z",
        });
    }
    out
}

/// (email_lc, risk_score, risk_level, compromised_since, is_vip, open_case_count, cases)
pub type Enrich = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    i32,
    Option<&'static str>,
);

pub fn enrichment() -> Vec<Enrich> {
    vec![
        (
            "alice@example.com",
            "90",
            "High",
            Some("2024-06-01T00:00:00.000Z"),
            true,
            3,
            Some(r#"[{"caseId":"c1","severity":"high","status":"open"}]"#),
        ),
        ("bob@example.com", "10", "low", None, false, 0, Some("[]")),
    ]
}

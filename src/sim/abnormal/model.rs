//! Abnormal Security data as the simulator keeps it, and deterministic seeding.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One observed mail account (the simulator's own type; JSON in the API's camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbnormalAccount {
    pub email: String,
    pub name: String,
    /// `"high"`, `"medium"` or `"low"`.
    pub risk_score: String,
    /// `"HIGH"`, `"MEDIUM"` or `"LOW"`, derived from `risk_score`.
    pub risk_level: String,
    /// ISO 8601, `None` when not compromised.
    pub compromised_since: Option<String>,
    pub is_vip: bool,
    pub department: Option<String>,
    pub title: Option<String>,
    pub is_active: bool,
}

impl AbnormalAccount {
    /// A plain low-risk active account.
    pub fn new(email: &str) -> Self {
        let local = email.split('@').next().unwrap_or(email);
        AbnormalAccount {
            email: email.to_string(),
            name: local.to_string(),
            risk_score: "low".into(),
            risk_level: risk_level("low"),
            compromised_since: None,
            is_vip: false,
            department: None,
            title: None,
            is_active: true,
        }
    }
}

/// The categorical level for a score: upper case of the score (`"high"` → `"HIGH"`).
pub fn risk_level(score: &str) -> String {
    score.to_ascii_uppercase()
}

/// One ATO case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbnormalCase {
    pub case_id: String,
    /// `"HIGH"`, `"MEDIUM"` or `"LOW"`.
    pub severity: String,
    /// `"Open"` or `"Closed"`.
    pub status: String,
    pub affected_employee: String,
    /// ISO 8601.
    pub first_observed: String,
    pub description: String,
}

/// The whole tenant (what `GET /_sim/state` answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbnormalState {
    pub accounts: Vec<AbnormalAccount>,
    pub cases: Vec<AbnormalCase>,
    /// Path patterns answering 403 "module not licensed" (`*` matches one segment).
    pub unlicensed: Vec<String>,
    pub next_case_id: u64,
}

impl AbnormalState {
    pub fn account(&self, email: &str) -> Option<&AbnormalAccount> {
        self.accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    pub fn account_mut(&mut self, email: &str) -> Option<&mut AbnormalAccount> {
        self.accounts
            .iter_mut()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    pub fn add_case(
        &mut self,
        email: &str,
        severity: &str,
        status: &str,
        observed: &str,
    ) -> AbnormalCase {
        self.next_case_id = self.next_case_id.max(1000);
        let case = AbnormalCase {
            case_id: self.next_case_id.to_string(),
            severity: severity.to_string(),
            status: status.to_string(),
            affected_employee: email.to_string(),
            first_observed: observed.to_string(),
            description: "Account takeover investigation".into(),
        };
        self.next_case_id += 1;
        self.cases.push(case.clone());
        case
    }

    pub fn cases_of(&self, email: &str) -> Vec<&AbnormalCase> {
        self.cases
            .iter()
            .filter(|c| c.affected_employee.eq_ignore_ascii_case(email))
            .collect()
    }

    /// Whether `path` matches an unlicensed pattern (segment-wise prefix, `*` = any segment).
    pub fn is_unlicensed(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.unlicensed.iter().any(|pattern| {
            let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            !pat.is_empty()
                && pat.len() <= segs.len()
                && pat.iter().zip(&segs).all(|(p, s)| *p == "*" || p == s)
        })
    }
}

const FIRST: [&str; 8] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro",
];
const LAST: [&str; 8] = [
    "Lovelace", "Okafor", "Martin", "Patel", "Rossi", "Haddad", "Hopper", "Tanaka",
];
const DEPARTMENTS: [&str; 5] = ["Finance", "Engineering", "Sales", "Legal", "Operations"];
const TITLES: [&str; 5] = ["Analyst", "Engineer", "Manager", "Director", "Associate"];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// `n` accounts `person{i}@example.com` (i from 1) and their cases, the same for the same
/// `seed`: about 15% high risk (half of them compromised, with an open HIGH case), 30%
/// medium (some with a closed MEDIUM case), 10% VIP, 5% inactive.
pub fn generate(n: usize, seed: u64) -> AbnormalState {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut st = AbnormalState::default();
    let base = chrono::DateTime::parse_from_rfc3339("2025-01-15T08:00:00Z")
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    for i in 1..=n {
        let email = format!("person{i}@example.com");
        let roll: f64 = rng.random();
        let score = if roll < 0.15 {
            "high"
        } else if roll < 0.45 {
            "medium"
        } else {
            "low"
        };
        let since = base - chrono::Duration::hours(i64::try_from(i).unwrap_or(0));
        let observed = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let compromised = score == "high" && rng.random_bool(0.5);
        let account = AbnormalAccount {
            email: email.clone(),
            name: format!("{} {}", pick(&mut rng, &FIRST), pick(&mut rng, &LAST)),
            risk_score: score.into(),
            risk_level: risk_level(score),
            compromised_since: compromised.then(|| observed.clone()),
            is_vip: rng.random_bool(0.1),
            department: Some(pick(&mut rng, &DEPARTMENTS).into()),
            title: Some(pick(&mut rng, &TITLES).into()),
            is_active: !rng.random_bool(0.05),
        };
        st.accounts.push(account);
        if compromised {
            st.add_case(&email, "HIGH", "Open", &observed);
        } else if score == "medium" && rng.random_bool(0.3) {
            st.add_case(&email, "MEDIUM", "Closed", &observed);
        }
    }
    st
}

/// An Abnormal error answer: `{"message": ..}` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"message": self.message}))).into_response()
    }
}

pub fn message(status: StatusCode, msg: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: msg.into(),
    }
}

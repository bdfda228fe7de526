//! Data-driven IdP replay suites: every `conformance/{okta,entra}/*.json` scenario is run
//! against a fresh server for each target kind it lists, on Postgres and on SQLite.
//! The file format is documented in `conformance/README.md`; this module is its only reader
//! (`load` parses and checks the files, `paths` substitutes variables, `matching` compares
//! JSON, `run` sends the steps, `vendor_end_state` checks the simulators afterwards).
//!
//! Failures are collected (scenario, step, kind, backend, request, response body) and
//! reported together at the end of each test, so one run shows everything.
//! `CONFORMANCE_SCENARIO=<substring>` runs only the scenarios whose file or name contains it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::helpers::{Backend, Spawn, TestApp, spawn_with};

mod load;
mod matching;
mod paths;
mod run;
mod vendor_end_state;

use load::*;
use matching::*;
use paths::*;
use run::*;
use vendor_end_state::*;

// ---------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------

/// The vendor kind of the target a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Contrast,
    CarbonBlack,
    Abnormal,
}

impl Kind {
    /// The target of that kind in the test config (`t1` comes from `helpers::targets_toml`).
    pub fn target(self) -> &'static str {
        match self {
            Kind::Contrast => "t1",
            Kind::CarbonBlack => "cb",
            Kind::Abnormal => "ab",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Contrast => "contrast",
            Kind::CarbonBlack => "carbon_black",
            Kind::Abnormal => "abnormal",
        }
    }
}

/// Extra targets so that every kind has one (the vendors are unreachable: background off).
const EXTRA_TARGETS: &str = r#"
[targets.cb]
kind = "carbon_black"
token_sha256 = ["{token:cb}"]
base_url = "http://127.0.0.1:9"
org_key = "ORG"
api_id = "id"
api_secret = "secret"
[targets.ab]
kind = "abnormal"
token_sha256 = ["{token:ab}"]
base_url = "http://127.0.0.1:9"
token = "t"
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub resource_kinds: Vec<Kind>,
    /// Scenario variables, evaluated once per run (may use `random.*` / `uuid.*`, not each other).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// The target's own bearer token.
    #[default]
    Token,
    /// No Authorization header.
    None,
    /// A bearer token nobody issued.
    Wrong,
    /// The token of another target (`t2`).
    OtherTarget,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub method: String,
    /// Relative to the target's SCIM base (`/scim/v2/<target>`); the query is encoded by the runner.
    pub path: String,
    #[serde(default)]
    pub auth: Auth,
    /// Request headers (values substituted). `content-type` defaults to `application/scim+json`
    /// when there is a body.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON request body (strings substituted).
    #[serde(default)]
    pub body: Option<Value>,
    /// A raw (possibly malformed) request body, sent as is.
    #[serde(default)]
    pub raw_body: Option<String>,
    /// Run the step N times with `{{i}}` = 1..=N.
    #[serde(default)]
    pub repeat: Option<u32>,
    pub expect: Expect,
    /// variable name → `$.json.path` | `header:<name>`
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// A server bug reported upstream: a failure of this step is listed, not fatal.
    #[serde(default)]
    pub known_issue: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    #[serde(default)]
    pub body: Option<Value>,
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn scenario_files_are_well_formed() {
    let mut errors = Vec::new();
    let mut count = 0;
    for idp in ["okta", "entra"] {
        match load_suite(idp) {
            Ok(s) => count += s.len(),
            Err(e) => errors.extend(e),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed scenario files:\n{}",
        errors.join("\n")
    );
    assert!(count >= 2, "expected scenario files under conformance/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_postgres() {
    run_suite("okta", Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sqlite() {
    run_suite("okta", Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_postgres() {
    run_suite("entra", Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_sqlite() {
    run_suite("entra", Backend::Sqlite).await
}

/// The matcher itself must reject what it should, or the suites prove nothing.
#[test]
fn matcher_rejects_mismatches() {
    let resp = Resp {
        status: 200,
        headers: HashMap::from([("etag".to_string(), "W/\"1\"".to_string())]),
        text: String::new(),
        json: Some(json!({"id": "6c1f3f0e-2a8e-4f7e-9d7c-0b9a1c2d3e4f"})),
    };
    let mut vars = Vars::default();
    vars.set("u", json!("jane@corp.example"));
    vars.set("n", json!(3));
    let actual = json!({
        "id": "6c1f3f0e-2a8e-4f7e-9d7c-0b9a1c2d3e4f", "userName": "Jane@Corp.example", "active": false, "count": 3,
        "meta": {"created": "2026-01-02T03:04:05Z", "version": "W/\"1\""},
        "emails": [{"value": "a", "type": "work"}, {"value": "b", "type": "home"}],
        "urn:x:User": {"manager": {"value": "m"}}
    });
    let mut m = |e: Value| match_value(&e, Some(&actual), "$", &mut vars, &resp);
    // accepted
    assert!(
        m(json!({"id": "{{uuid}}", "userName": "{{ci:u}}", "active": false, "count": "{{n}}"}))
            .is_ok()
    );
    assert!(m(json!({"id": "{{$.id}}", "meta": {"created": "{{datetime}}", "version": "{{header:etag}}"}})).is_ok());
    assert!(m(json!({"emails": [{"type": "home"}, {"type": "work", "value": "a"}], "nope": "{{absent}}"})).is_ok());
    assert!(m(json!({"emails": {"{{contains}}": [{"value": "b"}]}, "urn:x:User": {"manager": {"value": "m"}}})).is_ok());
    assert!(m(json!({"emails": {"{{ordered}}": [{"value": "a"}, {"value": "b"}]}, "active": "{{not:'x'}}"})).is_ok());
    // rejected
    for bad in [
        json!({"userName": "{{u}}"}),
        json!({"active": true}),
        json!({"active": "{{absent}}"}),
        json!({"nope": "{{any}}"}),
        json!({"count": "{{string}}"}),
        json!({"userName": "{{uuid}}"}),
        json!({"emails": [{"type": "work"}]}),
        json!({"emails": [{"type": "work"}, {"type": "work"}]}),
        json!({"emails": {"{{ordered}}": [{"value": "b"}, {"value": "a"}]}}),
        json!({"emails": {"{{contains}}": [{"value": "c"}]}}),
        json!({"meta": {"created": "{{uuid}}"}}),
        json!({"id": "{{not:$.id}}"}),
        json!({"urn:x:User": {"manager": {"value": ""}}}),
        json!({"count": 4}),
    ] {
        assert!(m(bad.clone()).is_err(), "should not match: {bad}");
    }
    // static checks find undefined variables and misplaced matchers
    let s: Scenario = serde_json::from_value(json!({
        "name": "x", "resource_kinds": ["contrast"],
        "steps": [
            {"name": "a", "method": "GET", "path": "/Users/{{nope}}", "expect": {"status": 200}},
            {"name": "b", "method": "GET", "path": "/Users/{{any}}", "expect": {"status": 200, "body": {"x": "a{{uuid}}"}}},
            {"name": "c", "method": "FETCH", "path": "Users", "expect": {"status": 200}, "capture": {"base": "$.id"}}
        ]
    }))
    .expect("parses");
    let errs = check_scenario(&s);
    assert_eq!(errs.len(), 6, "{errs:#?}");
    // query encoding
    assert_eq!(
        build_url(
            "http://h/scim/v2/t1",
            "/Users?filter=userName eq \"a+b@x\"&count=2"
        ),
        "http://h/scim/v2/t1/Users?filter=userName%20eq%20%22a%2Bb%40x%22&count=2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_vendor_end_state_postgres() {
    okta_vendor_end_state(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_vendor_end_state_sqlite() {
    okta_vendor_end_state(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_vendor_end_state_postgres() {
    entra_vendor_end_state(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_vendor_end_state_sqlite() {
    entra_vendor_end_state(Backend::Sqlite).await
}

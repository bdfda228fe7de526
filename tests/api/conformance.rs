//! Data-driven IdP replay suites: every `conformance/{okta,entra}/*.json` scenario is run
//! against a fresh server for each target kind it lists, on Postgres and on SQLite.
//! The file format is documented in `conformance/README.md`; this file is its only reader.
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
// Loading and the static checks
// ---------------------------------------------------------------------------------------

pub fn suite_dir(idp: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join(idp)
}

/// Every scenario file of an IdP, sorted by file name. Any problem is an error, never a skip.
pub fn load_suite(idp: &str) -> Result<Vec<(String, Scenario)>, Vec<String>> {
    let dir = suite_dir(idp);
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => return Err(vec![format!("{}: {e}", dir.display())]),
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for f in files {
        let shown = format!(
            "conformance/{idp}/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            errors.push(format!(
                "{shown}: not a .json file (only scenario files belong here)"
            ));
            continue;
        }
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{shown}: {e}"));
                continue;
            }
        };
        match serde_json::from_str::<Scenario>(&text) {
            Ok(s) => {
                for e in check_scenario(&s) {
                    errors.push(format!("{shown}: {e}"));
                }
                out.push((shown, s));
            }
            Err(e) => errors.push(format!("{shown}: {e}")),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(format!("{}: no scenario files", dir.display()));
    }
    let mut names = HashSet::new();
    for (f, s) in &out {
        if !names.insert(s.name.clone()) {
            errors.push(format!("{f}: scenario name `{}` is used twice", s.name));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

const MATCHERS: &[&str] = &[
    "any", "absent", "string", "uuid", "number", "bool", "datetime",
];
const BUILTINS: &[&str] = &["base", "target", "kind"];

/// Static checks: methods, statuses, every `{{…}}` token known and every variable defined
/// before it is used.
pub fn check_scenario(s: &Scenario) -> Vec<String> {
    let mut errs = Vec::new();
    if s.name.trim().is_empty() {
        errs.push("empty scenario name".into());
    }
    if s.description
        .as_deref()
        .is_some_and(|d| d.trim().is_empty())
    {
        errs.push("empty description".into());
    }
    if s.resource_kinds.is_empty() {
        errs.push("resource_kinds is empty".into());
    }
    if s.steps.is_empty() {
        errs.push("no steps".into());
    }
    let mut defined: HashSet<String> = BUILTINS.iter().map(|s| s.to_string()).collect();
    for (k, v) in &s.vars {
        for t in tokens(v) {
            if let Err(e) = check_expr(&t, &defined, false) {
                errs.push(format!("vars.{k}: {e}"));
            }
        }
    }
    defined.extend(s.vars.keys().cloned());
    let mut step_names = HashSet::new();
    for (n, st) in s.steps.iter().enumerate() {
        let at = format!("step {} `{}`", n + 1, st.name);
        if !step_names.insert(st.name.clone()) {
            errs.push(format!("{at}: step name used twice in this scenario"));
        }
        if Method::from_bytes(st.method.as_bytes()).is_err()
            || !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&st.method.as_str())
        {
            errs.push(format!(
                "{at}: method `{}` is not GET/POST/PUT/PATCH/DELETE",
                st.method
            ));
        }
        if !st.path.starts_with('/') {
            errs.push(format!("{at}: path must start with `/`"));
        }
        if !(100..600).contains(&st.expect.status) {
            errs.push(format!(
                "{at}: status {} is not an HTTP status",
                st.expect.status
            ));
        }
        if st.body.is_some() && st.raw_body.is_some() {
            errs.push(format!("{at}: body and raw_body are exclusive"));
        }
        if st.expect.status == 204 && st.expect.body.is_some() {
            errs.push(format!("{at}: a 204 has no body to expect"));
        }
        if st.repeat == Some(0) {
            errs.push(format!("{at}: repeat must be at least 1"));
        }
        if st
            .known_issue
            .as_deref()
            .is_some_and(|k| k.trim().is_empty())
        {
            errs.push(format!("{at}: known_issue must say what the issue is"));
        }
        let mut local = defined.clone();
        if st.repeat.is_some() {
            local.insert("i".into());
        }
        let mut req_strings = vec![st.path.clone()];
        req_strings.extend(st.headers.values().cloned());
        if let Some(b) = &st.body {
            collect_strings(b, &mut req_strings);
        }
        if let Some(b) = &st.raw_body {
            req_strings.push(b.clone());
        }
        for s in &req_strings {
            for t in tokens(s) {
                if let Err(e) = check_expr(&t, &local, false) {
                    errs.push(format!("{at}: request: {e}"));
                }
            }
        }
        let mut exp_strings: Vec<String> = Vec::new();
        for v in st.expect.headers.values() {
            collect_strings(v, &mut exp_strings);
        }
        if let Some(b) = &st.expect.body {
            collect_strings(b, &mut exp_strings);
            check_matcher_keys(b, &mut errs, &at);
        }
        for s in &exp_strings {
            if is_whole_token(s).is_some_and(|t| MATCHERS.contains(&t.as_str())) {
                continue;
            }
            for t in tokens(s) {
                let t = t
                    .strip_prefix("ci:")
                    .or_else(|| t.strip_prefix("not:"))
                    .unwrap_or(&t)
                    .to_string();
                if MATCHERS.contains(&t.as_str()) {
                    errs.push(format!(
                        "{at}: expect: matcher `{{{{{t}}}}}` must be the whole string"
                    ));
                } else if let Err(e) = check_expr(&t, &local, true) {
                    errs.push(format!("{at}: expect: {e}"));
                }
            }
        }
        for (name, p) in &st.capture {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                errs.push(format!("{at}: capture name `{name}` must be [A-Za-z0-9_]+"));
            }
            if BUILTINS.contains(&name.as_str()) || name == "i" {
                errs.push(format!("{at}: capture name `{name}` shadows a built-in"));
            }
            if let Some(path) = p.strip_prefix('$') {
                if let Err(e) = parse_json_path(path) {
                    errs.push(format!("{at}: capture `{name}`: {e}"));
                }
            } else if !p.starts_with("header:") {
                errs.push(format!(
                    "{at}: capture `{name}`: `{p}` is neither `$.path` nor `header:name`"
                ));
            }
        }
        defined.extend(st.capture.keys().cloned());
    }
    errs
}

fn check_matcher_keys(v: &Value, errs: &mut Vec<String>, at: &str) {
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                if k.starts_with("{{") {
                    if !(k == "{{contains}}" || k == "{{ordered}}") {
                        errs.push(format!("{at}: expect: unknown matcher key `{k}`"));
                    } else if o.len() != 1 || !c.is_array() {
                        errs.push(format!(
                            "{at}: expect: `{k}` must be the only key and hold an array"
                        ));
                    }
                }
                check_matcher_keys(c, errs, at);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| check_matcher_keys(c, errs, at)),
        _ => {}
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|c| collect_strings(c, out)),
        Value::Object(o) => o.values().for_each(|c| collect_strings(c, out)),
        _ => {}
    }
}

/// The `{{…}}` tokens of a string (trimmed contents).
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find("{{") {
        let Some(b) = rest[a + 2..].find("}}") else {
            out.push(rest[a + 2..].to_string() + " (unclosed)");
            break;
        };
        out.push(rest[a + 2..a + 2 + b].trim().to_string());
        rest = &rest[a + 2 + b + 2..];
    }
    out
}

/// `Some(token)` when the whole string is a single `{{token}}`.
fn is_whole_token(s: &str) -> Option<String> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim().to_string())
}

fn check_expr(t: &str, defined: &HashSet<String>, in_expect: bool) -> Result<(), String> {
    if t.ends_with("(unclosed)") {
        return Err(format!("`{{{{{t}` is not closed"));
    }
    let t = t
        .strip_prefix("upper:")
        .or_else(|| t.strip_prefix("lower:"))
        .unwrap_or(t);
    if t.starts_with('\'') && t.ends_with('\'') && t.len() >= 2 {
        return Ok(());
    }
    if let Some(n) = t
        .strip_prefix("random.")
        .or_else(|| t.strip_prefix("uuid."))
    {
        return if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(())
        } else {
            Err(format!("bad generator name in `{{{{{t}}}}}`"))
        };
    }
    if let Some(p) = t.strip_prefix('$') {
        return if !in_expect {
            Err(format!(
                "`{{{{{t}}}}}` (the response) is only available in `expect`"
            ))
        } else {
            parse_json_path(p).map(|_| ())
        };
    }
    if t.starts_with("header:") {
        return if in_expect {
            Ok(())
        } else {
            Err(format!("`{{{{{t}}}}}` is only available in `expect`"))
        };
    }
    if MATCHERS.contains(&t) {
        return Err(format!("matcher `{{{{{t}}}}}` is only allowed in `expect`"));
    }
    if defined.contains(t) {
        Ok(())
    } else {
        Err(format!("variable `{t}` is not defined before this step"))
    }
}

// ---------------------------------------------------------------------------------------
// Substitution and JSON paths
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `.a.b[0].c`, `.Resources.0.id`, `["urn:…:User"].manager` (after the leading `$`).
fn parse_json_path(p: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                let k = &p[start..j];
                if k.is_empty() {
                    return Err(format!("empty key in path `${p}`"));
                }
                segs.push(match k.parse::<usize>() {
                    Ok(n) => Seg::Index(n),
                    Err(_) => Seg::Key(k.to_string()),
                });
                i = j;
            }
            b'[' => {
                let end = p[i..]
                    .find(']')
                    .map(|e| i + e)
                    .ok_or_else(|| format!("unclosed `[` in `${p}`"))?;
                let inner = &p[i + 1..end];
                if let Some(q) = inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    segs.push(Seg::Key(q.to_string()));
                } else {
                    segs.push(Seg::Index(
                        inner
                            .parse()
                            .map_err(|_| format!("bad index `[{inner}]` in `${p}`"))?,
                    ));
                }
                i = end + 1;
            }
            _ => return Err(format!("path `${p}` must continue with `.` or `[`")),
        }
    }
    Ok(segs)
}

fn json_get<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(v, |cur, s| match s {
        Seg::Key(k) => cur.get(k.as_str()),
        Seg::Index(n) => cur.get(*n),
    })
}

/// One response, as the matcher and captures see it.
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
    pub json: Option<Value>,
}

/// Variables of one scenario run.
#[derive(Default)]
pub struct Vars {
    map: HashMap<String, Value>,
    generated: HashMap<String, String>,
}

impl Vars {
    fn set(&mut self, k: &str, v: Value) {
        self.map.insert(k.to_string(), v);
    }

    fn eval(&mut self, expr: &str, resp: Option<&Resp>) -> Result<Value, String> {
        if let Some(inner) = expr.strip_prefix("upper:") {
            return Ok(Value::String(
                as_text(&self.eval(inner, resp)?).to_uppercase(),
            ));
        }
        if let Some(inner) = expr.strip_prefix("lower:") {
            return Ok(Value::String(
                as_text(&self.eval(inner, resp)?).to_lowercase(),
            ));
        }
        if let Some(l) = expr.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
            return Ok(Value::String(l.to_string()));
        }
        if let Some(n) = expr.strip_prefix("random.") {
            let v = self
                .generated
                .entry(format!("r:{n}"))
                .or_insert_with(|| uuid::Uuid::new_v4().simple().to_string()[..10].to_string());
            return Ok(Value::String(v.clone()));
        }
        if let Some(n) = expr.strip_prefix("uuid.") {
            let v = self
                .generated
                .entry(format!("u:{n}"))
                .or_insert_with(|| uuid::Uuid::new_v4().to_string());
            return Ok(Value::String(v.clone()));
        }
        if let Some(p) = expr.strip_prefix('$') {
            let r = resp.ok_or("the response is not available here")?;
            let j = r.json.as_ref().ok_or("the response has no JSON body")?;
            let segs = parse_json_path(p)?;
            return json_get(j, &segs)
                .cloned()
                .ok_or_else(|| format!("`{expr}` is not in the response"));
        }
        if let Some(h) = expr.strip_prefix("header:") {
            let r = resp.ok_or("the response is not available here")?;
            return r
                .headers
                .get(&h.to_ascii_lowercase())
                .map(|v| Value::String(v.clone()))
                .ok_or_else(|| format!("response has no `{h}` header"));
        }
        self.map.get(expr).cloned().ok_or_else(|| {
            format!("variable `{expr}` is not set (an earlier step failed to capture it?)")
        })
    }

    /// A whole-token string becomes the variable's JSON value; otherwise tokens are interpolated.
    fn subst_str(&mut self, s: &str, resp: Option<&Resp>) -> Result<Value, String> {
        if let Some(t) = is_whole_token(s) {
            return self.eval(&t, resp);
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(a) = rest.find("{{") {
            let b = rest[a + 2..]
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in `{s}`"))?;
            out.push_str(&rest[..a]);
            out.push_str(&as_text(&self.eval(rest[a + 2..a + 2 + b].trim(), resp)?));
            rest = &rest[a + 2 + b + 2..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    fn subst_text(&mut self, s: &str) -> Result<String, String> {
        Ok(as_text(&self.subst_str(s, None)?))
    }

    /// Substitutes every string in a request body (object keys stay literal).
    fn subst_json(&mut self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => self.subst_str(s, None)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|c| self.subst_json(c))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => {
                let mut m = Map::new();
                for (k, c) in o {
                    m.insert(k.clone(), self.subst_json(c)?);
                }
                Value::Object(m)
            }
            other => other.clone(),
        })
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(300).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn shown(v: Option<&Value>) -> String {
    v.map_or("(absent)".to_string(), short)
}

/// Subset match of `expected` against `actual` (None = the key is absent).
fn match_value(
    exp: &Value,
    act: Option<&Value>,
    at: &str,
    vars: &mut Vars,
    resp: &Resp,
) -> Result<(), String> {
    match exp {
        Value::String(s) => {
            if let Some(t) = is_whole_token(s) {
                let ok = match t.as_str() {
                    "absent" => Some(act.is_none_or(Value::is_null)),
                    "any" => Some(act.is_some_and(|a| !a.is_null())),
                    "string" => Some(act.is_some_and(Value::is_string)),
                    "number" => Some(act.is_some_and(Value::is_number)),
                    "bool" => Some(act.is_some_and(Value::is_boolean)),
                    "uuid" => Some(
                        act.and_then(Value::as_str)
                            .is_some_and(|x| uuid::Uuid::parse_str(x).is_ok()),
                    ),
                    "datetime" => Some(
                        act.and_then(Value::as_str)
                            .is_some_and(|x| chrono::DateTime::parse_from_rfc3339(x).is_ok()),
                    ),
                    _ => None,
                };
                if let Some(ok) = ok {
                    return if ok {
                        Ok(())
                    } else {
                        Err(format!("{at}: expected {{{{{t}}}}}, got {}", shown(act)))
                    };
                }
                if let Some(e) = t.strip_prefix("ci:") {
                    let want = as_text(
                        &vars
                            .eval(e.trim(), Some(resp))
                            .map_err(|e| format!("{at}: {e}"))?,
                    );
                    return match act.and_then(Value::as_str) {
                        Some(a) if a.to_lowercase() == want.to_lowercase() => Ok(()),
                        _ => Err(format!(
                            "{at}: expected {want:?} (any case), got {}",
                            shown(act)
                        )),
                    };
                }
                if let Some(e) = t.strip_prefix("not:") {
                    let unwanted = vars
                        .eval(e.trim(), Some(resp))
                        .map_err(|e| format!("{at}: {e}"))?;
                    return match act {
                        None => Err(format!(
                            "{at}: expected a value other than {}, got (absent)",
                            short(&unwanted)
                        )),
                        Some(a) if scalar_eq(a, &unwanted) => Err(format!(
                            "{at}: expected a value other than {}, got it",
                            short(&unwanted)
                        )),
                        Some(_) => Ok(()),
                    };
                }
            }
            let want = vars
                .subst_str(s, Some(resp))
                .map_err(|e| format!("{at}: {e}"))?;
            match act {
                Some(a) if scalar_eq(a, &want) => Ok(()),
                _ => Err(format!(
                    "{at}: expected {}, got {}",
                    short(&want),
                    shown(act)
                )),
            }
        }
        Value::Object(o)
            if o.len() == 1
                && (o.contains_key("{{contains}}") || o.contains_key("{{ordered}}")) =>
        {
            let Some(Value::Array(acts)) = act else {
                return Err(format!("{at}: expected an array, got {}", shown(act)));
            };
            if let Some(Value::Array(exps)) = o.get("{{ordered}}") {
                if exps.len() != acts.len() {
                    return Err(format!(
                        "{at}: expected {} elements in order, got {}: {}",
                        exps.len(),
                        acts.len(),
                        shown(act)
                    ));
                }
                for (n, (e, a)) in exps.iter().zip(acts).enumerate() {
                    match_value(e, Some(a), &format!("{at}[{n}]"), vars, resp)?;
                }
                return Ok(());
            }
            let exps = o
                .get("{{contains}}")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            match_unordered(&exps, acts, at, vars, resp)
        }
        Value::Object(o) => {
            let Some(Value::Object(a)) = act else {
                return Err(format!("{at}: expected an object, got {}", shown(act)));
            };
            for (k, e) in o {
                let sub = if k.contains(':') || k.contains('.') {
                    format!("{at}[\"{k}\"]")
                } else {
                    format!("{at}.{k}")
                };
                match_value(e, a.get(k), &sub, vars, resp)?;
            }
            Ok(())
        }
        Value::Array(exps) => {
            let Some(Value::Array(acts)) = act else {
                return Err(format!("{at}: expected an array, got {}", shown(act)));
            };
            if exps.len() != acts.len() {
                return Err(format!(
                    "{at}: expected {} elements, got {}: {}",
                    exps.len(),
                    acts.len(),
                    shown(act)
                ));
            }
            match_unordered(exps, acts, at, vars, resp)
        }
        other => match act {
            Some(a) if scalar_eq(a, other) => Ok(()),
            _ => Err(format!(
                "{at}: expected {}, got {}",
                short(other),
                shown(act)
            )),
        },
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Every expected element matches a distinct actual element (bipartite matching).
fn match_unordered(
    exps: &[Value],
    acts: &[Value],
    at: &str,
    vars: &mut Vars,
    resp: &Resp,
) -> Result<(), String> {
    if exps.len() == 1 && acts.len() == 1 {
        return match_value(&exps[0], Some(&acts[0]), &format!("{at}[0]"), vars, resp);
    }
    let fits: Vec<Vec<bool>> = exps
        .iter()
        .map(|e| {
            acts.iter()
                .map(|a| match_value(e, Some(a), at, vars, resp).is_ok())
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; acts.len()];
    fn augment(
        i: usize,
        fits: &[Vec<bool>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for j in 0..owner.len() {
            if fits[i][j] && !seen[j] {
                seen[j] = true;
                if owner[j].is_none_or(|k| augment(k, fits, seen, owner)) {
                    owner[j] = Some(i);
                    return true;
                }
            }
        }
        false
    }
    for (i, e) in exps.iter().enumerate() {
        let mut seen = vec![false; acts.len()];
        if !augment(i, &fits, &mut seen, &mut owner) {
            return Err(format!(
                "{at}: no element left to match expected {} (elements: {})",
                short(e),
                short(&Value::Array(acts.to_vec()))
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Builds the URL: the query's keys and values are percent-encoded here.
fn build_url(prefix: &str, path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let mut url = format!("{prefix}{p}");
    if !q.is_empty() {
        let enc = |s: &str| {
            url::form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        let pairs: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => format!("{}={}", enc(k), enc(v)),
                None => enc(kv),
            })
            .collect();
        url.push('?');
        url.push_str(&pairs.join("&"));
    }
    url
}

/// Checks every response must pass, whatever the step says.
fn universal_checks(r: &Resp) -> Vec<String> {
    let mut errs = Vec::new();
    let ct = r.headers.get("content-type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if r.status == 204 {
        if !r.text.is_empty() {
            errs.push("a 204 must have an empty body".to_string());
        }
        return errs;
    }
    if !r.text.is_empty() && ct.as_deref() != Some("application/scim+json") {
        errs.push(format!(
            "content-type must be application/scim+json, got {ct:?}"
        ));
    }
    if r.status >= 400 {
        let Some(b) = &r.json else {
            errs.push("an error response needs a SCIM Error JSON body".to_string());
            return errs;
        };
        let schemas_ok = b["schemas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s == ERROR_SCHEMA));
        if !schemas_ok {
            errs.push(format!("error body: `schemas` must contain {ERROR_SCHEMA}"));
        }
        if b["status"] != Value::String(r.status.to_string()) {
            errs.push(format!(
                "error body: `status` must be the string \"{}\", got {}",
                r.status, b["status"]
            ));
        }
        if !b["detail"].is_string() {
            errs.push("error body: `detail` must be a string".to_string());
        }
    }
    errs
}

#[derive(Default)]
struct Report {
    failures: Vec<String>,
    known: Vec<String>,
    fixed: Vec<String>,
    steps_run: usize,
    steps_passed: usize,
    runs: usize,
}

struct RunCtx<'a> {
    file: &'a str,
    scenario: &'a Scenario,
    kind: Kind,
    /// The target the requests go to (normally `kind.target()`).
    target: &'a str,
    backend: Backend,
}

impl RunCtx<'_> {
    fn label(&self, step: &Step, iter: Option<u32>) -> String {
        let it = iter.map(|i| format!(" (i={i})")).unwrap_or_default();
        format!(
            "[{:?}/{}] {} › `{}` › step `{}`{it}",
            self.backend,
            self.kind.as_str(),
            self.file,
            self.scenario.name,
            step.name
        )
    }
}

async fn send(
    app: &TestApp,
    target: &str,
    step: &Step,
    vars: &mut Vars,
) -> Result<(String, String, Resp), String> {
    let method = Method::from_bytes(step.method.as_bytes()).map_err(|e| e.to_string())?;
    let path = vars.subst_text(&step.path)?;
    let url = build_url(&app.url(target, ""), &path);
    let mut rb = app.client.request(method, &url);
    rb = match step.auth {
        Auth::Token => rb.bearer_auth(&app.tokens[target]),
        Auth::None => rb,
        Auth::Wrong => rb.bearer_auth("not-a-token-anyone-issued"),
        Auth::OtherTarget => rb.bearer_auth(&app.tokens["t2"]),
    };
    let body = match (&step.body, &step.raw_body) {
        (Some(b), _) => Some(vars.subst_json(b)?.to_string()),
        (None, Some(raw)) => Some(vars.subst_text(raw)?),
        _ => None,
    };
    let mut has_ct = false;
    for (k, v) in &step.headers {
        has_ct |= k.eq_ignore_ascii_case("content-type");
        rb = rb.header(k.as_str(), vars.subst_text(v)?);
    }
    if let Some(b) = &body {
        if !has_ct {
            rb = rb.header("content-type", "application/scim+json");
        }
        rb = rb.body(b.clone());
    }
    let r = tokio::time::timeout(Duration::from_secs(30), rb.send())
        .await
        .map_err(|_| "no answer within 30 s".to_string())?
        .map_err(|e| format!("request failed: {e}"))?;
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let text = r.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).ok();
    let req = format!("{} {url}", step.method);
    Ok((
        req,
        body.unwrap_or_default(),
        Resp {
            status,
            headers,
            text,
            json,
        },
    ))
}

fn check_response(step: &Step, r: &Resp, vars: &mut Vars) -> Vec<String> {
    let mut errs = Vec::new();
    if r.status != step.expect.status {
        errs.push(format!(
            "status: expected {}, got {}",
            step.expect.status, r.status
        ));
    }
    errs.extend(universal_checks(r));
    for (name, exp) in &step.expect.headers {
        let act = r
            .headers
            .get(&name.to_ascii_lowercase())
            .map(|v| Value::String(v.clone()));
        if let Err(e) = match_value(exp, act.as_ref(), &format!("header {name}"), vars, r) {
            errs.push(e);
        }
    }
    if let Some(exp) = &step.expect.body {
        match &r.json {
            None => errs.push("body: expected JSON, got none".to_string()),
            Some(j) => {
                if let Err(e) = match_value(exp, Some(j), "$", vars, r) {
                    errs.push(e);
                }
            }
        }
    }
    // Captures (a capture that cannot be made is a failure of this step).
    for (name, p) in &step.capture {
        let v = if let Some(h) = p.strip_prefix("header:") {
            r.headers
                .get(&h.to_ascii_lowercase())
                .map(|v| Value::String(v.clone()))
        } else {
            parse_json_path(&p[1..])
                .ok()
                .and_then(|segs| r.json.as_ref().and_then(|j| json_get(j, &segs)).cloned())
        };
        match v {
            Some(v) if !v.is_null() => vars.set(name, v),
            _ => errs.push(format!("capture `{name}`: `{p}` not found in the response")),
        }
    }
    errs
}

fn truncated(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let cut = s
        .char_indices()
        .take_while(|(i, _)| *i < n)
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    format!("{}… ({} bytes)", &s[..cut], s.len())
}

/// The scenario's variables, set up for a run against `cx.target`.
fn scenario_vars(app: &TestApp, cx: &RunCtx<'_>, report: &mut Report) -> Vars {
    let target = cx.target;
    let mut vars = Vars::default();
    vars.set("base", json!(app.url(target, "")));
    vars.set("target", json!(target));
    vars.set("kind", json!(cx.kind.as_str()));
    for (k, v) in &cx.scenario.vars {
        match vars.subst_text(v) {
            Ok(s) => vars.set(k, json!(s)),
            Err(e) => report.failures.push(format!(
                "{} › `{}`: vars.{k}: {e}",
                cx.file, cx.scenario.name
            )),
        }
    }
    vars
}

async fn run_scenario(app: &TestApp, cx: &RunCtx<'_>, report: &mut Report) {
    let mut vars = scenario_vars(app, cx, report);
    report.runs += 1;
    run_steps(app, cx, &cx.scenario.steps, &mut vars, report).await;
}

async fn run_steps(
    app: &TestApp,
    cx: &RunCtx<'_>,
    steps: &[Step],
    vars: &mut Vars,
    report: &mut Report,
) {
    let target = cx.target;
    for step in steps {
        let iters: Vec<Option<u32>> = match step.repeat {
            Some(n) => (1..=n).map(Some).collect(),
            None => vec![None],
        };
        for it in iters {
            if let Some(i) = it {
                vars.set("i", json!(i));
            }
            report.steps_run += 1;
            let label = cx.label(step, it);
            let (errs, context) = match send(app, target, step, vars).await {
                Err(e) => (vec![format!("not sent: {e}")], String::new()),
                Ok((req, body, r)) => {
                    let errs = check_response(step, &r, vars);
                    let sent = if body.is_empty() {
                        String::new()
                    } else {
                        format!("\n    sent: {}", truncated(&body, 600))
                    };
                    (
                        errs,
                        format!(
                            "\n    request: {req}{sent}\n    response {}: {}",
                            r.status,
                            truncated(&r.text, 1500)
                        ),
                    )
                }
            };
            match (errs.is_empty(), &step.known_issue) {
                (true, None) => report.steps_passed += 1,
                (true, Some(k)) => {
                    report.steps_passed += 1;
                    report
                        .fixed
                        .push(format!("{label}: passes now; remove `known_issue` ({k})"));
                }
                (false, Some(k)) => report.known.push(format!(
                    "{label}: KNOWN ISSUE {k}\n    - {}",
                    errs.join("\n    - ")
                )),
                (false, None) => report.failures.push(format!(
                    "{label}:\n    - {}{context}",
                    errs.join("\n    - ")
                )),
            }
        }
    }
}

/// Stops the server and closes its pool, so dozens of runs do not exhaust Postgres connections.
async fn stop(app: &TestApp) {
    app.app.shutdown.cancel();
    app.store().close().await;
}

fn spawn_opts(backend: Backend) -> Spawn {
    let mut s = Spawn::new(backend);
    s.extra_toml = EXTRA_TARGETS.to_string();
    s.extra_tokens = vec!["cb".into(), "ab".into()];
    s
}

async fn run_suite(idp: &str, backend: Backend) {
    let suite =
        load_suite(idp).unwrap_or_else(|e| panic!("malformed scenario files:\n{}", e.join("\n")));
    let only = std::env::var("CONFORMANCE_SCENARIO")
        .ok()
        .filter(|s| !s.is_empty());
    let started = Instant::now();
    let mut report = Report::default();
    for (file, sc) in &suite {
        if let Some(o) = &only
            && !file.contains(o.as_str())
            && !sc.name.contains(o.as_str())
        {
            continue;
        }
        for kind in &sc.resource_kinds {
            // A fresh server and database for every scenario × kind.
            let app = spawn_with(spawn_opts(backend)).await;
            let cx = RunCtx {
                file,
                scenario: sc,
                kind: *kind,
                target: kind.target(),
                backend,
            };
            run_scenario(&app, &cx, &mut report).await;
            stop(&app).await;
        }
    }
    let mut summary = format!(
        "{idp} on {backend:?}: {} scenario runs, {}/{} steps passed, {} failed, {} known issues, in {:.1}s",
        report.runs,
        report.steps_passed,
        report.steps_run,
        report.failures.len(),
        report.known.len(),
        started.elapsed().as_secs_f64()
    );
    for k in &report.known {
        let _ = write!(summary, "\n  {k}");
    }
    for f in &report.fixed {
        let _ = write!(summary, "\n  NOTE {f}");
    }
    eprintln!("{summary}");
    if !report.failures.is_empty() {
        panic!(
            "{summary}\n\n{} failing steps:\n\n{}",
            report.failures.len(),
            report.failures.join("\n\n")
        );
    }
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

// ---------------------------------------------------------------------------------------
// Vendor end state: the same replays with background delivery to the in-process simulators
// ---------------------------------------------------------------------------------------

/// Polls the admin API until no mapping of `target` is `pending` or `retrying` (≤ 20 s).
async fn converge(app: &TestApp, target: &str) -> Result<Vec<Value>, String> {
    settle(app, target, false).await
}

/// Waits until no mapping of `target` is pending or retrying (and, unless `allow_empty`,
/// there is at least one).
async fn settle(app: &TestApp, target: &str, allow_empty: bool) -> Result<Vec<Value>, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app
            .admin_get(&format!("/admin/v1/mappings?target={target}&limit=1000"))
            .await;
        if status != 200 {
            return Err(format!("GET /admin/v1/mappings: {status} {body}"));
        }
        let rows = body["mappings"].as_array().cloned().unwrap_or_default();
        let busy = rows
            .iter()
            .any(|r| matches!(r["state"].as_str(), Some("pending" | "retrying")));
        if !busy && (allow_empty || !rows.is_empty()) {
            return Ok(rows);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "mappings of `{target}` did not converge within 20 s: {body}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No mapping failed, and each listed resource has its expected state.
fn assert_states(rows: &[Value], want: &[(&str, &str)], what: &str) {
    let all = Value::Array(rows.to_vec());
    assert!(
        !rows.iter().any(|r| r["state"] == "failed"),
        "{what}: a mapping failed: {all}"
    );
    for (id, state) in want {
        let row = rows.iter().find(|r| r["resource_id"] == *id);
        assert_eq!(
            row.map(|r| r["state"].clone()),
            Some(json!(state)),
            "{what}: state of {id}: {all}"
        );
    }
}

/// Loads one scenario and the index of each named step (which must exist).
fn scenario_with_steps(idp: &str, file: &str, split_at: &[&str]) -> (String, Scenario, Vec<usize>) {
    let (f, s) = load_suite(idp)
        .unwrap_or_else(|e| panic!("malformed scenario files:\n{}", e.join("\n")))
        .into_iter()
        .find(|(f, _)| f.ends_with(file))
        .unwrap_or_else(|| panic!("conformance/{idp}/{file} is missing"));
    let idx = split_at
        .iter()
        .map(|n| {
            s.steps
                .iter()
                .position(|st| st.name == *n)
                .unwrap_or_else(|| panic!("{f}: no step `{n}`"))
        })
        .collect();
    (f, s, idx)
}

fn finish_report(report: Report, what: &str) {
    assert!(
        report.failures.is_empty() && report.known.is_empty(),
        "{what}: replay failed:\n{}\n{}",
        report.failures.join("\n\n"),
        report.known.join("\n")
    );
}

fn var_str(vars: &mut Vars, name: &str) -> String {
    as_text(&vars.eval(name, None).unwrap_or_else(|e| panic!("{e}")))
}

async fn okta_vendor_end_state(backend: Backend) {
    use scim_bridge::sim::contrast::{BASE_PATH, ContrastSim};
    let sim = ContrastSim::default();
    let server = sim.start().await.expect("start the Contrast simulator");
    let c = sim.config().clone();
    let mut spawn = Spawn::new(backend);
    spawn.background = true;
    spawn.extra_tokens = vec!["vc".into()];
    spawn.extra_toml = format!(
        "[targets.vc]\nkind = \"contrast\"\ntoken_sha256 = [\"{{token:vc}}\"]\nbase_url = \"{}{BASE_PATH}\"\norg_uuid = \"{}\"\nusername = \"{}\"\nservice_key = \"{}\"\napi_key = \"{}\"\n",
        server.base_url(),
        c.org_uuid,
        c.username,
        c.service_key,
        c.api_key
    );
    let app = spawn_with(spawn).await;
    let (file, sc, _) = scenario_with_steps("okta", "12-vendor-lifecycle.json", &[]);
    let cx = RunCtx {
        file: &file,
        scenario: &sc,
        kind: Kind::Contrast,
        target: "vc",
        backend,
    };
    let mut report = Report::default();
    let mut vars = scenario_vars(&app, &cx, &mut report);
    // Converge after every step, as with an IdP slower than the workers: otherwise a fast
    // replay can deactivate alice before she was ever created at Contrast (then correctly
    // never created), and the disable path below would not be exercised.
    for step in &sc.steps {
        run_steps(
            &app,
            &cx,
            std::slice::from_ref(step),
            &mut vars,
            &mut report,
        )
        .await;
        settle(&app, "vc", true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    finish_report(report, "okta vendor end state");
    let rows = converge(&app, "vc").await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = ["aliceId", "bobId", "groupId"]
        .iter()
        .map(|n| var_str(&mut vars, n))
        .collect();
    assert_states(
        &rows,
        &[
            (&ids[0], "deprovisioned"),
            (&ids[1], "synced"),
            (&ids[2], "synced"),
        ],
        "okta → contrast",
    );

    let (alice, bob) = (var_str(&mut vars, "alice"), var_str(&mut vars, "bob"));
    let a = sim
        .user_by_username(&alice)
        .unwrap_or_else(|| panic!("alice is not in Contrast: {:?}", sim.users()));
    let b = sim
        .user_by_username(&bob)
        .unwrap_or_else(|| panic!("bob is not in Contrast: {:?}", sim.users()));
    assert!(
        !a.enabled,
        "alice was deactivated in Okta, so she is disabled in Contrast: {a:?}"
    );
    assert!(b.enabled, "bob stays enabled: {b:?}");
    assert_eq!(
        (a.first_name.as_str(), a.last_name.as_str()),
        ("Alice", "Liddell")
    );
    let dev = sim
        .groups()
        .into_iter()
        .find(|g| g.name == "Developers")
        .expect("the Developers access group");
    let members = sim.group_members(&dev.group_id);
    assert!(
        !members.contains(&b.user_id),
        "bob was removed from Developers: {members:?}"
    );
    assert!(
        members.contains(&a.user_id),
        "alice stays in Developers (Okta only deactivated her): {members:?}"
    );
    stop(&app).await;
    server.shutdown().await;
}

async fn entra_vendor_end_state(backend: Backend) {
    use scim_bridge::sim::carbon_black::{CarbonBlackSim, KeyStatus};
    let sim = CarbonBlackSim::default();
    let server = sim.start().await.expect("start the Carbon Black simulator");
    let c = sim.config().clone();
    let mut spawn = Spawn::new(backend);
    spawn.background = true;
    spawn.extra_tokens = vec!["vcb".into()];
    spawn.extra_toml = format!(
        "[targets.vcb]\nkind = \"carbon_black\"\ntoken_sha256 = [\"{{token:vcb}}\"]\nbase_url = \"{}\"\norg_key = \"{}\"\napi_id = \"{}\"\napi_secret = \"{}\"\n",
        server.base_url(),
        c.org_key,
        c.api_id,
        c.api_secret
    );
    let app = spawn_with(spawn).await;
    let (file, sc, idx) = scenario_with_steps(
        "entra",
        "13-vendor-deprovision.json",
        &["soft delete dave", "hard delete dave"],
    );
    let cx = RunCtx {
        file: &file,
        scenario: &sc,
        kind: Kind::CarbonBlack,
        target: "vcb",
        backend,
    };
    let mut report = Report::default();
    let mut vars = scenario_vars(&app, &cx, &mut report);

    // Phase 1: both users are created in Carbon Black.
    run_steps(&app, &cx, &sc.steps[..idx[0]], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (carol_id, dave_id) = (var_str(&mut vars, "carolId"), var_str(&mut vars, "daveId"));
    assert_states(
        &rows,
        &[(&carol_id, "synced"), (&dave_id, "synced")],
        "entra → carbon black (create)",
    );
    let (carol, dave) = (var_str(&mut vars, "carol"), var_str(&mut vars, "dave"));
    assert!(
        sim.user_by_login(&carol).is_some(),
        "carol is in Carbon Black: {:?}",
        sim.users()
    );
    assert!(
        sim.user_by_login(&dave).is_some(),
        "dave is in Carbon Black: {:?}",
        sim.users()
    );
    let key = sim.add_key(&dave, "dave's automation key");

    // Phase 2: soft delete dave, update carol.
    run_steps(&app, &cx, &sc.steps[idx[0]..idx[1]], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_states(
        &rows,
        &[(&carol_id, "synced"), (&dave_id, "deprovisioned")],
        "entra → carbon black (soft delete)",
    );
    assert!(
        sim.user_by_login(&dave).is_none(),
        "a deactivated user is deleted from Carbon Black: {:?}",
        sim.users()
    );
    let keys = sim.keys();
    assert!(
        !keys
            .iter()
            .any(|k| k.id == key.id && k.status == KeyStatus::Enabled),
        "dave's API key is revoked: {keys:?}"
    );
    let c_user = sim.user_by_login(&carol).expect("carol stays");
    assert_eq!(
        c_user.last_name, "Marvel",
        "carol's update reached Carbon Black: {c_user:?}"
    );

    // Phase 3: the hard delete of an already deprovisioned user converges too.
    run_steps(&app, &cx, &sc.steps[idx[1]..], &mut vars, &mut report).await;
    let rows = converge(&app, "vcb")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_states(
        &rows,
        &[(&carol_id, "synced")],
        "entra → carbon black (hard delete)",
    );
    assert!(sim.user_by_login(&dave).is_none());
    assert!(sim.user_by_login(&carol).is_some());
    finish_report(report, "entra vendor end state");
    stop(&app).await;
    server.shutdown().await;
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

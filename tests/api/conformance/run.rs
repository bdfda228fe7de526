//! Running a scenario against a fresh server: requests, universal checks, reports.

use super::*;

pub(super) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Builds the URL: the query's keys and values are percent-encoded here.
pub(super) fn build_url(prefix: &str, path: &str) -> String {
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
pub(super) fn universal_checks(r: &Resp) -> Vec<String> {
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
pub(super) struct Report {
    pub(super) failures: Vec<String>,
    pub(super) known: Vec<String>,
    pub(super) fixed: Vec<String>,
    pub(super) steps_run: usize,
    pub(super) steps_passed: usize,
    pub(super) runs: usize,
}

pub(super) struct RunCtx<'a> {
    pub(super) file: &'a str,
    pub(super) scenario: &'a Scenario,
    pub(super) kind: Kind,
    /// The target the requests go to (normally `kind.target()`).
    pub(super) target: &'a str,
    pub(super) backend: Backend,
}

impl RunCtx<'_> {
    pub(super) fn label(&self, step: &Step, iter: Option<u32>) -> String {
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

pub(super) async fn send(
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

pub(super) fn check_response(step: &Step, r: &Resp, vars: &mut Vars) -> Vec<String> {
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

pub(super) fn truncated(s: &str, n: usize) -> String {
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
pub(super) fn scenario_vars(app: &TestApp, cx: &RunCtx<'_>, report: &mut Report) -> Vars {
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

pub(super) async fn run_scenario(app: &TestApp, cx: &RunCtx<'_>, report: &mut Report) {
    let mut vars = scenario_vars(app, cx, report);
    report.runs += 1;
    run_steps(app, cx, &cx.scenario.steps, &mut vars, report).await;
}

pub(super) async fn run_steps(
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
pub(super) async fn stop(app: &TestApp) {
    app.app.shutdown.cancel();
    app.store().close().await;
}

pub(super) fn spawn_opts(backend: Backend) -> Spawn {
    let mut s = Spawn::new(backend);
    s.extra_toml = EXTRA_TARGETS.to_string();
    s.extra_tokens = vec!["cb".into(), "ab".into()];
    s
}

pub(super) async fn run_suite(idp: &str, backend: Backend) {
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

//! Loading scenario files and the static checks (`scenario_files_are_well_formed`).

use super::*;

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

pub(super) const MATCHERS: &[&str] = &[
    "any", "absent", "string", "uuid", "number", "bool", "datetime",
];
pub(super) const BUILTINS: &[&str] = &["base", "target", "kind"];

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

pub(super) fn check_matcher_keys(v: &Value, errs: &mut Vec<String>, at: &str) {
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

pub(super) fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|c| collect_strings(c, out)),
        Value::Object(o) => o.values().for_each(|c| collect_strings(c, out)),
        _ => {}
    }
}

/// The `{{…}}` tokens of a string (trimmed contents).
pub(super) fn tokens(s: &str) -> Vec<String> {
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
pub(super) fn is_whole_token(s: &str) -> Option<String> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim().to_string())
}

pub(super) fn check_expr(
    t: &str,
    defined: &HashSet<String>,
    in_expect: bool,
) -> Result<(), String> {
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

//! Subset matching of expected JSON against responses.

use super::*;

pub(super) fn short(v: &Value) -> String {
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

pub(super) fn shown(v: Option<&Value>) -> String {
    v.map_or("(absent)".to_string(), short)
}

/// Subset match of `expected` against `actual` (None = the key is absent).
pub(super) fn match_value(
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

pub(super) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Every expected element matches a distinct actual element (bipartite matching).
pub(super) fn match_unordered(
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

//! Substitution of `{{…}}` variables and JSON paths into responses.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// `.a.b[0].c`, `.Resources.0.id`, `["urn:…:User"].manager` (after the leading `$`).
pub(super) fn parse_json_path(p: &str) -> Result<Vec<Seg>, String> {
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

pub(super) fn json_get<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
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
    pub(super) fn set(&mut self, k: &str, v: Value) {
        self.map.insert(k.to_string(), v);
    }

    pub(super) fn eval(&mut self, expr: &str, resp: Option<&Resp>) -> Result<Value, String> {
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
    pub(super) fn subst_str(&mut self, s: &str, resp: Option<&Resp>) -> Result<Value, String> {
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

    pub(super) fn subst_text(&mut self, s: &str) -> Result<String, String> {
        Ok(as_text(&self.subst_str(s, None)?))
    }

    /// Substitutes every string in a request body (object keys stay literal).
    pub(super) fn subst_json(&mut self, v: &Value) -> Result<Value, String> {
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

pub(super) fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

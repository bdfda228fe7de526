//! The pages' content, built from the store.

use std::collections::BTreeMap;

use super::Filter;
use super::html::{esc, frame, url};
use crate::clock::rfc3339_ms;
use crate::scim::ResourceType;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::mappings::{MappingFilter, MappingRow};

const STATES: &[&str] = &[
    "pending",
    "synced",
    "retrying",
    "failed",
    "deprovisioned",
    "unmapped",
    "enrichment",
    "drift",
];
const PAGE: i64 = 100;

fn ts(ms: Option<i64>) -> String {
    ms.map(rfc3339_ms).unwrap_or_else(|| "–".into())
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(esc).unwrap_or_else(|| "–".into())
}

pub fn login(error: Option<&str>) -> String {
    let err = error
        .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    frame(
        "Log in",
        false,
        &format!(
            "<h2>Log in</h2>{err}<form method=\"post\" action=\"/admin/login\">\
             <label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> \
             <button type=\"submit\">Log in</button></form>\
             <p>Make one with <code>scim-bridge token create --admin</code> and put its hash in \
             <code>admin_token_sha256</code>.</p>"
        ),
    )
}

pub fn problem(msg: &str) -> String {
    frame(
        "Problem",
        true,
        &format!(
            "<p class=\"error\">{}</p><p><a href=\"/admin\">Back</a></p>",
            esc(msg)
        ),
    )
}

fn retry_form(csrf: &str, target: &str, id: Option<&str>, label: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/admin/retry\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"target\" value=\"{}\">\
         <input type=\"hidden\" name=\"resource_id\" value=\"{}\"><button type=\"submit\">{}</button></form>",
        esc(csrf),
        esc(target),
        esc(id.unwrap_or("")),
        esc(label)
    )
}

pub async fn dashboard(s: &AppState, f: &Filter, csrf: &str) -> Result<String, StoreError> {
    let now = s.clock.now_ms();
    let counts = s.store.mapping_counts().await?;
    let queue = s.store.queue_stats(now).await?;
    let mut by_target: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for name in s.targets.keys() {
        by_target.entry(name.clone()).or_default();
    }
    for (t, st, n) in counts {
        by_target.entry(t).or_default().insert(st, n);
    }
    let mut out = String::from("<h2>Targets</h2><table><tr><th>target</th><th>kind</th>");
    for st in STATES {
        out.push_str(&format!("<th>{st}</th>"));
    }
    out.push_str("<th>queue</th><th>oldest job</th><th></th></tr>");
    for (t, states) in &by_target {
        let kind = s
            .targets
            .get(t)
            .map(|i| i.kind.as_str())
            .unwrap_or("(not configured)");
        out.push_str(&format!(
            "<tr><td><a href=\"/admin?target={}\">{}</a></td><td>{}</td>",
            url(t),
            esc(t),
            kind
        ));
        for st in STATES {
            let n = states.get(*st).copied().unwrap_or(0);
            out.push_str(&format!("<td class=\"{st}\">{n}</td>"));
        }
        let q = queue.iter().find(|q| &q.target == t);
        let age = q
            .and_then(|q| q.oldest_enqueued_at)
            .map(|o| format!("{}s", (now - o).max(0) / 1000))
            .unwrap_or_else(|| "–".into());
        out.push_str(&format!(
            "<td>{}</td><td>{age}</td><td>{}</td></tr>",
            q.map(|q| q.depth).unwrap_or(0),
            retry_form(csrf, t, None, "Retry failed")
        ));
    }
    out.push_str("</table>");
    out.push_str(&enrichment_status(s).await?);
    // Search.
    let sel = |v: &Option<String>, o: &str| {
        if v.as_deref() == Some(o) {
            " selected"
        } else {
            ""
        }
    };
    out.push_str("<h2>Mappings</h2><form method=\"get\" action=\"/admin\">");
    out.push_str(&format!(
        "<label>Search <input name=\"q\" value=\"{}\" placeholder=\"userName, SCIM id or vendor id\"></label> ",
        esc(f.q.as_deref().unwrap_or(""))
    ));
    out.push_str("<label>Target <select name=\"target\"><option value=\"\">all</option>");
    for t in by_target.keys() {
        out.push_str(&format!("<option{}>{}</option>", sel(&f.target, t), esc(t)));
    }
    out.push_str(
        "</select></label> <label>State <select name=\"state\"><option value=\"\">all</option>",
    );
    for st in STATES {
        out.push_str(&format!("<option{}>{st}</option>", sel(&f.state, st)));
    }
    out.push_str("</select></label> <button type=\"submit\">Search</button></form>");
    let filter = MappingFilter {
        target: f.target.clone().filter(|t| !t.is_empty()),
        state: f.state.clone().filter(|t| !t.is_empty()),
        search: f
            .q
            .clone()
            .filter(|t| !t.trim().is_empty())
            .map(|q| q.trim().to_string()),
        offset: f.offset.unwrap_or(0).max(0),
        limit: PAGE,
    };
    let (total, rows) = s.store.list_mappings(&filter).await?;
    out.push_str(&format!("<p>{} of {total} mapping(s)</p>", rows.len()));
    out.push_str(&mapping_table(&rows));
    if filter.offset + PAGE < total {
        out.push_str(&format!(
            "<p><a href=\"/admin?target={}&state={}&q={}&offset={}\">Next page</a></p>",
            url(filter.target.as_deref().unwrap_or("")),
            url(filter.state.as_deref().unwrap_or("")),
            url(filter.search.as_deref().unwrap_or("")),
            filter.offset + PAGE
        ));
    }
    Ok(frame("Mappings", true, &out))
}

/// Last sweep and last error of each Abnormal source (a 403 or 429 shows here).
async fn enrichment_status(s: &AppState) -> Result<String, StoreError> {
    let mut sources: Vec<&String> = s
        .targets
        .values()
        .filter(|t| t.kind == crate::config::TargetKind::Abnormal)
        .map(|t| &t.name)
        .collect();
    if sources.is_empty() {
        return Ok(String::new());
    }
    sources.sort();
    let mut out = String::from(
        "<h2>Abnormal enrichment</h2><table><tr><th>source</th><th>last full sweep</th><th>last error</th></tr>",
    );
    for src in sources {
        let (sweep, err) = s
            .store
            .enrichment_status(src)
            .await?
            .unwrap_or((None, None));
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(src),
            opt(&sweep),
            if err.is_some() { "failed" } else { "" },
            opt(&err)
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

fn mapping_table(rows: &[MappingRow]) -> String {
    let mut out = String::from(
        "<table><tr><th>target</th><th>type</th><th>SCIM key</th><th>vendor id</th><th>state</th>\
         <th>last error</th><th>attempts</th><th>last synced</th></tr>",
    );
    for r in rows {
        let err: String = r
            .last_error
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/admin/resource/{}/{}\">{}</a></td><td>{}</td>\
             <td class=\"state {}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.target),
            esc(&r.resource_type),
            url(&r.target),
            url(&r.resource_id),
            r.scim_key
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| esc(&r.resource_id)),
            opt(&r.vendor_id),
            esc(&r.state),
            esc(&r.state),
            esc(&err),
            r.attempts,
            ts(r.last_synced)
        ));
    }
    out.push_str("</table>");
    out
}

pub async fn resource(
    s: &AppState,
    target: &str,
    id: &str,
    csrf: &str,
) -> Result<Option<String>, StoreError> {
    let mut mapping = None;
    for rt in ["User", "Group"] {
        if let Some(m) = s.store.get_mapping(target, rt, id).await? {
            mapping = Some(m);
            break;
        }
    }
    let Some(m) = mapping else { return Ok(None) };
    let mut out = format!(
        "<h2>{} {} <small>{}</small></h2>",
        esc(&m.resource_type),
        m.scim_key.as_deref().map(esc).unwrap_or_default(),
        esc(&m.resource_id)
    );
    out.push_str("<table>");
    for (k, v) in [
        ("target", esc(&m.target)),
        (
            "state",
            format!("<span class=\"state {0}\">{0}</span>", esc(&m.state)),
        ),
        ("vendor id", opt(&m.vendor_id)),
        ("vendor key", opt(&m.vendor_key)),
        ("vendor status", opt(&m.vendor_status)),
        ("last error", opt(&m.last_error)),
        ("attempts", m.attempts.to_string()),
        ("next attempt", ts(m.next_attempt)),
        ("last synced", ts(m.last_synced)),
    ] {
        out.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    out.push_str("</table>");
    out.push_str(&retry_form(
        csrf,
        &m.target,
        Some(&m.resource_id),
        "Retry now",
    ));
    if let Some(rt) = ResourceType::parse(&m.resource_type)
        && let Some(r) = s.store.get_resource(target, rt, id, None).await?
    {
        let json = serde_json::to_string_pretty(&r.data).unwrap_or_default();
        out.push_str(&format!(
            "<h3>Desired state (SCIM, version {})</h3><pre>{}</pre>",
            r.version,
            esc(&json)
        ));
    } else {
        out.push_str("<p>The SCIM resource was deleted; the mapping keeps its history.</p>");
    }
    out.push_str("<h3>History</h3><table><tr><th>when</th><th>what</th><th>call</th><th>status</th><th>message</th></tr>");
    for h in s.store.history(target, id, 500).await? {
        let call = match (&h.method, &h.path) {
            (Some(m), Some(p)) => format!("{} {}", esc(m), esc(p)),
            (Some(m), None) => esc(m),
            _ => String::new(),
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{call}</td><td>{}</td><td>{}</td></tr>",
            rfc3339_ms(h.at),
            esc(&h.kind),
            h.status.map(|s| s.to_string()).unwrap_or_default(),
            opt(&h.message)
        ));
    }
    out.push_str("</table>");
    Ok(Some(frame(
        &format!(
            "{} {}",
            m.resource_type,
            m.scim_key.as_deref().unwrap_or("")
        ),
        true,
        &out,
    )))
}

//! Printing for the scenario: SCIM requests, vendor calls, mapping rows, and the wait for
//! convergence (with an `indicatif` spinner on a terminal).

use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::sim::RecordedCall;
use crate::store::Store;
use crate::store::mappings::{MappingFilter, MappingRow};

/// `s` cut to `max` characters, with an ellipsis when cut.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One vendor call as `METHOD path → status  body`.
pub fn call_line(c: &RecordedCall) -> String {
    let body = c
        .body
        .as_ref()
        .map(|b| short(&b.to_string(), 90))
        .unwrap_or_default();
    format!("{:<6} {} → {}  {body}", c.method, c.path, c.status)
}

/// Prints the vendor calls a simulator received since `from` (reads only, e.g. lookups, are
/// shown too: they are how the bridge avoids creating duplicates).
pub fn print_calls(
    out: &mut impl Write,
    vendor: &str,
    calls: &[RecordedCall],
    from: usize,
) -> std::io::Result<()> {
    let new = calls.get(from..).unwrap_or_default();
    if new.is_empty() {
        return writeln!(out, "    {vendor}: (no calls)");
    }
    writeln!(out, "    {vendor} received {} call(s):", new.len())?;
    for c in new {
        writeln!(out, "      {}", call_line(c))?;
    }
    Ok(())
}

/// The mapping rows of a target, with the outcome note of each (from its history).
pub async fn print_mappings(
    out: &mut impl Write,
    store: &Store,
    target: Option<&str>,
) -> anyhow::Result<Vec<MappingRow>> {
    let filter = MappingFilter {
        target: target.map(str::to_string),
        limit: 100,
        ..MappingFilter::default()
    };
    let (_, rows) = store.list_mappings(&filter).await?;
    writeln!(
        out,
        "    {:<13} {:<6} {:<22} {:<13} {:<38} NOTE / LAST ERROR",
        "TARGET", "TYPE", "SCIM KEY", "STATE", "VENDOR ID"
    )?;
    for r in &rows {
        let note = match &r.last_error {
            Some(e) => e.clone(),
            None => outcome_note(store, r).await?,
        };
        writeln!(
            out,
            "    {:<13} {:<6} {:<22} {:<13} {:<38} {}",
            r.target,
            r.resource_type,
            short(r.scim_key.as_deref().unwrap_or("-"), 22),
            r.state,
            r.vendor_id.as_deref().unwrap_or("-"),
            short(&note, 70)
        )?;
    }
    Ok(rows)
}

/// The newest outcome message of a mapping's history ("synced", "deprovisioned: revoked …").
async fn outcome_note(store: &Store, r: &MappingRow) -> anyhow::Result<String> {
    let history = store.history(&r.target, &r.resource_id, 50).await?;
    Ok(history
        .iter()
        .rev()
        .find(|h| h.kind != "call")
        .and_then(|h| h.message.clone())
        .unwrap_or_default())
}

/// Counts mappings still pending or retrying, plus queued jobs.
async fn busy(store: &Store) -> anyhow::Result<i64> {
    let pending: i64 = store
        .mapping_counts()
        .await?
        .iter()
        .filter(|(_, s, _)| s == "pending" || s == "retrying")
        .map(|(_, _, n)| *n)
        .sum();
    let queued: i64 = store
        .queue_stats(i64::MAX)
        .await?
        .iter()
        .map(|q| q.depth)
        .sum();
    Ok(pending.max(queued))
}

/// Waits until no mapping is pending or retrying and the queue is empty, at most `within`.
/// Returns whether it converged. Shows a spinner on a terminal (stderr).
pub async fn wait_converged(store: &Store, what: &str, within: Duration) -> anyhow::Result<bool> {
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("  {spinner} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    let start = Instant::now();
    let mut quiet = 0;
    let ok = loop {
        let n = busy(store).await?;
        // Idle for a few polls in a row: a finished job may still enqueue a follow-up
        // (a group re-sending its members once a new member has a vendor account).
        quiet = if n == 0 { quiet + 1 } else { 0 };
        if quiet >= 3 {
            break true;
        }
        if start.elapsed() > within {
            break false;
        }
        bar.set_message(format!("{what}: {n} change(s) on their way to the vendors"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    bar.finish_and_clear();
    Ok(ok)
}

/// The Abnormal extension of a rendered SCIM user, if present and non-empty.
pub fn abnormal_ext(user: &Value) -> Option<&serde_json::Map<String, Value>> {
    user.get(crate::scim::ABNORMAL_USER_SCHEMA)
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
}

//! Reconcile and drift detection: list the vendor's accounts, compare them with what the
//! IdP asked for, report the drifts and, on apply, repair them through the normal engine
//! path (forget the mapping's `applied` memory, enqueue the job, record an admin event).
//! Unmanaged accounts (at the vendor, no SCIM user) are reported, never deleted.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::desired::desired_user;
use super::{TargetDriver, TargetRuntime};
use crate::clock::Clock;
use crate::connectors::{CallLog, ConnectorError};
use crate::store::{Store, StoreError};

pub mod periodic;
pub mod plan;

pub use plan::{DesiredEntry, Drift, DriftKind, plan};

/// The outcome of one reconcile run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub dry_run: bool,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Accounts listed at the vendor.
    pub vendor_accounts: usize,
    /// SCIM users compared.
    pub scim_users: usize,
    /// SCIM users skipped because a sync is in flight (pending / retrying).
    pub in_flight: usize,
    pub drifts: Vec<Drift>,
    /// Users whose repair was queued (apply only).
    pub repairs_queued: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("target `{0}` is read-only (enrichment); nothing to reconcile")]
    NotWritable(String),
    #[error("listing accounts at the vendor failed: {0}")]
    Vendor(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one reconcile of `target`. Dry run (`apply == false`): marks drifted mappings
/// `drift` and changes nothing at the vendor. Apply: queues the repairs; the engine's
/// workers carry them out. `actor` names who asked, for the history.
pub async fn reconcile(
    store: &Store,
    target: &str,
    rt: &TargetRuntime,
    clock: &dyn Clock,
    apply: bool,
    actor: &str,
) -> Result<Report, ReconcileError> {
    let res = run(store, target, rt, clock, apply, actor).await;
    let outcome = match &res {
        Err(_) => "error",
        Ok(r) if r.drifts.is_empty() => "clean",
        Ok(_) if apply => "repaired",
        Ok(_) => "drift",
    };
    metrics::counter!("scim_bridge_reconcile_runs_total", "target" => target.to_string(), "outcome" => outcome)
        .increment(1);
    if let Ok(r) = &res {
        metrics::gauge!("scim_bridge_drift", "target" => target.to_string())
            .set(r.drifts.len() as f64);
    }
    res
}

async fn run(
    store: &Store,
    target: &str,
    rt: &TargetRuntime,
    clock: &dyn Clock,
    apply: bool,
    actor: &str,
) -> Result<Report, ReconcileError> {
    let TargetDriver::Write(conn) = &rt.driver else {
        return Err(ReconcileError::NotWritable(target.to_string()));
    };
    let log = CallLog::default();
    let accounts = conn.list_accounts(&log).await?;

    let users = store.target_users(target).await?;
    let ids: Vec<String> = users.iter().map(|(id, _)| id.clone()).collect();
    let mut groups = store.groups_of(target, &ids).await?;
    let mappings: HashMap<String, _> = store
        .user_mappings(target)
        .await?
        .into_iter()
        .map(|m| (m.resource_id.clone(), m))
        .collect();
    let mut desired = Vec::new();
    let mut in_flight = 0;
    let mut drifted_before = Vec::new();
    for (id, data) in &users {
        let labels = groups
            .remove(id)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, l)| l)
            .collect();
        let user = desired_user(id, data, labels);
        let m = mappings.get(id);
        if m.is_some_and(|m| m.state == "pending" || m.state == "retrying") {
            in_flight += 1;
            continue;
        }
        if m.is_some_and(|m| m.state == "drift") {
            drifted_before.push((id.clone(), user.active));
        }
        desired.push(DesiredEntry {
            expected_role: conn.expected_role(&user),
            vendor_id: m.and_then(|m| m.vendor_id.clone()),
            vendor_key: m.and_then(|m| m.vendor_key.clone()),
            user,
        });
    }
    let drifts = plan(&desired, &accounts);

    // Group the drifts of each managed user.
    let mut per_user: BTreeMap<String, Vec<&Drift>> = BTreeMap::new();
    for d in &drifts {
        if let Some(id) = &d.resource_id {
            per_user.entry(id.clone()).or_default().push(d);
        }
    }
    let now = clock.now_ms();
    let mut repairs_queued = 0;
    for (id, ds) in &per_user {
        if apply {
            let messages: Vec<String> = ds
                .iter()
                .map(|d| format!("reconcile: {}, repair queued by {actor}", d.kind))
                .collect();
            // Adopt the account found at the vendor (e.g. re-created behind our back).
            let adopt = ds.iter().find_map(|d| d.vendor_id.as_deref());
            store
                .queue_repair(target, id, adopt, &messages, now)
                .await?;
            repairs_queued += 1;
        } else {
            let text: Vec<String> = ds.iter().map(|d| d.kind.to_string()).collect();
            store
                .mark_drift(target, id, &format!("drift: {}", text.join("; ")), now)
                .await?;
        }
    }
    for (id, active) in drifted_before {
        if !per_user.contains_key(&id) {
            let state = if active { "synced" } else { "deprovisioned" };
            store.clear_drift(target, &id, state, now).await?;
        }
    }
    if apply {
        tracing::info!(
            actor,
            target,
            drifts = drifts.len(),
            repairs_queued,
            "reconcile applied"
        );
    }
    Ok(Report {
        target: target.to_string(),
        dry_run: !apply,
        at: now,
        vendor_accounts: accounts.len(),
        scim_users: users.len(),
        in_flight,
        drifts,
        repairs_queued,
    })
}

/// The report as a human table.
pub fn render_table(r: &Report) -> String {
    let mut out = format!(
        "target {}: {} vendor account(s), {} SCIM user(s), {} in flight (skipped), {} drift(s)\n",
        r.target,
        r.vendor_accounts,
        r.scim_users,
        r.in_flight,
        r.drifts.len()
    );
    if r.drifts.is_empty() {
        out.push_str("no drift: the vendor matches the desired state\n");
        return out;
    }
    let rows: Vec<[String; 4]> = r
        .drifts
        .iter()
        .map(|d| {
            [
                d.kind_name().to_string(),
                d.key.clone(),
                d.vendor_id.clone().unwrap_or_else(|| "-".into()),
                d.kind.to_string(),
            ]
        })
        .collect();
    let head = ["KIND", "USER", "VENDOR ID", "DETAIL"];
    let mut w = head.map(str::len);
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |c: [&str; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )
    };
    out.push_str(&line(head));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    if r.dry_run {
        out.push_str("dry run: nothing changed (unmanaged accounts are never deleted)\n");
    } else {
        out.push_str(&format!(
            "{} repair(s) queued (unmanaged accounts are reported, never deleted)\n",
            r.repairs_queued
        ));
    }
    out
}

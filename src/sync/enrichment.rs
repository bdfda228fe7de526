//! Abnormal Security enrichment: a poller sweeps all accounts each interval and refreshes
//! the cache for new or changed ones (detail + cases, bounded concurrency); a SCIM user
//! created on an abnormal target is looked up at once by its job. SCIM reads only ever read
//! the cache, so Abnormal being slow, rate-limiting or down never fails a SCIM request.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, rfc3339_ms};
use crate::connectors::abnormal::{AbnormalClient, AccountCase, AccountDetail};
use crate::connectors::{CallLog, ConnectorError};
use crate::store::Store;
use crate::store::enrichment::EnrichmentRow;
use crate::store::run_lock::Run;

/// Builds the cached row from Abnormal's detail and cases.
pub fn enrichment_row(detail: &AccountDetail, cases: &[AccountCase], now_ms: i64) -> EnrichmentRow {
    let open: Vec<&AccountCase> = cases.iter().filter(|c| c.is_open()).collect();
    let cases_json: Vec<serde_json::Value> = open
        .iter()
        .map(|c| json!({"caseId": c.case_id, "severity": c.severity, "status": c.status}))
        .collect();
    EnrichmentRow {
        risk_score: detail.risk_score.clone(),
        risk_level: detail.risk_level.clone(),
        compromised_since: detail.compromised_since.clone(),
        is_vip: detail.is_vip,
        department: detail.department.clone(),
        title: detail.title.clone(),
        is_active: detail.is_active,
        open_case_count: Some(i32::try_from(open.len()).unwrap_or(i32::MAX)),
        cases: Some(serde_json::Value::Array(cases_json).to_string()),
        last_refreshed: Some(rfc3339_ms(now_ms)),
    }
}

/// A fingerprint of everything but the refresh time.
fn fingerprint(row: &EnrichmentRow) -> String {
    let mut r = row.clone();
    r.last_refreshed = None;
    let text = serde_json::to_string(&r).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Fetches one account's detail and cases and stores them. Returns a note for the mapping.
pub async fn refresh_one(
    store: &Store,
    client: &AbnormalClient,
    source: &str,
    email: &str,
    log: &CallLog,
    clock: &dyn Clock,
) -> Result<String, ConnectorError> {
    let Some(detail) = client.account(email, log).await? else {
        return Ok(format!("no Abnormal account for {email}"));
    };
    let cases = client.open_cases(email, log).await?;
    let row = enrichment_row(&detail, &cases, clock.now_ms());
    let fp = fingerprint(&row);
    store
        .upsert_enrichment(source, email, &row, &fp)
        .await
        .map_err(|e| ConnectorError::retryable(format!("storing enrichment: {e}")))?;
    Ok(format!(
        "risk level {}, {} open case(s)",
        row.risk_level.as_deref().unwrap_or("unknown"),
        row.open_case_count.unwrap_or(0)
    ))
}

/// One full sweep: list all accounts, refresh those whose summary changed or that are new.
/// Returns (accounts seen, accounts refreshed).
pub async fn sweep(
    store: &Store,
    client: &AbnormalClient,
    source: &str,
    max_concurrency: usize,
    clock: &dyn Clock,
) -> Result<(usize, usize), ConnectorError> {
    let log = CallLog::default();
    let accounts = client.list_all_accounts(&log).await?;
    let known = store
        .enrichment_fingerprints(source)
        .await
        .map_err(|e| ConnectorError::retryable(format!("reading enrichment cache: {e}")))?;
    // The summary's hash decides whether detail and cases are fetched again.
    let todo: Vec<(String, String)> = accounts
        .iter()
        .filter_map(|a| {
            let email = a.email.as_deref()?.to_lowercase();
            let summary = serde_json::to_string(a).unwrap_or_default();
            let tag = hex::encode(Sha256::digest(summary.as_bytes()))[..16].to_string();
            let seen = known.get(&email).is_some_and(|fp| fp.ends_with(&tag));
            (!seen).then_some((email, tag))
        })
        .collect();
    let refreshed = futures::stream::iter(todo)
        .map(|(email, tag)| async move {
            let log = CallLog::default();
            let Some(detail) = client.account(&email, &log).await? else {
                return Ok::<bool, ConnectorError>(false);
            };
            let cases = client.open_cases(&email, &log).await?;
            let row = enrichment_row(&detail, &cases, clock.now_ms());
            let fp = format!("{}:{tag}", fingerprint(&row));
            store
                .upsert_enrichment(source, &email, &row, &fp)
                .await
                .map_err(|e| ConnectorError::retryable(format!("storing enrichment: {e}")))?;
            Ok(true)
        })
        .buffer_unordered(max_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut n = 0;
    for r in refreshed {
        if r? {
            n += 1;
        }
    }
    Ok((accounts.len(), n))
}

/// What one turn of the poller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// This replica swept: (accounts seen, accounts refreshed).
    Swept(usize, usize),
    /// Another replica holds the sweep lock (it is sweeping now).
    HeldElsewhere,
    /// A sweep (by any replica) succeeded `age_ms` ago, less than an interval.
    SweptRecently { age_ms: i64 },
    /// The sweep failed; the cache keeps the last known values.
    Failed(String),
}

/// One turn of the poller: with several replicas on one Postgres, at most one sweeps at a
/// time (advisory lock) and a sweep that succeeded less than an interval ago is not
/// repeated, so Abnormal sees one sweep per interval whatever the replica count.
pub async fn poll_once(
    store: &Store,
    client: &AbnormalClient,
    source: &str,
    interval: Duration,
    max_concurrency: usize,
    clock: &dyn Clock,
) -> PollOutcome {
    let lock = match store.try_run_lock(Run::EnrichmentSweep, source).await {
        Ok(Some(lock)) => lock,
        Ok(None) => return PollOutcome::HeldElsewhere,
        Err(e) => return PollOutcome::Failed(format!("taking the sweep lock: {e}")),
    };
    let outcome = poll_locked(store, client, source, interval, max_concurrency, clock).await;
    // Released before returning, so the next replica to poll sees the recorded sweep.
    lock.release().await;
    outcome
}

/// `poll_once` while holding the sweep lock.
async fn poll_locked(
    store: &Store,
    client: &AbnormalClient,
    source: &str,
    interval: Duration,
    max_concurrency: usize,
    clock: &dyn Clock,
) -> PollOutcome {
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    match store.enrichment_last_success_ms(source).await {
        Ok(Some(at)) => {
            let age_ms = clock.now_ms().saturating_sub(at);
            // 5 % slack: a replica whose timer fires just before the interval is up does
            // not wait a whole second interval.
            if (0..interval_ms.saturating_mul(19) / 20).contains(&age_ms) {
                return PollOutcome::SweptRecently { age_ms };
            }
        }
        Ok(None) => {}
        Err(e) => return PollOutcome::Failed(format!("reading the sweep status: {e}")),
    }
    let outcome = sweep(store, client, source, max_concurrency, clock).await;
    let now = clock.now_ms();
    match outcome {
        Ok((seen, refreshed)) => {
            tracing::info!(target_name = %source, seen, refreshed, "abnormal sweep done");
            metrics::gauge!("scim_bridge_enrichment_last_sweep_timestamp_seconds", "target" => source.to_string())
                .set(now as f64 / 1000.0);
            if let Err(e) = store
                .set_enrichment_status(source, Some(&rfc3339_ms(now)), None, now)
                .await
            {
                tracing::warn!(target_name = %source, error = %e, "abnormal sweep done but its status was not recorded");
            }
            PollOutcome::Swept(seen, refreshed)
        }
        Err(e) => {
            tracing::warn!(target_name = %source, error = %e, "abnormal sweep failed; last known values stay served");
            if let Err(e) = store
                .set_enrichment_status(source, None, Some(&e.to_string()), now)
                .await
            {
                tracing::warn!(target_name = %source, error = %e, "recording the failed sweep failed");
            }
            PollOutcome::Failed(e.to_string())
        }
    }
}

/// Runs the poller of one abnormal target until `stop`.
pub async fn poll_loop(
    store: Store,
    client: Arc<AbnormalClient>,
    source: String,
    interval: Duration,
    max_concurrency: usize,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        let outcome = poll_once(
            &store,
            &client,
            &source,
            interval,
            max_concurrency,
            clock.as_ref(),
        )
        .await;
        let unit: f64 = rand::rng().random();
        let wait = match outcome {
            PollOutcome::Swept(..) => {
                failures = 0;
                interval
            }
            // Look again when the other replica's interval is up (+ up to 10 % jitter, so
            // replicas do not all ask at once).
            PollOutcome::HeldElsewhere => interval.mul_f64(1.0 + unit / 10.0),
            PollOutcome::SweptRecently { age_ms } => {
                failures = 0;
                let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
                interval.saturating_sub(age) + interval.mul_f64(unit / 10.0)
            }
            PollOutcome::Failed(_) => {
                failures = failures.saturating_add(1);
                // Exponential backoff with full jitter, never longer than the interval.
                let base =
                    Duration::from_secs(2).saturating_mul(2u32.saturating_pow(failures.min(10)));
                base.min(interval).mul_f64(unit).max(Duration::from_secs(1))
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

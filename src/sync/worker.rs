//! Worker tasks: claim → converge → finish.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::desired::{desired_group, desired_user};
use super::retry::RetryPolicy;
use super::share::WorkerShare;
use super::{TargetDriver, Targets};
use crate::clock::Clock;
use crate::config::SyncConfig;
use crate::connectors::{CallLog, ConnectorError, SyncOutcome, SyncState, VendorLink};
use crate::scim::ResourceType;
use crate::store::jobs::{Job, JobResult};
use crate::store::reconcile::forget_applied;
use crate::store::{Store, StoreError};

pub struct Engine {
    pub store: Store,
    pub targets: Arc<Targets>,
    pub clock: Arc<dyn Clock>,
    pub policy: RetryPolicy,
    pub cfg: SyncConfig,
    /// Identifies this process's workers in job leases.
    pub worker_id: String,
    /// Woken by SCIM writes so idle workers pick new jobs at once.
    pub wake: Arc<Notify>,
    /// Keeps a worker for every target: one slow vendor never holds them all.
    share: WorkerShare,
}

impl Engine {
    pub fn new(
        store: Store,
        targets: Arc<Targets>,
        clock: Arc<dyn Clock>,
        cfg: SyncConfig,
        wake: Arc<Notify>,
    ) -> Engine {
        let policy = RetryPolicy {
            base: cfg.retry_base,
            max: cfg.retry_max,
            max_attempts: cfg.max_attempts,
        };
        let share = WorkerShare::new(cfg.workers, targets.0.keys().cloned().collect());
        Engine {
            share,
            store,
            targets,
            clock,
            policy,
            cfg,
            worker_id: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
            wake,
        }
    }

    /// Starts `cfg.workers` worker tasks that run until `shutdown`.
    pub fn spawn(
        self: &Arc<Self>,
        shutdown: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.cfg.workers)
            .map(|i| {
                let me = self.clone();
                let stop = shutdown.clone();
                tokio::spawn(async move { me.worker_loop(i, stop).await })
            })
            .collect()
    }

    async fn worker_loop(&self, n: usize, stop: CancellationToken) {
        let worker = format!("{}/{n}", self.worker_id);
        loop {
            if stop.is_cancelled() {
                return;
            }
            let worked = match self.run_one(&worker).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "sync worker: database error; backing off");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                }
            }
        }
    }

    /// Claims and processes one job; false when none was due. Tests drive the engine with it.
    pub async fn run_one(&self, worker: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let lease_ms = self.cfg.lease.as_millis() as i64;
        let (job, _slot) = {
            let _claiming = self.share.claiming().await;
            let mut claimed = None;
            for except in self.share.passes() {
                let jobs = if except.is_empty() {
                    self.store.claim_jobs(worker, 1, now, lease_ms).await?
                } else {
                    let others = self.share.others(&except);
                    self.store
                        .claim_jobs_of(worker, &others, 1, now, lease_ms)
                        .await?
                };
                claimed = jobs.into_iter().next();
                if claimed.is_some() {
                    break;
                }
            }
            let Some(job) = claimed else {
                return Ok(false);
            };
            let slot = self.share.enter(&job.target);
            (job, slot)
        };
        let budget = self.cfg.lease.mul_f64(0.8);
        // Outside the timed future: what was called before a cut-off is kept (a call cut
        // off mid-flight is recorded as abandoned by the HTTP layer).
        let log = CallLog::default();
        let converged = tokio::time::timeout(budget, self.process(&job, &log)).await;
        let (result, new_account) = match converged {
            Ok(r) => r?,
            Err(_) => (
                self.retry_or_give_up(&job, over_budget(budget, &log)),
                false,
            ),
        };
        let calls = log.take();
        let end = self.clock.now_ms();
        record_metrics(&job, &result);
        if !self
            .store
            .finish_job(worker, &job, &calls, &result, end)
            .await?
        {
            tracing::warn!(target_name = %job.target, resource = %job.resource_id, "lease lost before finishing; another worker will redo the job");
        } else if new_account {
            // After the commit: a group job that read the members before it runs again.
            self.enqueue_groups_of(&job.target, &job.resource_id)
                .await?;
        }
        Ok(true)
    }

    /// Drains every due job (tests and the demo scenario).
    pub async fn run_until_idle(&self, max_jobs: usize) -> Result<usize, StoreError> {
        let worker = format!("{}/drain", self.worker_id);
        let mut n = 0;
        while n < max_jobs && self.run_one(&worker).await? {
            n += 1;
        }
        Ok(n)
    }

    /// Converges one job: its vendor calls, its result, and whether a user got a new vendor
    /// account.
    async fn process(&self, job: &Job, log: &CallLog) -> Result<(JobResult, bool), StoreError> {
        let Some(rt) = self.targets.get(&job.target) else {
            return Ok((
                JobResult::Failed {
                    error: format!("target `{}` is not configured in this process", job.target),
                },
                false,
            ));
        };
        let Some(kind) = ResourceType::parse(&job.resource_type) else {
            return Ok((
                JobResult::Failed {
                    error: format!("unknown resource type {}", job.resource_type),
                },
                false,
            ));
        };
        let link = self
            .store
            .get_mapping(&job.target, &job.resource_type, &job.resource_id)
            .await?
            .map(|m| {
                let mut link = m.link();
                // The last attempt failed: a write whose answer was lost (timeout, slow body,
                // 5xx after applying) may have landed, so what `applied` remembers is no
                // longer known. Forgotten, the connector re-sends every attribute instead of
                // skipping the ones it believes are there (found by the chaos test).
                if m.last_error.is_some() {
                    link.applied = forget_applied(&link.applied);
                }
                link
            })
            .unwrap_or_default();
        let mut new_account = false;
        let res = self
            .store
            .get_resource(&job.target, kind, &job.resource_id, None)
            .await?;
        let outcome = match (&rt.driver, kind) {
            (TargetDriver::Write(c), ResourceType::User) => {
                let desired = match &res {
                    Some(r) => {
                        let groups = self
                            .store
                            .groups_of(&job.target, std::slice::from_ref(&job.resource_id))
                            .await?
                            .remove(&job.resource_id)
                            .unwrap_or_default()
                            .into_iter()
                            .filter_map(|(_, label)| label)
                            .collect();
                        Some(desired_user(&r.id, &r.data, groups))
                    }
                    None => None,
                };
                let out = c.sync_user(desired.as_ref(), &link, log).await;
                // A member got (another) vendor account: its groups must re-send members,
                // once the new vendor id is committed (see `run_one`).
                new_account = matches!(&out, Ok(o) if o.link.vendor_id.is_some()
                    && o.link.vendor_id != link.vendor_id);
                out
            }
            (TargetDriver::Write(c), ResourceType::Group) => {
                let desired = match &res {
                    Some(r) => {
                        let members = self.store.member_links(&job.target, &r.id).await?;
                        Some(desired_group(&r.id, &r.data, members))
                    }
                    None => None,
                };
                c.sync_group(desired.as_ref(), &link, log).await
            }
            (TargetDriver::Enrichment(client), ResourceType::User) => match &res {
                Some(r) => {
                    let d = desired_user(&r.id, &r.data, Vec::new());
                    let email = d.email.unwrap_or(d.user_name);
                    super::enrichment::refresh_one(
                        &self.store,
                        client,
                        &job.target,
                        &email,
                        log,
                        self.clock.as_ref(),
                    )
                    .await
                    .map(|note| SyncOutcome {
                        link: VendorLink {
                            vendor_key: Some(email.to_lowercase()),
                            ..VendorLink::default()
                        },
                        state: SyncState::Enrichment,
                        note: Some(note),
                    })
                }
                None => Ok(SyncOutcome {
                    link,
                    state: SyncState::Deprovisioned,
                    note: Some("removed from SCIM; Abnormal is read-only, nothing to write".into()),
                }),
            },
            (TargetDriver::Enrichment(_), ResourceType::Group) => Ok(SyncOutcome {
                link,
                state: SyncState::Enrichment,
                note: Some("Abnormal is read-only: groups are stored, never written".into()),
            }),
        };
        let result = match outcome {
            Ok(o) => JobResult::Done {
                link: o.link,
                state: o.state,
                note: o.note,
            },
            Err(e) => self.retry_or_give_up(job, e),
        };
        Ok((result, new_account))
    }

    fn retry_or_give_up(&self, job: &Job, e: ConnectorError) -> JobResult {
        match e {
            ConnectorError::Permanent { message } => JobResult::Failed { error: message },
            ConnectorError::Retryable {
                message,
                retry_after,
                ..
            } => {
                let attempts = u32::try_from(job.attempts).unwrap_or(0);
                if self.policy.exhausted(attempts) {
                    JobResult::Failed {
                        error: format!("gave up after {} attempts: {message}", attempts + 1),
                    }
                } else {
                    let unit: f64 = rand::rng().random();
                    let delay = self.policy.delay(attempts, retry_after, unit);
                    JobResult::Retry {
                        error: message,
                        next_attempt_ms: self.clock.now_ms() + delay.as_millis() as i64,
                    }
                }
            }
        }
    }

    async fn enqueue_groups_of(&self, target: &str, user_id: &str) -> Result<(), StoreError> {
        let groups = self
            .store
            .groups_of(target, &[user_id.to_string()])
            .await?
            .remove(user_id)
            .unwrap_or_default();
        let now = self.clock.now_ms();
        for (gid, _) in groups {
            self.store.enqueue(target, "Group", &gid, now).await?;
        }
        Ok(())
    }
}

/// The error of a convergence cut off by its time budget, with what it was doing: the
/// last vendor failure (often why it was slow: timeouts, 429s), else that it was waiting.
fn over_budget(budget: Duration, log: &CallLog) -> ConnectorError {
    let why = match (log.last_failure(), log.len()) {
        (Some(c), _) => format!(
            "last failed vendor call: {} {}: {}",
            c.method, c.path, c.outcome
        ),
        (None, 0) => "no vendor call made: waiting for the target's rate limit or a free call slot"
            .to_string(),
        (None, n) => format!("{n} vendor calls, none failed: slow answers or the rate limit"),
    };
    ConnectorError::retryable(format!(
        "convergence took longer than {:.1}s ({why})",
        budget.as_secs_f64()
    ))
}

fn record_metrics(job: &Job, result: &JobResult) {
    let outcome = match result {
        JobResult::Done { .. } => "done",
        JobResult::Retry { .. } => "retry",
        JobResult::Failed { .. } => "failed",
    };
    metrics::counter!("scim_bridge_sync_jobs_total", "target" => job.target.clone(), "outcome" => outcome).increment(1);
    if matches!(result, JobResult::Retry { .. }) {
        metrics::counter!("scim_bridge_sync_retries_total", "target" => job.target.clone())
            .increment(1);
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bridge".into())
}

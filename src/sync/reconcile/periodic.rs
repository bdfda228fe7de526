//! Periodic drift detection: one loop per write target with `reconcile_interval`. On
//! Postgres an advisory lock keeps each target's run to one replica at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::sync::Engine;

/// Runs reconcile of `target` every `interval` (dry run unless `auto_repair`) until `stop`.
pub async fn reconcile_loop(
    engine: Arc<Engine>,
    target: String,
    interval: Duration,
    auto_repair: bool,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        run_once(&engine, &target, auto_repair).await;
    }
}

/// One periodic run: skipped when another replica holds the target's lock.
pub async fn run_once(engine: &Engine, target: &str, auto_repair: bool) {
    let Some(rt) = engine.targets.get(target) else {
        return;
    };
    let lock = match engine
        .store
        .try_run_lock(crate::store::run_lock::Run::Reconcile, target)
        .await
    {
        Ok(Some(l)) => l,
        Ok(None) => {
            tracing::debug!(
                target_name = target,
                "reconcile: another replica is running it"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(target_name = target, error = %e, "reconcile: cannot take the lock");
            return;
        }
    };
    let res = super::reconcile(
        &engine.store,
        target,
        rt,
        engine.clock.as_ref(),
        auto_repair,
        "periodic reconcile",
    )
    .await;
    lock.release().await;
    match res {
        Ok(r) if !r.drifts.is_empty() => {
            tracing::warn!(
                target_name = target,
                drifts = r.drifts.len(),
                repairs_queued = r.repairs_queued,
                "reconcile: drift detected"
            );
            if auto_repair {
                engine.wake.notify_waiters();
            }
        }
        Ok(_) => tracing::debug!(target_name = target, "reconcile: no drift"),
        Err(e) => tracing::warn!(target_name = target, error = %e, "reconcile failed"),
    }
}

/// Starts the loop of every write target with a `reconcile_interval`.
pub fn spawn_all(
    engine: &Arc<Engine>,
    config: &crate::config::Config,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = Vec::new();
    for (name, t) in &config.targets {
        let writable = engine
            .targets
            .get(name)
            .is_some_and(|rt| matches!(rt.driver, crate::sync::TargetDriver::Write(_)));
        if let (true, Some(secs)) = (writable, t.reconcile_interval) {
            out.push(tokio::spawn(reconcile_loop(
                engine.clone(),
                name.clone(),
                Duration::from_secs(secs.max(1)),
                t.auto_repair,
                stop.clone(),
            )));
        }
    }
    out
}

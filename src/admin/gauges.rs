//! Periodically refreshed gauges: queue depth and oldest job age per target, mappings by state;
//! and the planner statistics of the lookup's table (`store::planner_stats`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::Store;

pub async fn refresh_once(store: &Store, clock: &dyn Clock) {
    let now = clock.now_ms();
    if let Ok(stats) = store.queue_stats(now).await {
        for s in stats {
            metrics::gauge!("scim_bridge_queue_depth", "target" => s.target.clone())
                .set(s.depth as f64);
            let age = s
                .oldest_enqueued_at
                .map(|t| (now - t).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            metrics::gauge!("scim_bridge_queue_oldest_job_age_seconds", "target" => s.target)
                .set(age);
        }
    }
    if let Ok(counts) = store.mapping_counts().await {
        for (target, state, n) in counts {
            metrics::gauge!("scim_bridge_mappings", "target" => target, "state" => state)
                .set(n as f64);
        }
    }
}

/// Every 10 s: the gauges, and the lookup's table statistics when they are stale
/// (`store::planner_stats`).
pub async fn refresh_loop(store: Store, clock: Arc<dyn Clock>, stop: CancellationToken) {
    loop {
        refresh_once(&store, clock.as_ref()).await;
        if let Err(e) = store.refresh_planner_stats().await {
            tracing::debug!(error = %e, "could not refresh planner statistics");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

//! Periodically refreshed gauges: queue depth and oldest job age per target, mappings by state
//! (from the trigger-kept counts, `store::gauge_counts`); and the planner statistics of the
//! lookup's table (`store::planner_stats`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::Store;

/// The gauges and the label sets they were last set for: a series whose rows are gone (a
/// drained queue, a state no mapping is in any more) is set to 0, not left at its last value.
#[derive(Debug, Default)]
pub struct Gauges {
    queue_targets: HashSet<String>,
    mapping_keys: HashSet<(String, String)>,
}

impl Gauges {
    pub async fn refresh(&mut self, store: &Store, clock: &dyn Clock) {
        let now = clock.now_ms();
        if let Ok(depths) = store.queue_depths().await {
            let mut seen = HashSet::with_capacity(depths.len());
            for d in depths {
                let age = d
                    .oldest_enqueued_at
                    .map(|t| (now - t).max(0) as f64 / 1000.0)
                    .unwrap_or(0.0);
                set_queue(&d.target, d.depth as f64, age);
                seen.insert(d.target);
            }
            for gone in self.queue_targets.difference(&seen) {
                set_queue(gone, 0.0, 0.0);
            }
            self.queue_targets = seen;
        }
        if let Ok(counts) = store.mapping_counts().await {
            let mut seen = HashSet::with_capacity(counts.len());
            for (target, state, n) in counts {
                set_mappings(&target, &state, n as f64);
                seen.insert((target, state));
            }
            for (target, state) in self.mapping_keys.difference(&seen) {
                set_mappings(target, state, 0.0);
            }
            self.mapping_keys = seen;
        }
    }
}

fn set_queue(target: &str, depth: f64, oldest_age_s: f64) {
    metrics::gauge!("scim_bridge_queue_depth", "target" => target.to_string()).set(depth);
    metrics::gauge!("scim_bridge_queue_oldest_job_age_seconds", "target" => target.to_string())
        .set(oldest_age_s);
}

fn set_mappings(target: &str, state: &str, n: f64) {
    metrics::gauge!("scim_bridge_mappings", "target" => target.to_string(), "state" => state.to_string())
        .set(n);
}

/// Every 10 s: the gauges, the count tables folded (`Store::compact_gauge_counts`), and the
/// lookup's table statistics when they are stale (`store::planner_stats`).
pub async fn refresh_loop(store: Store, clock: Arc<dyn Clock>, stop: CancellationToken) {
    let mut gauges = Gauges::default();
    loop {
        gauges.refresh(&store, clock.as_ref()).await;
        if let Err(e) = store.compact_gauge_counts().await {
            tracing::debug!(error = %e, "could not compact the gauge counts");
        }
        if let Err(e) = store.refresh_planner_stats().await {
            tracing::debug!(error = %e, "could not refresh planner statistics");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

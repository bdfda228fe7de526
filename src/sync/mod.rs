//! The delivery engine: workers claim jobs from the outbox, read the desired state and the
//! mapping, let the target's connector converge the vendor, and record the outcome.
//!
//! Invariants (see ARCHITECTURE.md): level-triggered jobs (replaying one is harmless); one
//! worker per resource at a time (one job row per resource, leased); retryable failures back
//! off with jitter and are recorded; permanent ones stop until the resource changes or an
//! admin retries.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Config, TargetKind};
use crate::connectors::Connector;
use crate::connectors::abnormal::AbnormalClient;
use crate::connectors::carbon_black::CarbonBlackConnector;
use crate::connectors::contrast::ContrastConnector;

pub mod desired;
pub mod enrichment;
pub mod limiter;
pub mod reconcile;
pub mod retry;
pub mod share;
pub mod worker;

pub use limiter::AdaptiveLimiter;
pub use worker::Engine;

/// What the engine drives for one target.
pub enum TargetDriver {
    /// Contrast, Carbon Black: written to.
    Write(Arc<dyn Connector>),
    /// Abnormal: read-only enrichment.
    Enrichment(Arc<AbnormalClient>),
}

/// One configured target at run time.
pub struct TargetRuntime {
    pub kind: TargetKind,
    pub driver: TargetDriver,
    pub limiter: Arc<AdaptiveLimiter>,
    /// The abnormal target whose cache enriches this target's users (itself for abnormal).
    pub enrichment_source: Option<String>,
}

/// Every configured target, by name.
#[derive(Default)]
pub struct Targets(pub HashMap<String, TargetRuntime>);

impl Targets {
    /// Builds connectors from config; errors name the target and key.
    pub fn build(cfg: &Config) -> Result<Targets, String> {
        let timeout = cfg.sync.vendor_timeout;
        let mut out = HashMap::new();
        for (name, t) in &cfg.targets {
            let kind = t
                .kind
                .ok_or_else(|| format!("targets.{name}.kind is required"))?;
            let limiter = Arc::new(AdaptiveLimiter::new(
                t.rate_limit_per_sec,
                t.max_concurrency.unwrap_or(4),
            ));
            let gate: Arc<dyn crate::connectors::CallGate> = limiter.clone();
            let (driver, enrichment_source) = match kind {
                TargetKind::Contrast => (
                    TargetDriver::Write(Arc::new(ContrastConnector::new(name, t, timeout, gate)?)),
                    t.enrich_from.clone(),
                ),
                TargetKind::CarbonBlack => (
                    TargetDriver::Write(Arc::new(CarbonBlackConnector::new(
                        name, t, timeout, gate,
                    )?)),
                    t.enrich_from.clone(),
                ),
                TargetKind::Abnormal => (
                    TargetDriver::Enrichment(Arc::new(AbnormalClient::new(
                        name, t, timeout, gate,
                    )?)),
                    Some(name.clone()),
                ),
            };
            out.insert(
                name.clone(),
                TargetRuntime {
                    kind,
                    driver,
                    limiter,
                    enrichment_source,
                },
            );
        }
        Ok(Targets(out))
    }

    pub fn get(&self, name: &str) -> Option<&TargetRuntime> {
        self.0.get(name)
    }
}

//! What every request handler shares.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{Config, GroupPatchAnswer, TargetKind, TokenHash};
use crate::store::Store;

/// A target as the SCIM layer sees it: who may call it and whose risk data it shows.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    pub name: String,
    pub kind: TargetKind,
    pub token_hashes: Vec<TokenHash>,
    /// The abnormal target whose cache is joined onto this target's users.
    pub enrichment_source: Option<String>,
    /// What a group PATCH answers.
    pub group_patch_answer: GroupPatchAnswer,
}

/// What every request shares, behind one `Arc`: axum clones the state for each extractor
/// and layer, and one reference count is cheaper than eight (a per-request cost the
/// profile showed, docs/performance.md).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Wakes idle sync workers after a committed write.
    pub wake: Arc<Notify>,
    pub targets: Arc<HashMap<String, Arc<TargetInfo>>>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Failed authentications per client IP (SCIM and admin).
    pub auth_failures: Arc<crate::scim::auth::FailLimiter>,
    /// Cached handles of the per-request metrics.
    pub request_metrics: crate::request_metrics::RequestMetrics,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        let targets = config
            .targets
            .iter()
            .filter_map(|(name, t)| {
                let kind = t.kind?;
                let enrichment_source = match kind {
                    TargetKind::Abnormal => Some(name.clone()),
                    _ => t.enrich_from.clone(),
                };
                Some((
                    name.clone(),
                    Arc::new(TargetInfo {
                        name: name.clone(),
                        kind,
                        token_hashes: t.token_sha256.clone(),
                        enrichment_source,
                        group_patch_answer: t.group_patch_answer,
                    }),
                ))
            })
            .collect();
        let auth_failures = crate::scim::auth::fail_limiter(config.auth_failures_per_minute);
        Self(Arc::new(SharedState {
            auth_failures,
            config,
            store,
            clock,
            wake,
            targets: Arc::new(targets),
            metrics,
            request_metrics: crate::request_metrics::RequestMetrics::default(),
        }))
    }
}

/// SHA-256 of a presented token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares a presented token with every allowed hash in constant time (no early exit).
pub fn token_matches(token: &str, allowed: &[TokenHash]) -> bool {
    let h = hash_token(token);
    let mut ok = subtle::Choice::from(0u8);
    for a in allowed {
        ok |= a.0.ct_eq(&h);
    }
    bool::from(ok) && !allowed.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_any_of_several_hashes() {
        let a = TokenHash(hash_token("old"));
        let b = TokenHash(hash_token("new"));
        assert!(token_matches("new", &[a.clone(), b.clone()]));
        assert!(token_matches("old", &[a.clone(), b]));
        assert!(!token_matches("other", &[a]));
        assert!(!token_matches("x", &[]));
    }
}

//! Request count and latency by target, route, method and status.
//!
//! Every label comes from a closed set, so a client cannot mint label values (each new
//! value is a new Prometheus series, kept for the life of the process): the target is a
//! configured target's name or `-`, the route is the router's template (`unmatched` when
//! none matched), the method is a standard one or `OTHER`, the status a number.
//!
//! The recorder's handles are cached per label set: building them takes a `Vec` of owned
//! labels and a hash of all of them, several allocations per request on the hottest path
//! (docs/performance.md, fix 20). A cached request is one read-locked lookup keyed by
//! borrowed strings.

use std::sync::RwLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use hashbrown::{Equivalent, HashMap};
use metrics::{Counter, Histogram};

/// Labels of one series, owned (the cache's key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Labels {
    target: Box<str>,
    route: Box<str>,
    method: &'static str,
    status: u16,
}

/// The same labels, borrowed from the request (the lookup's key). Hashes as `Labels` does:
/// the fields are in the same order and `&str` hashes like `Box<str>`.
#[derive(Hash)]
struct LabelsRef<'a> {
    target: &'a str,
    route: &'a str,
    method: &'static str,
    status: u16,
}

impl Equivalent<Labels> for LabelsRef<'_> {
    fn equivalent(&self, k: &Labels) -> bool {
        self.status == k.status
            && self.method == k.method
            && self.route == &*k.route
            && self.target == &*k.target
    }
}

#[derive(Clone)]
struct Handles {
    requests: Counter,
    duration: Histogram,
}

/// The cache of recorder handles; one per router.
#[derive(Default)]
pub struct RequestMetrics {
    series: RwLock<HashMap<Labels, Handles>>,
}

/// A request's labels before the answer is known.
pub struct RequestLabels<'a> {
    /// A configured target's name, or `-`.
    pub target: &'a str,
    /// The matched route's template, or `unmatched`.
    pub route: &'a str,
    pub method: &'static str,
}

impl RequestMetrics {
    /// Counts one answered request and records its latency.
    pub fn record(&self, labels: &RequestLabels<'_>, status: StatusCode, took: Duration) {
        let key = LabelsRef {
            target: labels.target,
            route: labels.route,
            method: labels.method,
            status: status.as_u16(),
        };
        let cached = self.series.read().ok().and_then(|m| m.get(&key).cloned());
        let handles = match cached {
            Some(h) => h,
            None => self.register(&key),
        };
        handles.requests.increment(1);
        handles.duration.record(took.as_secs_f64());
    }

    #[cold]
    fn register(&self, key: &LabelsRef<'_>) -> Handles {
        let labels = Labels {
            target: key.target.into(),
            route: key.route.into(),
            method: key.method,
            status: key.status,
        };
        let handles = Handles {
            requests: metrics::counter!(
                "scim_bridge_scim_requests_total",
                "target" => labels.target.to_string(),
                "route" => labels.route.to_string(),
                "method" => labels.method,
                "status" => labels.status.to_string()
            ),
            duration: metrics::histogram!(
                "scim_bridge_scim_request_duration_seconds",
                "target" => labels.target.to_string(),
                "route" => labels.route.to_string(),
                "method" => labels.method
            ),
        };
        if let Ok(mut m) = self.series.write() {
            m.entry(labels).or_insert_with(|| handles.clone());
        }
        handles
    }
}

/// The method's label: the standard methods by name, anything else `OTHER`.
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn a_borrowed_key_hashes_and_compares_like_the_owned_one() {
        let owned = Labels {
            target: "okta-contrast".into(),
            route: "/scim/v2/{target}/Users".into(),
            method: "GET",
            status: 200,
        };
        let borrowed = LabelsRef {
            target: "okta-contrast",
            route: "/scim/v2/{target}/Users",
            method: "GET",
            status: 200,
        };
        let s = hashbrown::DefaultHashBuilder::default();
        assert_eq!(s.hash_one(&owned), s.hash_one(&borrowed));
        assert!(borrowed.equivalent(&owned));
        let other = LabelsRef {
            status: 404,
            ..borrowed
        };
        assert!(!other.equivalent(&owned));
    }

    #[test]
    fn a_cached_series_is_found_again_and_a_new_status_is_a_new_series() {
        let m = RequestMetrics::default();
        let l = RequestLabels {
            target: "t",
            route: "/scim/v2/{target}/Users",
            method: "GET",
        };
        for _ in 0..3 {
            m.record(&l, StatusCode::OK, Duration::from_millis(1));
        }
        m.record(&l, StatusCode::NOT_FOUND, Duration::from_millis(1));
        assert_eq!(m.series.read().map(|s| s.len()).unwrap_or(0), 2);
    }

    #[test]
    fn non_standard_methods_share_one_label() {
        let custom = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&custom), "OTHER");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }
}

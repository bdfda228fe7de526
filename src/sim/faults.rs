//! Fault injection shared by all simulators. Faults apply to vendor routes only, never to
//! the `/_sim/` control routes.
//!
//! Order in which a vendor request meets them (see [`crate::sim::layer`]): extra latency, a
//! queued 429 burst, the rate limit (429), an injected 5xx, a dropped connection, a malformed
//! 200, and finally, for writes, apply-then-fail. Everything before apply-then-fail happens
//! before the simulator touches its state, so such a request changes nothing.
//!
//! Then, whatever the answer (except a drop), a slow body: the status and headers go out at
//! once and the body trickles in over `slow_body_ms`. A write answered that way has been
//! applied; a client whose deadline is shorter sees a timeout after the headers.
//!
//! Timeouts are `latency_ms` beyond the client's deadline: the request waits before the
//! simulator touches its state, so a client that gives up first changed nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Which faults to inject. `Default` is no faults. Every field may be left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Probability of an injected 500/502/503 (chosen at random) before touching state.
    pub error_rate: f64,
    /// Token-bucket refill rate; over it the sim answers 429 (see `retry_after_secs`).
    pub rate_limit_per_sec: Option<f64>,
    /// Token-bucket size; defaults to `max(1, ceil(rate_limit_per_sec))`.
    pub rate_limit_burst: Option<u32>,
    /// Uniform random extra latency in milliseconds, `(min, max)` inclusive.
    pub latency_ms: Option<(u64, u64)>,
    /// Probability of dropping the connection without a valid HTTP answer.
    pub drop_rate: f64,
    /// Probability of a 200 whose body is not valid JSON (state untouched).
    pub malformed_rate: f64,
    /// Probability, for writes (non-GET), of applying the change and then answering 500.
    pub apply_then_fail_rate: f64,
    /// Probability that a create answers success without the new user's id (Contrast:
    /// `{"success":true}`; Carbon Black: no `user_id`). The user is created all the same.
    pub missing_user_id_rate: f64,
    /// `Retry-After` (delay-seconds) sent with every 429 (bursts and the rate limit); none
    /// when unset.
    pub retry_after_secs: Option<u64>,
    /// Probability that an answer's body is trickled: headers at once, then the body in small
    /// pieces spread over `slow_body_ms` (the handler has run: a write is applied).
    pub slow_body_rate: f64,
    /// How long a slow body takes to arrive in all, milliseconds.
    pub slow_body_ms: u64,
    /// Reseed the fault RNG with this value when these faults are set (reproducible chaos).
    pub seed: Option<u64>,
}

/// What the fault layer decided for one request, before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer 429 (burst or rate limit), with `Retry-After` when `retry_after_secs` is set.
    TooManyRequests,
    /// Answer this 5xx status.
    ServerError(u16),
    /// Drop the connection.
    Drop,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Run the handler, then answer 500 if it succeeded.
    ApplyThenFail,
    /// Run the handler normally.
    Pass,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_sec: f64, burst: Option<u32>) -> Self {
        let capacity = burst
            .map(f64::from)
            .unwrap_or_else(|| per_sec.ceil())
            .max(1.0);
        Bucket {
            tokens: capacity,
            capacity,
            per_sec: per_sec.max(0.0),
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Inner {
    faults: Faults,
    rng: StdRng,
    bucket: Option<Bucket>,
    burst_remaining: u32,
}

/// The live fault settings of one simulator plus the randomness and counters they need.
#[derive(Debug)]
pub struct FaultInjector {
    inner: Mutex<Inner>,
}

impl Default for FaultInjector {
    fn default() -> Self {
        FaultInjector {
            inner: Mutex::new(Inner {
                faults: Faults::default(),
                rng: StdRng::from_rng(&mut rand::rng()),
                bucket: None,
                burst_remaining: 0,
            }),
        }
    }
}

fn chance(rng: &mut StdRng, p: f64) -> bool {
    p > 0.0 && rng.random::<f64>() < p
}

impl FaultInjector {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the fault settings (resets the rate-limit bucket; reseeds when `seed` is set).
    pub fn set(&self, faults: Faults) {
        let mut inner = self.lock();
        if let Some(seed) = faults.seed {
            inner.rng = StdRng::seed_from_u64(seed);
        }
        inner.bucket = faults
            .rate_limit_per_sec
            .map(|rate| Bucket::new(rate, faults.rate_limit_burst));
        inner.faults = faults;
    }

    pub fn get(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The next `count` vendor requests answer 429 (on top of any other faults).
    pub fn queue_burst(&self, count: u32) {
        self.lock().burst_remaining = count;
    }

    /// Extra latency to sleep before handling a request, if configured.
    pub fn latency(&self) -> Option<Duration> {
        let mut inner = self.lock();
        let (lo, hi) = inner.faults.latency_ms?;
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let ms = inner.rng.random_range(lo..=hi);
        Some(Duration::from_millis(ms))
    }

    /// Decide the fate of one vendor request. `is_write` enables apply-then-fail.
    pub fn decide(&self, is_write: bool) -> Verdict {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.burst_remaining > 0 {
            inner.burst_remaining -= 1;
            return Verdict::TooManyRequests;
        }
        if let Some(bucket) = inner.bucket.as_mut()
            && !bucket.take()
        {
            return Verdict::TooManyRequests;
        }
        let f = &inner.faults;
        let rng = &mut inner.rng;
        if chance(rng, f.error_rate) {
            let statuses = [500, 502, 503];
            return Verdict::ServerError(statuses[rng.random_range(0..statuses.len())]);
        }
        if chance(rng, f.drop_rate) {
            return Verdict::Drop;
        }
        if chance(rng, f.malformed_rate) {
            return Verdict::Malformed;
        }
        if is_write && chance(rng, f.apply_then_fail_rate) {
            return Verdict::ApplyThenFail;
        }
        Verdict::Pass
    }

    /// `Retry-After` seconds for a 429, if configured.
    pub fn retry_after(&self) -> Option<u64> {
        self.lock().faults.retry_after_secs
    }

    /// How long to trickle this answer's body over, when the slow-body fault fires.
    pub fn slow_body(&self) -> Option<Duration> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let ms = inner.faults.slow_body_ms;
        chance(&mut inner.rng, inner.faults.slow_body_rate).then(|| Duration::from_millis(ms))
    }

    /// Whether this create should answer without the new user's id.
    pub fn omit_user_id(&self) -> bool {
        let mut guard = self.lock();
        let inner = &mut *guard;
        chance(&mut inner.rng, inner.faults.missing_user_id_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_passes_everything() {
        let f = FaultInjector::default();
        for _ in 0..100 {
            assert_eq!(f.decide(true), Verdict::Pass);
            assert!(!f.omit_user_id());
            assert_eq!(f.slow_body(), None);
        }
        assert_eq!(f.latency(), None);
        assert_eq!(f.retry_after(), None);
    }

    #[test]
    fn partial_json_deserializes() -> Result<(), serde_json::Error> {
        let f: Faults = serde_json::from_str(r#"{"error_rate":0.5,"latency_ms":[1,2]}"#)?;
        assert_eq!(f.error_rate, 0.5);
        assert_eq!(f.latency_ms, Some((1, 2)));
        assert_eq!(f.rate_limit_per_sec, None);
        Ok(())
    }

    #[test]
    fn certain_faults_always_fire() {
        let f = FaultInjector::default();
        f.set(Faults {
            error_rate: 1.0,
            ..Faults::default()
        });
        assert!(matches!(
            f.decide(false),
            Verdict::ServerError(500 | 502 | 503)
        ));
        f.set(Faults {
            apply_then_fail_rate: 1.0,
            ..Faults::default()
        });
        assert_eq!(f.decide(false), Verdict::Pass);
        assert_eq!(f.decide(true), Verdict::ApplyThenFail);
    }

    #[test]
    fn bucket_limits_and_burst_queue() {
        let f = FaultInjector::default();
        f.set(Faults {
            rate_limit_per_sec: Some(0.001),
            rate_limit_burst: Some(2),
            ..Faults::default()
        });
        assert_eq!(f.decide(false), Verdict::Pass);
        assert_eq!(f.decide(false), Verdict::Pass);
        assert_eq!(f.decide(false), Verdict::TooManyRequests);
        f.set(Faults::default());
        f.queue_burst(2);
        assert_eq!(f.decide(false), Verdict::TooManyRequests);
        assert_eq!(f.decide(false), Verdict::TooManyRequests);
        assert_eq!(f.decide(false), Verdict::Pass);
    }

    #[test]
    fn seeded_latency_is_in_range() {
        let f = FaultInjector::default();
        f.set(Faults {
            latency_ms: Some((5, 10)),
            seed: Some(7),
            ..Faults::default()
        });
        let range = Duration::from_millis(5)..=Duration::from_millis(10);
        for _ in 0..20 {
            assert!(f.latency().is_some_and(|d| range.contains(&d)));
        }
    }

    #[test]
    fn slow_body_and_retry_after_settings() -> Result<(), serde_json::Error> {
        let f = FaultInjector::default();
        f.set(Faults {
            slow_body_rate: 1.0,
            slow_body_ms: 1500,
            retry_after_secs: Some(2),
            ..Faults::default()
        });
        assert_eq!(f.slow_body(), Some(Duration::from_millis(1500)));
        assert_eq!(f.retry_after(), Some(2));
        // A slow body does not change the verdict: the handler still runs.
        assert_eq!(f.decide(true), Verdict::Pass);
        let json: Faults = serde_json::from_str(
            r#"{"slow_body_rate":0.5,"slow_body_ms":10,"retry_after_secs":1}"#,
        )?;
        assert_eq!((json.slow_body_rate, json.slow_body_ms), (0.5, 10));
        assert_eq!(json.retry_after_secs, Some(1));
        Ok(())
    }
}

//! Per-target vendor call gate: a concurrency bound plus an adaptive token bucket.
//!
//! Most vendors do not publish their limit, so the bridge finds it. A 429 sets the rate
//! to 95 % of what the vendor *accepted* in the last second (never more than 95 % of the
//! current rate, never less than half of it; a measured limit, not a guess), and further
//! 429s within the next half second (answers to calls already sent) do not cut again.
//! Between 429s the rate grows with time, not with call count: fast (+50 %/s) while it
//! is below 80 % of the last measured limit (recovering from a storm), slowly (+1 %/s)
//! above it, probing for headroom. A fixed per-success step (the first version) doubled
//! the rate every second at any load, so the bridge overshot the vendor every second or
//! two and 5 % of calls were 429s. Hand-written because governor's quota is fixed once
//! built, and the rate has to move.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::connectors::CallGate;

/// Accepted calls are counted over this window to measure the vendor's limit.
const WINDOW: Duration = Duration::from_secs(1);
/// 429s this soon after a cut answer calls sent before it: they do not cut again.
const COOLDOWN: Duration = Duration::from_millis(500);
/// A cut sets the rate to this share of the measured accepted rate.
const BELOW_MEASURED: f64 = 0.95;
/// Growth per second of elapsed time, as a share of the current rate.
const PROBE_GROWTH: f64 = 0.01;
const RECOVERY_GROWTH: f64 = 0.5;
/// Below this share of the last measured limit the rate grows at `RECOVERY_GROWTH`.
const RECOVERY_BELOW: f64 = 0.8;
/// At most this many accepted-call instants are kept (10k calls/s).
const WINDOW_CAP: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    /// Current allowed rate, calls per second (infinite until the first 429 when no
    /// rate is configured).
    rate: f64,
    tokens: f64,
    last: Instant,
    /// When the rate last grew (growth is per elapsed second).
    last_growth: Instant,
    /// When the rate was last cut.
    last_cut: Option<Instant>,
    /// The accepted rate measured at the last cut (the vendor's limit as far as we know).
    measured_limit: f64,
    /// Instants of accepted (non-429, non-5xx) answers within `WINDOW`.
    accepted: VecDeque<Instant>,
}

impl Bucket {
    fn accepted_in_window(&mut self, now: Instant) -> usize {
        while let Some(t) = self.accepted.front() {
            if now.saturating_duration_since(*t) > WINDOW {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        self.accepted.len()
    }
}

#[derive(Debug)]
pub struct AdaptiveLimiter {
    max_rate: f64,
    min_rate: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
    concurrency: Semaphore,
}

impl AdaptiveLimiter {
    /// `rate` calls/s (None = unlimited until the vendor says otherwise), at most
    /// `concurrency` calls at once.
    pub fn new(rate: Option<f64>, concurrency: usize) -> Self {
        Self::new_at(rate, concurrency, Instant::now())
    }

    fn new_at(rate: Option<f64>, concurrency: usize, now: Instant) -> Self {
        let max_rate = rate.unwrap_or(f64::INFINITY);
        let burst = if max_rate.is_finite() {
            max_rate.clamp(1.0, 50.0)
        } else {
            1.0
        };
        Self {
            max_rate,
            min_rate: if max_rate.is_finite() {
                (max_rate / 32.0).max(0.2)
            } else {
                0.5
            },
            burst,
            bucket: Mutex::new(Bucket {
                rate: max_rate,
                tokens: burst,
                last: now,
                last_growth: now,
                last_cut: None,
                measured_limit: max_rate,
                accepted: VecDeque::new(),
            }),
            concurrency: Semaphore::new(concurrency.max(1)),
        }
    }

    /// The current rate (calls/s), for metrics and tests.
    pub fn current_rate(&self) -> f64 {
        self.bucket.lock().map(|b| b.rate).unwrap_or(self.max_rate)
    }

    /// How long to wait before a token is available, taking it when it is.
    fn reserve(&self, now: Instant) -> Duration {
        let Ok(mut b) = self.bucket.lock() else {
            return Duration::ZERO;
        };
        if !b.rate.is_finite() {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.last = now;
        let burst = self.burst.min(b.rate.max(1.0));
        b.tokens = (b.tokens + elapsed * b.rate).min(burst);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate)
        }
    }

    fn on_status(&self, status: Option<u16>, now: Instant) {
        let Ok(mut b) = self.bucket.lock() else {
            return;
        };
        match status {
            Some(429) => {
                if b.last_cut
                    .is_some_and(|t| now.saturating_duration_since(t) < COOLDOWN)
                {
                    return;
                }
                let measured = b.accepted_in_window(now) as f64;
                let current = if b.rate.is_finite() {
                    b.rate
                } else {
                    // Unlimited so far: the measurement is all we have.
                    measured.max(20.0)
                };
                let target =
                    (measured * BELOW_MEASURED).clamp(current / 2.0, current * BELOW_MEASURED);
                b.rate = target.max(self.min_rate);
                if measured >= 1.0 {
                    b.measured_limit = measured;
                }
                b.tokens = b.tokens.min(0.0);
                b.last_cut = Some(now);
                b.last_growth = now;
            }
            Some(s) if s < 500 => {
                if b.accepted.len() >= WINDOW_CAP {
                    b.accepted.pop_front();
                }
                b.accepted.push_back(now);
                if b.rate.is_finite() && b.rate < self.max_rate {
                    let dt = now
                        .saturating_duration_since(b.last_growth)
                        .as_secs_f64()
                        .min(1.0);
                    let share = if b.rate < RECOVERY_BELOW * b.measured_limit {
                        RECOVERY_GROWTH
                    } else {
                        PROBE_GROWTH
                    };
                    b.rate = (b.rate + (b.rate * share).max(0.1) * dt).min(self.max_rate);
                    b.last_growth = now;
                }
            }
            _ => {}
        }
    }

    /// Gives back a token reserved by a caller that stopped waiting for it.
    fn refund(&self) {
        if let Ok(mut b) = self.bucket.lock() {
            b.tokens = (b.tokens + 1.0).min(self.burst);
        }
    }
}

/// A reserved token whose wait may be cancelled: dropped before `keep`, it is refunded.
struct Reservation<'a> {
    limiter: &'a AdaptiveLimiter,
    kept: bool,
}

impl Reservation<'_> {
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.limiter.refund();
        }
    }
}

#[async_trait]
impl CallGate for AdaptiveLimiter {
    /// Concurrency first, then the rate. The permit is held until `after`, but only handed
    /// over once the wait is done: a caller cancelled while waiting (the engine's
    /// convergence budget) drops the permit and the token, so nothing leaks.
    async fn before(&self) {
        let Ok(permit) = self.concurrency.acquire().await else {
            return;
        };
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            let reservation = Reservation {
                limiter: self,
                kept: false,
            };
            tokio::time::sleep(wait).await;
            reservation.keep();
        }
        permit.forget();
    }

    fn after(&self, status: Option<u16>) {
        self.concurrency.add_permits(1);
        self.on_status(status, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// A vendor that accepts `accepted` calls in a second, then answers 429.
    fn accepted_then_429(l: &AdaptiveLimiter, t0: Instant, accepted: u64) -> Instant {
        for i in 0..accepted {
            l.on_status(Some(200), ms(t0, i * 1000 / accepted));
        }
        let at = ms(t0, 999);
        l.on_status(Some(429), at);
        at
    }

    #[test]
    fn a_429_sets_the_rate_just_below_what_the_vendor_accepted() {
        let t0 = Instant::now();
        let l = AdaptiveLimiter::new_at(None, 8, t0);
        assert!(l.current_rate().is_infinite(), "unlimited until told");
        let at = accepted_then_429(&l, t0, 50);
        assert!(
            (l.current_rate() - 47.5).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
        // Answers to calls already in flight do not cut again.
        l.on_status(Some(429), at + Duration::from_millis(100));
        assert!((l.current_rate() - 47.5).abs() < 1e-9);
        // A later 429 with nothing accepted in the window halves (a storm).
        l.on_status(Some(429), at + Duration::from_secs(3));
        assert!(
            (l.current_rate() - 23.75).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
    }

    #[test]
    fn grows_fast_below_the_measured_limit_and_slowly_near_it() {
        let t0 = Instant::now();
        let l = AdaptiveLimiter::new_at(None, 8, t0);
        let at = accepted_then_429(&l, t0, 50);
        l.on_status(Some(429), at + Duration::from_secs(1));
        l.on_status(Some(429), at + Duration::from_secs(2));
        let low = l.current_rate();
        assert!(low < 15.0, "{low}");
        // Recovering: about +50 % per second until 80 % of the measured 50/s.
        let mut t = at + Duration::from_secs(2);
        for _ in 0..40 {
            t += Duration::from_millis(100);
            l.on_status(Some(200), t);
        }
        let recovered = l.current_rate();
        assert!((40.0..50.0).contains(&recovered), "{recovered}");
        // Probing: +1 % per second.
        for _ in 0..10 {
            t += Duration::from_millis(100);
            l.on_status(Some(200), t);
        }
        let probed = l.current_rate();
        assert!(
            probed > recovered && probed < recovered * 1.02,
            "{recovered} -> {probed}"
        );
    }

    #[test]
    fn growth_is_per_second_not_per_call() {
        let t0 = Instant::now();
        let l = AdaptiveLimiter::new_at(Some(100.0), 8, t0);
        accepted_then_429(&l, t0, 50);
        let before = l.current_rate();
        // A thousand answers within the same millisecond add nothing.
        let t = ms(t0, 1000);
        for _ in 0..1000 {
            l.on_status(Some(200), t);
        }
        assert!(
            l.current_rate() - before < 0.01,
            "{before} -> {}",
            l.current_rate()
        );
    }

    #[test]
    fn never_above_the_configured_rate_nor_below_the_floor() {
        let t0 = Instant::now();
        let l = AdaptiveLimiter::new_at(Some(10.0), 1, t0);
        for i in 0..50 {
            l.on_status(Some(429), ms(t0, i * 1000));
        }
        assert!(l.current_rate() >= 10.0 / 32.0 - 1e-9);
        for i in 0..10_000 {
            l.on_status(Some(200), ms(t0, 50_000 + i * 10));
        }
        assert!(
            (l.current_rate() - 10.0).abs() < 1e-9,
            "{}",
            l.current_rate()
        );
    }

    #[test]
    fn bucket_spaces_calls_at_the_rate() {
        let t0 = Instant::now();
        let l = AdaptiveLimiter::new_at(Some(2.0), 1, t0);
        // Burst of 2 tokens, then 0.5 s per call.
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        let w = l.reserve(t0);
        assert!((w.as_secs_f64() - 0.5).abs() < 1e-6, "{w:?}");
    }

    #[tokio::test]
    async fn bounds_concurrency() {
        let l = std::sync::Arc::new(AdaptiveLimiter::new(None, 2));
        l.before().await;
        l.before().await;
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.before().await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished());
        l.after(Some(200));
        tokio::time::timeout(Duration::from_secs(1), third)
            .await
            .ok();
    }

    // Found by the chaos test: the engine cancels a job that outlives its budget; a call
    // cancelled while waiting for the rate kept its concurrency permit forever, and after
    // `max_concurrency` of them every call of the target waited forever.
    #[tokio::test]
    async fn a_cancelled_caller_leaks_neither_permit_nor_token() {
        let l = std::sync::Arc::new(AdaptiveLimiter::new(Some(1.0), 1));
        l.before().await;
        l.after(Some(200));
        // The burst is used up: this caller waits about a second, and is cancelled.
        let l2 = l.clone();
        let waiting = tokio::spawn(async move { l2.before().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting.abort();
        assert!(waiting.await.is_err(), "cancelled");
        assert_eq!(l.concurrency.available_permits(), 1, "permit given back");
        // Its token was refunded too: the next caller waits one slot, not two.
        tokio::time::timeout(Duration::from_millis(1500), l.before())
            .await
            .expect("the next caller gets through");
    }
}

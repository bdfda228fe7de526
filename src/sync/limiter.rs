//! Per-target vendor call gate: a concurrency bound plus an adaptive token bucket (AIMD).
//! A 429 halves the rate (down to a floor); each success adds back a small step, up to the
//! configured rate. Hand-written because governor's quota is fixed once built, and AIMD
//! needs the rate to move.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::connectors::CallGate;

#[derive(Debug)]
struct Bucket {
    /// Current allowed rate, calls per second.
    rate: f64,
    tokens: f64,
    last: Instant,
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
    /// `rate` calls/s (None = unlimited), at most `concurrency` calls at once.
    pub fn new(rate: Option<f64>, concurrency: usize) -> Self {
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
                last: Instant::now(),
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
        b.tokens = (b.tokens + elapsed * b.rate).min(self.burst);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate)
        }
    }

    fn on_status(&self, status: Option<u16>) {
        let Ok(mut b) = self.bucket.lock() else {
            return;
        };
        match status {
            Some(429) => {
                let base = if b.rate.is_finite() { b.rate } else { 10.0 };
                b.rate = (base / 2.0).max(self.min_rate);
                b.tokens = b.tokens.min(0.0);
            }
            Some(s) if s < 500 && b.rate.is_finite() && b.rate < self.max_rate => {
                // Additive increase: about +5% of the ceiling per success.
                let step = if self.max_rate.is_finite() {
                    self.max_rate / 20.0
                } else {
                    1.0
                };
                b.rate = (b.rate + step).min(self.max_rate);
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
        self.on_status(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_429_and_recovers() {
        let l = AdaptiveLimiter::new(Some(10.0), 4);
        l.on_status(Some(429));
        assert!((l.current_rate() - 5.0).abs() < 1e-9);
        l.on_status(Some(429));
        assert!((l.current_rate() - 2.5).abs() < 1e-9);
        for _ in 0..100 {
            l.on_status(Some(200));
        }
        assert!((l.current_rate() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn never_below_floor() {
        let l = AdaptiveLimiter::new(Some(10.0), 1);
        for _ in 0..50 {
            l.on_status(Some(429));
        }
        assert!(l.current_rate() >= 10.0 / 32.0 - 1e-9);
    }

    #[test]
    fn bucket_spaces_calls_at_the_rate() {
        let l = AdaptiveLimiter::new(Some(2.0), 1);
        let t0 = Instant::now();
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

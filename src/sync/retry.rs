//! Retry policy: exponential backoff with full jitter, capped, honouring `Retry-After`.
//! Pure: the random draw comes in as a parameter so the policy is tested without sleeping.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    /// After this many failed attempts a retryable failure becomes permanent ("gave up").
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1` (attempt counts failures so far, from 0).
    /// `unit` is a uniform draw in [0, 1): full jitter spreads retries of many resources.
    /// A vendor's `Retry-After` is a floor (never retry earlier than asked), still capped.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(30)))
            .min(self.max);
        let jittered = exp.mul_f64(unit.clamp(0.0, 1.0));
        // Never retry in less than a tenth of the base delay.
        let floor = self.base / 10;
        let d = jittered.max(floor);
        match retry_after {
            Some(ra) => d
                .max(ra)
                .min(self.max.max(ra.min(Duration::from_secs(3600)))),
            None => d,
        }
    }

    /// True when one more failure should give up.
    pub fn exhausted(&self, attempts_so_far: u32) -> bool {
        attempts_so_far + 1 >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 5,
        }
    }

    #[test]
    fn grows_exponentially_then_caps() {
        let p = policy();
        assert_eq!(p.delay(0, None, 0.999_999).as_millis(), 999);
        assert_eq!(p.delay(3, None, 0.5), Duration::from_secs(4));
        assert_eq!(p.delay(20, None, 0.999_999).as_secs(), 59);
        assert_eq!(p.delay(1000, None, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn jitter_has_a_floor() {
        assert_eq!(policy().delay(0, None, 0.0), Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = policy();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(30)), 0.1),
            Duration::from_secs(30)
        );
        // Longer than our cap: honoured up to an hour.
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(120)), 0.1),
            Duration::from_secs(120)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(99_999)), 0.1),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let p = policy();
        assert!(!p.exhausted(3));
        assert!(p.exhausted(4));
    }
}

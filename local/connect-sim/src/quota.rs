//! The `StartOutboundVoiceContact` quota as a token bucket.
//!
//! Amazon Connect answers `TooManyRequestsException` above its API rate (default 2 requests/s
//! with a burst of 5 per account). The dialer must stay under it and never lose a contact when
//! it is hit, so the simulator enforces the same shape. Time is passed in (seconds on a
//! monotonic clock) so the bucket is a pure value that tests can drive.
//!
//! Sources: the API throttling quotas (2 requests per second, burst 5, by default; the same
//! figures are in aws-verification.md A2),
//! <https://docs.aws.amazon.com/connect/latest/adminguide/amazon-connect-service-limits.html>;
//! "The throttling limits are defined for each API separately at the AWS account level, not
//! for the individual Amazon Connect instance", and throttling is HTTP 429,
//! <https://docs.aws.amazon.com/connect/latest/APIReference/best-practices-connect-apis.html>.
//! Assumed (not documented): that the limit behaves as a token bucket (refilled at the rate,
//! holding at most the burst); AWS documents rate and burst, not the algorithm. The error
//! name: see `Simulator::start_outbound`. Checked by docs/aws-verification.md A2 and S4.

/// Refills add many small fractions; without a tolerance, float rounding can leave a bucket at
/// 0.9999999 tokens where arithmetic says 1.
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: f64,
}

impl TokenBucket {
    /// A full bucket. `rate <= 0` disables the quota (every call passes).
    pub fn new(rate: f64, burst: f64, now: f64) -> Self {
        let burst = burst.max(1.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    pub fn unlimited(&self) -> bool {
        self.rate <= 0.0
    }

    fn refill(&mut self, now: f64) {
        if now > self.last {
            self.tokens = (self.tokens + (now - self.last) * self.rate).min(self.burst);
            self.last = now;
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: f64) -> bool {
        if self.unlimited() {
            return true;
        }
        self.refill(now);
        if self.tokens >= 1.0 - EPSILON {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Seconds until the next token (0 when one is available now).
    pub fn wait_seconds(&mut self, now: f64) -> f64 {
        if self.unlimited() {
            return 0.0;
        }
        self.refill(now);
        if self.tokens >= 1.0 - EPSILON {
            0.0
        } else {
            (1.0 - self.tokens) / self.rate
        }
    }

    /// Changes rate and burst at run time; the tokens already earned are kept (up to the new
    /// burst) so reconfiguring does not hand out a free burst.
    pub fn reconfigure(&mut self, rate: f64, burst: f64, now: f64) {
        self.refill(now);
        self.rate = rate;
        self.burst = burst.max(1.0);
        self.tokens = self.tokens.min(self.burst);
    }

    /// Back to a full bucket (used by `/_sim/reset`).
    pub fn refill_full(&mut self, now: f64) {
        self.tokens = self.burst;
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_throttled() {
        let mut b = TokenBucket::new(2.0, 5.0, 0.0);
        for i in 0..5 {
            assert!(b.try_take(0.0), "call {i} of the burst");
        }
        assert!(
            !b.try_take(0.0),
            "the sixth call at the same instant is throttled"
        );
        assert!((b.wait_seconds(0.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn refills_at_the_rate() {
        let mut b = TokenBucket::new(2.0, 5.0, 0.0);
        for _ in 0..5 {
            assert!(b.try_take(0.0));
        }
        assert!(!b.try_take(0.4));
        assert!(b.try_take(0.5), "one token after 1/rate seconds");
        assert!(!b.try_take(0.6));
        assert!(b.try_take(1.0));
    }

    #[test]
    fn sustained_rate_is_the_quota() {
        // Hammer the bucket every 10 ms for 10 s: burst + rate * 10 calls pass, no more.
        let mut b = TokenBucket::new(2.0, 5.0, 0.0);
        let mut passed = 0;
        for step in 0..=1000 {
            if b.try_take(step as f64 * 0.01) {
                passed += 1;
            }
        }
        assert_eq!(passed, 5 + 20);
    }

    #[test]
    fn never_exceeds_burst_after_idle() {
        let mut b = TokenBucket::new(2.0, 5.0, 0.0);
        let mut passed = 0;
        for _ in 0..10 {
            if b.try_take(1000.0) {
                passed += 1;
            }
        }
        assert_eq!(passed, 5);
    }

    #[test]
    fn reconfigure_keeps_earned_tokens_only() {
        let mut b = TokenBucket::new(2.0, 5.0, 0.0);
        for _ in 0..5 {
            assert!(b.try_take(0.0));
        }
        b.reconfigure(10.0, 20.0, 0.0);
        assert!(!b.try_take(0.0), "no free burst on reconfigure");
        assert!(b.try_take(0.1));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut b = TokenBucket::new(0.0, 1.0, 0.0);
        for _ in 0..1000 {
            assert!(b.try_take(0.0));
        }
    }
}

//! One token bucket: `rate` responses a second, at most one second's worth
//! saved up, and the slip count of the responses it refused.
//!
//! Tokens are counted in thousandths of a response, so a bucket refills by
//! exactly `rate` units every millisecond: integer arithmetic with nothing
//! lost to rounding, whatever the rate or the spacing of the calls.

use crate::engine::policy::Decision;

/// Units in one response's token.
const UNITS_PER_RESPONSE: u32 = 1000;

/// A bucket left alone this long is full again, whatever it held.
pub(super) const REFILL_MS: u64 = 1000;

/// The limiter's settings, in the bucket's units.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rates {
    /// Units added per millisecond (= responses per second).
    per_ms: u32,
    /// A full bucket: one second's worth.
    full: u32,
    slip: u8,
}

impl Rates {
    /// `rate` ≤ [`super::config::MAX_RATE`] and `slip` ≤
    /// [`super::config::MAX_SLIP`], as validated; larger values are clamped
    /// so that nothing here can overflow.
    pub(super) fn new(rate: u32, slip: u32) -> Rates {
        let rate = rate.min(super::config::MAX_RATE);
        let slip = slip.min(super::config::MAX_SLIP) as u8;
        Rates { per_ms: rate, full: rate * UNITS_PER_RESPONSE, slip }
    }

    /// The level of a full bucket.
    pub(super) fn full(&self) -> u32 {
        self.full
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TokenBucket {
    /// When `tokens` was last brought up to date (the caller's clock).
    refilled_ms: u64,
    tokens: u32,
    /// Limited responses since the last slipped one.
    limited: u8,
}

impl TokenBucket {
    pub(super) const EMPTY: TokenBucket = TokenBucket { refilled_ms: 0, tokens: 0, limited: 0 };

    /// A bucket for a client not seen before: full, like one idle for a
    /// second, so a newcomer is never limited by having been forgotten.
    pub(super) fn full(rates: &Rates, now_ms: u64) -> TokenBucket {
        TokenBucket { refilled_ms: now_ms, tokens: rates.full, limited: 0 }
    }

    /// The tokens held at `now_ms`. A clock that went backwards adds none.
    #[inline]
    pub(super) fn level(&self, rates: &Rates, now_ms: u64) -> u32 {
        let elapsed = now_ms.saturating_sub(self.refilled_ms);
        if elapsed >= REFILL_MS {
            return rates.full;
        }
        // elapsed < 1000 and per_ms ≤ 10^6, tokens ≤ full ≤ 10^9: the sum
        // stays below 2 × 10^9 < u32::MAX.
        (self.tokens + elapsed as u32 * rates.per_ms).min(rates.full)
    }

    /// Charges one response: `Send` while a token is left; otherwise every
    /// `slip`-th limited response is `Slip` and the rest `Drop`.
    #[inline]
    pub(super) fn take(&mut self, rates: &Rates, now_ms: u64) -> Decision {
        self.tokens = self.level(rates, now_ms);
        self.refilled_ms = self.refilled_ms.max(now_ms);
        if self.tokens >= UNITS_PER_RESPONSE {
            self.tokens -= UNITS_PER_RESPONSE;
            return Decision::Send;
        }
        if rates.slip == 0 {
            return Decision::Drop;
        }
        self.limited += 1;
        if self.limited >= rates.slip {
            self.limited = 0;
            Decision::Slip
        } else {
            Decision::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(bucket: &mut TokenBucket, rates: &Rates, times: impl IntoIterator<Item = u64>) -> [u32; 3] {
        let mut counts = [0; 3];
        for now in times {
            let i = match bucket.take(rates, now) {
                Decision::Send => 0,
                Decision::Slip => 1,
                Decision::Drop => 2,
            };
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn a_thousand_at_once_with_rate_100_and_slip_2() {
        let rates = Rates::new(100, 2);
        let mut bucket = TokenBucket::full(&rates, 5_000);
        assert_eq!(tally(&mut bucket, &rates, [5_000; 1000]), [100, 450, 450]);
    }

    #[test]
    fn a_thousand_spread_over_one_second_earns_the_refill() {
        // One every millisecond from t = 0 to 999: the burst of 100, then
        // 999 ms × 0.1 = 99.9 more tokens, of which 99 are whole.
        let rates = Rates::new(100, 2);
        let mut bucket = TokenBucket::full(&rates, 0);
        let [sent, slipped, dropped] = tally(&mut bucket, &rates, 0..1000);
        assert_eq!(sent, 199);
        assert_eq!((slipped, dropped), (400, 401));
    }

    #[test]
    fn slip_0_drops_all_and_slip_1_truncates_all() {
        for (slip, expected) in [(0, [10, 0, 90]), (1, [10, 90, 0]), (3, [10, 30, 60]), (100, [10, 0, 90])] {
            let rates = Rates::new(10, slip);
            let mut bucket = TokenBucket::full(&rates, 0);
            assert_eq!(tally(&mut bucket, &rates, [0; 100]), expected, "slip {slip}");
        }
    }

    #[test]
    fn refills_at_the_rate_and_no_further_than_one_second() {
        let rates = Rates::new(100, 2);
        let mut bucket = TokenBucket::full(&rates, 0);
        assert_eq!(tally(&mut bucket, &rates, [0; 100])[0], 100);
        assert_eq!(bucket.level(&rates, 0), 0);
        assert_eq!(bucket.level(&rates, 10), 1000, "10 ms at 100/s is one response");
        assert_eq!(tally(&mut bucket, &rates, [10; 5])[0], 1);
        assert_eq!(tally(&mut bucket, &rates, [500; 100])[0], 49);
        // Idle for an hour: one second's worth, no more.
        assert_eq!(tally(&mut bucket, &rates, [3_600_000; 1000])[0], 100);
    }

    #[test]
    fn a_clock_going_backwards_adds_nothing() {
        let rates = Rates::new(100, 2);
        let mut bucket = TokenBucket::full(&rates, 1_000);
        assert_eq!(tally(&mut bucket, &rates, [1_000; 100])[0], 100);
        assert_eq!(tally(&mut bucket, &rates, [0; 10])[0], 0);
        assert_eq!(bucket.level(&rates, 1_000), 0, "the refill time did not move back");
    }

    #[test]
    fn the_largest_rate_neither_overflows_nor_stalls() {
        let rates = Rates::new(u32::MAX, u32::MAX);
        let mut bucket = TokenBucket::full(&rates, 0);
        bucket.tokens = 0;
        assert_eq!(bucket.level(&rates, 999), 999_000_000);
        assert_eq!(bucket.level(&rates, u64::MAX), 1_000_000_000);
    }
}

//! When the capture thread makes its next pass. Each pass wakes the thread
//! and writes once, and on a virtual machine a wake-up costs more than
//! encoding a handful of records, so the thread runs on a cadence and a
//! pass's cost is shared by everything that arrived since the last one:
//! a trickle of records never brings more than one pass (one `write`) per
//! [`PASS_INTERVAL`]. A ring that fills faster than that is drained sooner,
//! so that it stays under half full at the rate it was filling, and one
//! that still held records when its per-pass quota ran out is drained
//! again at once.

use std::time::Duration;

/// The cadence of the passes, and so the longest a record waits in its ring
/// before it is written (plus the pass itself). fstrm's own writer holds
/// frames up to a second (`flush_timeout`). Twice the 10 ms the thread
/// used to sleep only when a pass found nothing: half the wake-ups of a
/// server sampling a trickle, while a 1 MiB ring (the default) still holds
/// a whole interval at some 150,000 records a second per thread (records
/// of 300 to 450 bytes), the most a ring must take from idle before the
/// cadence below adapts.
pub const PASS_INTERVAL: Duration = Duration::from_millis(20);

/// The share of a ring a pass aims to find filled at most: the rest is
/// headroom for a burst between two passes.
const TARGET_FILL: f64 = 0.5;

/// What one pass found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    /// From the previous pass's start to this one's: the time the rings
    /// had to fill.
    pub since_last: Duration,
    /// How long this pass took (reading, encoding, writing).
    pub took: Duration,
    /// The fullest ring's share of its capacity when the pass came to it
    /// (0 to 1).
    pub fullest: f64,
    /// A ring still held records when the pass had taken its quota.
    pub quota_hit: bool,
}

/// How long to sleep before the next pass.
pub fn wait(pass: &Pass, interval: Duration) -> Duration {
    if pass.quota_hit {
        return Duration::ZERO;
    }
    let mut period = interval;
    if pass.fullest > 0.0 {
        // At the rate it filled, the fullest ring reaches the target in:
        let to_target = pass.since_last.as_secs_f64() * TARGET_FILL / pass.fullest;
        // `try_`: a float that no Duration holds keeps the interval, never a panic.
        period = period.min(Duration::try_from_secs_f64(to_target).unwrap_or(interval));
    }
    period.saturating_sub(pass.took)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records arrive at `rate` a second into a ring of `capacity` records,
    /// the thread passing as [`wait`] says; each pass takes `took` and
    /// drains up to `quota`. Returns the passes, the records lost to a full
    /// ring after the first interval (from idle, a ring must hold one
    /// interval: that is its sizing), and the longest a record waited.
    fn simulate(rate: f64, capacity: f64, quota: f64, took: Duration, seconds: f64) -> (u32, f64, Duration) {
        let (mut now, mut last_start, mut held, mut lost) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut passes, mut oldest, mut emptied) = (0u32, Duration::ZERO, 0.0f64);
        while now < seconds {
            passes += 1;
            let fullest = held / capacity;
            let taken = held.min(quota).floor();
            if taken >= 1.0 {
                oldest = oldest.max(Duration::from_secs_f64(now - emptied));
            }
            held -= taken;
            let pass =
                Pass { since_last: Duration::from_secs_f64(now - last_start), took, fullest, quota_hit: held >= 1.0 };
            last_start = now;
            if held < 1.0 {
                emptied = now;
            }
            let next = now + (took + wait(&pass, PASS_INTERVAL)).as_secs_f64();
            let arriving = rate * (next - now);
            if now >= PASS_INTERVAL.as_secs_f64() {
                lost += (arriving - (capacity - held)).max(0.0);
            }
            held = (held + arriving).min(capacity);
            now = next;
        }
        (passes, lost, oldest)
    }

    #[test]
    fn a_trickle_brings_one_pass_per_interval() {
        let took = Duration::from_micros(30);
        let seconds = 10.0;
        let intervals = (seconds / PASS_INTERVAL.as_secs_f64()).round() as u32;
        for rate in [10.0, 100.0, 1_000.0, 10_000.0] {
            let (passes, lost, oldest) = simulate(rate, 3_000.0, 4_096.0, took, seconds);
            assert!(passes <= intervals + 1, "{rate}/s: {passes} passes in {intervals} intervals");
            assert!(passes + 1 >= intervals, "{rate}/s: {passes} passes in {intervals} intervals");
            assert_eq!(lost, 0.0, "{rate}/s");
            assert!(oldest <= PASS_INTERVAL + took, "{rate}/s: a record waited {oldest:?}");
        }
    }

    #[test]
    fn a_filling_ring_is_drained_before_it_overflows() {
        // 3,000 records fill in 10 ms at 300,000 a second: half an interval.
        let seconds = 5.0;
        let (passes, lost, _) = simulate(300_000.0, 3_000.0, 4_096.0, Duration::from_micros(500), seconds);
        assert_eq!(lost, 0.0, "{passes} passes");
        let intervals = seconds / PASS_INTERVAL.as_secs_f64();
        assert!(f64::from(passes) > 2.0 * intervals, "{passes} passes in {intervals} intervals: too few");
        // Faster than a pass drains its quota: passes back to back, no sleep.
        let (_, lost, _) = simulate(20_000_000.0, 100_000.0, 4_096.0, Duration::from_micros(200), 0.5);
        assert_eq!(lost, 0.0);
    }

    #[test]
    fn a_quota_left_over_goes_again_at_once_and_a_filling_ring_sooner() {
        let pass = Pass { since_last: PASS_INTERVAL, took: Duration::ZERO, fullest: 0.1, quota_hit: true };
        assert_eq!(wait(&pass, PASS_INTERVAL), Duration::ZERO);
        // Three quarters full after 3 ms: half full 2 ms after a pass.
        let filling = Pass { quota_hit: false, fullest: 0.75, since_last: Duration::from_millis(3), ..pass };
        assert_eq!(wait(&filling, PASS_INTERVAL), Duration::from_millis(2));
        let slow = Pass { took: Duration::from_millis(5), ..filling };
        assert_eq!(wait(&slow, PASS_INTERVAL), Duration::ZERO);
        // 40% in an interval stays under half; all of it needs half the time.
        let calm = Pass { fullest: 0.4, since_last: PASS_INTERVAL, took: Duration::from_millis(1), ..filling };
        assert_eq!(wait(&calm, PASS_INTERVAL), PASS_INTERVAL - Duration::from_millis(1));
        let full = Pass { fullest: 1.0, ..calm };
        assert_eq!(wait(&full, PASS_INTERVAL), PASS_INTERVAL / 2 - Duration::from_millis(1));
    }
}

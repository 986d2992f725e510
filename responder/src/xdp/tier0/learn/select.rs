//! Which learned keys tier 0 holds, from each interval's merged samples.
//!
//! Once a key is installed the program answers it and the workers stop
//! seeing it, so its sample count falls to (nearly) nothing however hot it
//! stays. A learned key is therefore sticky: it keeps its place for
//! [`LEASE`] intervals after it was installed or last seen by a worker,
//! whatever newcomers appear. After that its score (the rate it was
//! learned at) halves every interval, and a newcomer with more samples in
//! an interval than the lowest such score takes its place. A key still hot
//! when it loses its place comes back to the workers and is learned again
//! an interval later, so at most one key in [`LEASE`] per place is left to
//! the workers for an interval; a key gone cold is replaced as soon as
//! something hotter needs the room, and stays (at no cost) while nothing
//! does.

use std::collections::{HashMap, HashSet};

use crate::xdp::tier0::layout::Key;

/// Intervals a learned key is kept without being seen (12 × 5 s: a
/// minute): it can be replaced from the LEASE-th refresh after it was
/// installed or last seen on.
pub const LEASE: u32 = 12;

/// Samples in one interval before a key is a candidate: one sample is
/// chance (at 1 in 64, a single query can be one).
pub const MIN_SAMPLES: u64 = 2;

/// Keys the engine's answer keeps out of tier 0 (truncated, too long…),
/// remembered so that they are not compiled every interval; forgotten at a
/// reload, and all at once when there are this many.
const REJECTED_MAX: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    score: u64,
    lease: u32,
}

#[derive(Debug)]
pub struct Learner {
    top: usize,
    held: HashMap<Key, Held>,
    rejected: HashSet<Key>,
}

impl Learner {
    pub fn new(top: usize) -> Learner {
        Learner { top, held: HashMap::new(), rejected: HashSet::new() }
    }

    /// The keys held, in a stable order.
    pub fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self.held.keys().copied().collect();
        keys.sort_by_key(|k| (k.name, k.qtype, k.shape));
        keys
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Drops a key whose answer can no longer be held (after a reload).
    pub fn forget(&mut self, key: &Key) {
        self.held.remove(key);
    }

    /// A reload may change any answer: every key is worth compiling again.
    pub fn reloaded(&mut self) {
        self.rejected.clear();
    }

    /// One interval's samples (`counts`, summed over the workers). `admit`
    /// compiles a newcomer's answer and says whether tier 0 can hold it
    /// (it is then held). Returns whether the keys held changed.
    pub fn refresh(&mut self, counts: &HashMap<Key, u64>, mut admit: impl FnMut(&Key) -> bool) -> bool {
        for held in self.held.values_mut() {
            if held.lease > 0 {
                held.lease -= 1;
            } else {
                held.score /= 2;
            }
        }
        let mut candidates: Vec<(&Key, u64)> = Vec::new();
        for (key, &count) in counts {
            if let Some(held) = self.held.get_mut(key) {
                // Still reaching the workers (a query shape the program
                // does not match, or the answer was just installed).
                held.score = held.score.max(count);
                held.lease = LEASE;
            } else if count >= MIN_SAMPLES && !self.rejected.contains(key) {
                candidates.push((key, count));
            }
        }
        // The hottest first; equal counts in key order, so a refresh is
        // the same for the same samples.
        candidates.sort_by(|a, b| {
            b.1.cmp(&a.1).then_with(|| (a.0.name, a.0.qtype, a.0.shape).cmp(&(b.0.name, b.0.qtype, b.0.shape)))
        });
        let mut changed = false;
        for (key, count) in candidates {
            let victim = if self.held.len() < self.top {
                None
            } else {
                // The coldest key past its lease, if colder than this one.
                match self
                    .held
                    .iter()
                    .filter(|(_, h)| h.lease == 0)
                    .min_by(|a, b| a.1.score.cmp(&b.1.score).then_with(|| a.0.name.cmp(&b.0.name)))
                {
                    Some((victim, h)) if h.score < count => Some(*victim),
                    // Candidates come hottest first: none after this one can.
                    _ => break,
                }
            };
            if !admit(key) {
                if self.rejected.len() >= REJECTED_MAX {
                    self.rejected.clear();
                }
                self.rejected.insert(*key);
                continue;
            }
            if let Some(victim) = victim {
                self.held.remove(&victim);
            }
            self.held.insert(*key, Held { score: count, lease: LEASE });
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdp::tier0::layout::NAME_MAX;

    fn key(n: u32) -> Key {
        let mut name = [0u8; NAME_MAX];
        let label = format!("k{n}");
        name[0] = label.len() as u8;
        name[1..1 + label.len()].copy_from_slice(label.as_bytes());
        Key { generation: 0, shape: 0, qtype: 1, name }
    }

    fn counts(pairs: &[(u32, u64)]) -> HashMap<Key, u64> {
        pairs.iter().map(|&(k, c)| (key(k), c)).collect()
    }

    fn held(l: &Learner) -> Vec<Key> {
        l.keys()
    }

    fn keys(ns: &[u32]) -> Vec<Key> {
        let mut v: Vec<Key> = ns.iter().map(|&n| key(n)).collect();
        v.sort_by_key(|k| (k.name, k.qtype, k.shape));
        v
    }

    #[test]
    fn the_hottest_are_held_up_to_top() {
        let mut l = Learner::new(3);
        let c = counts(&[(1, 50), (2, 40), (3, 30), (4, 20), (5, 1)]);
        assert!(l.refresh(&c, |_| true));
        assert_eq!(held(&l), keys(&[1, 2, 3]));
        // The same again changes nothing (held keys seen renew their lease).
        assert!(!l.refresh(&c, |_| true));
    }

    #[test]
    fn one_sample_is_not_enough_and_rejected_keys_are_not_asked_again() {
        let mut l = Learner::new(8);
        let mut asked = Vec::new();
        assert!(!l.refresh(&counts(&[(1, 1), (2, 9)]), |k| {
            asked.push(*k);
            false
        }));
        assert_eq!(asked, [key(2)]);
        assert!(!l.refresh(&counts(&[(2, 9)]), |_| panic!("asked again")));
        l.reloaded();
        assert!(l.refresh(&counts(&[(2, 9)]), |_| true));
        assert_eq!(held(&l), keys(&[2]));
    }

    #[test]
    fn held_keys_keep_their_place_for_the_lease_then_yield_to_hotter_ones() {
        let mut l = Learner::new(2);
        assert!(l.refresh(&counts(&[(1, 100), (2, 100)]), |_| true));
        // Installed: the workers no longer see 1 and 2. A newcomer, even a
        // hot one, waits for a lease to run out.
        for _ in 1..LEASE {
            assert!(!l.refresh(&counts(&[(3, 1000)]), |_| true));
        }
        // Key 2 still reaches the workers now and then: its lease renews.
        assert!(l.refresh(&counts(&[(2, 3), (3, 1000)]), |_| true));
        assert_eq!(held(&l), keys(&[2, 3]), "1 (lease out) gave way to 3");
    }

    #[test]
    fn a_key_past_its_lease_decays_until_a_newcomer_beats_it() {
        let mut l = Learner::new(1);
        assert!(l.refresh(&counts(&[(1, 64)]), |_| true));
        for _ in 0..LEASE {
            l.refresh(&HashMap::new(), |_| true);
        }
        // Score 64, then 32, 16, 8, 4: a newcomer with 10 samples wins at 8.
        let mut intervals = 0;
        while !l.refresh(&counts(&[(2, 10)]), |_| true) {
            intervals += 1;
            assert!(intervals < 10, "never replaced");
        }
        assert_eq!(intervals, 2, "64 → 32 → 16 hold, 8 yields");
        assert_eq!(held(&l), keys(&[2]));
    }

    #[test]
    fn from_a_skewed_stream_the_heavy_hitters_are_held() {
        use crate::xdp::tier0::learn::table::Table;
        // Eight workers' tables, each fed a Zipf-like stream over 2000
        // keys, merged as the control thread does.
        let mut merged: HashMap<Key, u64> = HashMap::new();
        let mut truth: HashMap<Key, u64> = HashMap::new();
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..8 {
            let mut t = Table::default();
            for _ in 0..5000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // P(k) ∝ 1/(k+1), by inverting the harmonic CDF approximately.
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                let k = ((2000f64.ln() * u).exp() - 1.0) as u32;
                t.record(&key(k));
                *truth.entry(key(k)).or_default() += 1;
            }
            for (k, c) in t.entries() {
                *merged.entry(*k).or_default() += u64::from(c);
            }
        }
        let mut l = Learner::new(10);
        l.refresh(&merged, |_| true);
        let mut by_truth: Vec<(Key, u64)> = truth.into_iter().collect();
        by_truth.sort_by_key(|x| std::cmp::Reverse(x.1));
        let true_top: Vec<Key> = by_truth[..15].iter().map(|(k, _)| *k).collect();
        let got = l.keys();
        assert_eq!(got.len(), 10);
        for k in &got {
            assert!(true_top.contains(k), "held a key outside the true top 15");
        }
    }
}

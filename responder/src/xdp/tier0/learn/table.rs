//! A worker's count table: fixed size, set-associative by a hash of the
//! key, each set of [`WAYS`] counters a Misra–Gries summary. A sample of a
//! key the set holds adds one to it; of another key, takes a free counter,
//! or when none is free takes one away from each. A key with more than
//! 1/([`WAYS`] + 1) of its set's samples is therefore always found, its
//! count short of the truth by at most that share: with [`SETS`] sets and
//! keys spread by the hash, a hot key keeps its place against the cold
//! ones, and several hot keys hashed to one set keep theirs side by side.
//! Recording costs a hash of the key and a few compares; the table never
//! allocates after it is made.

use crate::xdp::tier0::layout::{Key, NAME_MAX};

pub const WAYS: usize = 4;
/// Sets per table (a power of two).
pub const SETS: usize = 128;

#[derive(Clone, Copy)]
struct Slot {
    key: Key,
    /// 0: free.
    count: u32,
}

pub struct Table {
    slots: Box<[[Slot; WAYS]; SETS]>,
    /// Samples recorded since the last clear (0: nothing to hand off).
    samples: u32,
}

impl Default for Table {
    fn default() -> Table {
        let free = Slot { key: Key { generation: 0, shape: 0, qtype: 0, name: [0; NAME_MAX] }, count: 0 };
        let slots: Box<[[Slot; WAYS]; SETS]> =
            vec![[free; WAYS]; SETS].into_boxed_slice().try_into().unwrap_or_else(|_| unreachable!("SETS long"));
        Table { slots, samples: 0 }
    }
}

/// FNV-1a over the key's words: cheap, and enough to spread names apart.
fn hash(key: &Key) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut word = |w: u64| h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    word(u64::from(key.qtype) << 8 | u64::from(key.shape));
    for chunk in key.name.chunks_exact(8) {
        word(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
    }
    h ^ h >> 29
}

impl Table {
    pub fn record(&mut self, key: &Key) {
        self.samples = self.samples.saturating_add(1);
        let set = &mut self.slots[hash(key) as usize & (SETS - 1)];
        if let Some(slot) = set.iter_mut().find(|s| s.count > 0 && s.key == *key) {
            slot.count = slot.count.saturating_add(1);
        } else if let Some(slot) = set.iter_mut().find(|s| s.count == 0) {
            *slot = Slot { key: *key, count: 1 };
        } else {
            for slot in set.iter_mut() {
                slot.count -= 1;
            }
        }
    }

    /// Samples recorded since the last clear.
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// Each key held and its count.
    pub fn entries(&self) -> impl Iterator<Item = (&Key, u32)> {
        self.slots.iter().flatten().filter(|s| s.count > 0).map(|s| (&s.key, s.count))
    }

    pub fn clear(&mut self) {
        for slot in self.slots.iter_mut().flatten() {
            slot.count = 0;
        }
        self.samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn key(n: u32) -> Key {
        let mut name = [0u8; NAME_MAX];
        let label = format!("n{n}");
        name[0] = label.len() as u8;
        name[1..1 + label.len()].copy_from_slice(label.as_bytes());
        Key { generation: 0, shape: (n % 3) as u8, qtype: 1, name }
    }

    /// A skewed stream: key i drawn with weight 1/(i+1) (Zipf), from a
    /// fixed seed, plus a flood of keys each seen once.
    fn zipf_stream(keys: u32, len: usize, seed: u64) -> Vec<u32> {
        let weights: Vec<f64> = (0..keys).map(|i| 1.0 / f64::from(i + 1)).collect();
        let total: f64 = weights.iter().sum();
        let mut state = seed;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..len)
            .map(|i| {
                if i % 4 == 3 {
                    // One in four samples a one-off name.
                    return 1_000_000 + i as u32;
                }
                let mut x = next() * total;
                for (k, w) in weights.iter().enumerate() {
                    if x < *w {
                        return k as u32;
                    }
                    x -= w;
                }
                keys - 1
            })
            .collect()
    }

    #[test]
    fn the_heavy_hitters_of_a_skewed_stream_are_found() {
        for seed in [1, 7, 0x5eed, 0xdead_beef] {
            let stream = zipf_stream(5000, 40_000, seed);
            let mut table = Table::default();
            for &k in &stream {
                table.record(&key(k));
            }
            assert_eq!(table.samples(), 40_000);
            let found: std::collections::HashMap<Key, u32> = table.entries().map(|(k, c)| (*k, c)).collect();
            let mut truth: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
            for &k in &stream {
                *truth.entry(k).or_default() += 1;
            }
            let mut by_count: Vec<(u32, u32)> = truth.into_iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            // The 20 heaviest (each over ~1% of the stream) are all there,
            // never with more than they were seen.
            for &(k, seen) in &by_count[..20] {
                let held = found.get(&key(k)).copied().unwrap_or_else(|| panic!("seed {seed}: key {k} ({seen}) lost"));
                assert!(held <= seen, "seed {seed}: key {k} held by {held}, seen {seen}");
            }
            // The counts rank them: the top 5 by table count are among the true top 10.
            let mut ranked: Vec<(&Key, &u32)> = found.iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(a.1));
            let top10: Vec<Key> = by_count[..10].iter().map(|&(k, _)| key(k)).collect();
            for (k, _) in &ranked[..5] {
                assert!(top10.contains(k), "seed {seed}: a table top-5 key is not a true top-10 one");
            }
        }
    }

    #[test]
    fn half_the_samples_keep_their_place_and_clear_empties_the_table() {
        let mut table = Table::default();
        let hot = key(1);
        // Every other sample is the hot key, the others all different: in
        // any bucket the hot key has at least half.
        for i in 0..10_000u32 {
            table.record(&if i % 2 == 0 { hot } else { key(100 + i) });
        }
        assert!(table.entries().any(|(k, c)| *k == hot && c > 4_000));
        table.clear();
        assert_eq!((table.entries().count(), table.samples()), (0, 0));
    }
}

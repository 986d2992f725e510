//! A one-probe bit filter of the names an overlay decides, by name hash:
//! with an overlay, most lookups are for names it does not hold, and one
//! load and one test here send them straight to the base instead of
//! probing the overlay's buckets (and, for a name not in the zone, doing so
//! at every label of its walk up). A false positive only costs that probe.

/// Bits per name held: with one hash bit per name, about 6% false positives.
const BITS_PER_NAME: usize = 16;
const MIN_BITS: usize = 1 << 12;
/// 512 KiB: past this, the filter's own cache misses would cost what it saves.
const MAX_BITS: usize = 1 << 22;

pub(super) struct Filter {
    words: Box<[u64]>,
    /// Bit index mask (a power of two less one).
    mask: u64,
}

impl Filter {
    pub fn new(hashes: &[u64]) -> Filter {
        let bits = (hashes.len() * BITS_PER_NAME).next_power_of_two().clamp(MIN_BITS, MAX_BITS);
        let mut words = vec![0u64; bits / 64].into_boxed_slice();
        let mask = bits as u64 - 1;
        for &h in hashes {
            let bit = Self::bit(h, mask);
            words[bit / 64] |= 1 << (bit % 64);
        }
        Filter { words, mask }
    }

    /// The table's buckets are chosen by the hash's low bits, so the
    /// filter takes its bit from the high ones.
    #[inline(always)]
    fn bit(hash: u64, mask: u64) -> usize {
        ((hash >> 32) & mask) as usize
    }

    /// False: the overlay holds no name of this hash.
    #[inline(always)]
    pub fn may_hold(&self, hash: u64) -> bool {
        let bit = Self::bit(hash, self.mask);
        self.words.get(bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_put_in_is_held_and_most_others_are_not() {
        // Names as a change set holds them: the table's own name hash.
        let hash = |i: u64| {
            let label = format!("h{i}");
            let mut wire = vec![label.len() as u8];
            wire.extend_from_slice(label.as_bytes());
            wire.extend_from_slice(b"\x07example\x03com\x00");
            crate::table::format::hash_name(&wire)
        };
        let held: Vec<u64> = (0..1000).map(hash).collect();
        let filter = Filter::new(&held);
        assert!(held.iter().all(|&h| filter.may_hold(h)));
        let others = (1000..101_000).map(hash);
        let false_positives = others.filter(|&h| filter.may_hold(h)).count();
        // 1,000 bits set of 16,384: about 6% of other hashes hit one.
        assert!(false_positives < 10_000, "{false_positives} false positives in 100,000");
        assert!(false_positives > 0, "a filter that never answers yes for others is suspicious");
    }
}

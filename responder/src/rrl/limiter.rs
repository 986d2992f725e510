//! The per-worker table of buckets: fixed size, open addressing, a bounded
//! probe, and an eviction rule that forgets only what costs least to forget.

use super::bucket::{Rates, TokenBucket};
use super::config::{RrlConfig, RrlError};
use super::key::{BucketKey, KeyHasher, Prefixes};
use crate::engine::policy::{Decision, ResponseClass};

/// Slots a key may occupy: `WINDOW` consecutive slots from where its hash
/// points (wrapping at the end). Eight slots of 40 bytes are five cache
/// lines at most, and the usual hit is the first slot.
const WINDOW: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: BucketKey,
    bucket: TokenBucket,
}

impl Slot {
    const EMPTY: Slot = Slot { key: BucketKey::EMPTY, bucket: TokenBucket::EMPTY };
}

/// What a limiter has decided, for logs and metrics. Plain integers: only
/// the owning worker writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RrlCounters {
    pub sent: u64,
    pub slipped: u64,
    pub dropped: u64,
    /// Buckets forgotten to make room for a new key while still holding
    /// less than a full second's worth (see [`RateLimiter`]).
    pub evicted_active: u64,
}

/// Response rate limiting for one worker: owned by one thread, so no locks
/// or atomics; all memory taken in [`RateLimiter::new`].
///
/// # Where a key lives, and who is evicted
///
/// A key lives in one of the [`WINDOW`] slots starting at its hash. Slots
/// are never emptied, so a lookup stops at the first empty slot. A key not
/// found takes the first empty slot of its window or, when the window is
/// full, evicts the slot whose bucket holds the **most tokens** (the first
/// such on a tie). Forgetting a bucket means the key starts full next time,
/// so the fullest bucket is the one whose loss changes least: a bucket idle
/// for a second is full and costs nothing, and a flooded, empty bucket is
/// evicted only if every other bucket in its window is as empty — that is,
/// only by flooding every one of those prefixes past the rate too, with
/// prefixes the attacker cannot aim at the window because the hash is keyed
/// with a secret drawn at start-up. A newcomer is never refused a bucket of
/// its own, so a table full of other prefixes cannot starve it either.
pub struct RateLimiter {
    slots: Box<[Slot]>,
    prefixes: Prefixes,
    hasher: KeyHasher,
    rates: Rates,
    counters: RrlCounters,
}

impl RateLimiter {
    pub fn new(config: &RrlConfig) -> Result<RateLimiter, RrlError> {
        config.validate()?;
        let count = config.buckets as usize;
        let mut slots = Vec::new();
        slots.try_reserve_exact(count).map_err(|_| RrlError::OutOfMemory(config.buckets))?;
        slots.resize(count, Slot::EMPTY);
        Ok(RateLimiter {
            slots: slots.into_boxed_slice(),
            prefixes: Prefixes::new(config.ipv4_prefix, config.ipv6_prefix),
            hasher: KeyHasher::random(),
            rates: Rates::new(config.rate, config.slip),
            counters: RrlCounters::default(),
        })
    }

    /// The fate of one UDP response of `class` to `client` (4 or 16 address
    /// bytes; any other length is charged to one shared "unknown client"
    /// bucket). `now_ms` is a monotonic clock in milliseconds, read once per
    /// batch by the caller.
    #[inline]
    pub fn decide(&mut self, client: &[u8], class: ResponseClass, now_ms: u64) -> Decision {
        let key = self.prefixes.key(client, class);
        let index = self.slot_for(key, now_ms);
        let decision = self.slots[index].bucket.take(&self.rates, now_ms);
        match decision {
            Decision::Send => self.counters.sent += 1,
            Decision::Slip => self.counters.slipped += 1,
            Decision::Drop => self.counters.dropped += 1,
        }
        decision
    }

    pub fn counters(&self) -> RrlCounters {
        self.counters
    }

    /// Memory held by the table, fixed at construction.
    pub fn table_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.slots)
    }

    /// The index of `key`'s slot, claiming one (see the type's docs) if it
    /// has none.
    fn slot_for(&mut self, key: BucketKey, now_ms: u64) -> usize {
        let len = self.slots.len();
        // Multiply-shift maps the hash onto 0..len without a division and
        // for any table size, not only powers of two.
        let start = ((u128::from(self.hasher.hash(&key)) * len as u128) >> 64) as usize;
        let mut victim = start;
        let mut victim_level = 0;
        for step in 0..WINDOW {
            // len ≥ MIN_BUCKETS > WINDOW, so one subtraction wraps.
            let index = if start + step >= len { start + step - len } else { start + step };
            let slot = &self.slots[index];
            if slot.key == key {
                return index;
            }
            if slot.key.is_empty() {
                self.slots[index] = Slot { key, bucket: TokenBucket::full(&self.rates, now_ms) };
                return index;
            }
            let level = slot.bucket.level(&self.rates, now_ms);
            if step == 0 || level > victim_level {
                victim = index;
                victim_level = level;
            }
        }
        if victim_level < self.rates.full() {
            self.counters.evicted_active += 1;
        }
        self.slots[victim] = Slot { key, bucket: TokenBucket::full(&self.rates, now_ms) };
        victim
    }
}

#[cfg(test)]
mod tests;

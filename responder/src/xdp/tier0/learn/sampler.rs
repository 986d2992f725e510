//! Each worker's sampling: a countdown picks one answered query in
//! [`SAMPLE_EVERY`], its key goes into the worker's own [`Table`], and the
//! table is handed to the control thread whole, by swapping it with an
//! empty one in the worker's [`Mailbox`], when the worker publishes its
//! counters (never per packet). The worker is the only writer of its
//! table; the mailbox's lock is taken by it with `try_lock`, so a control
//! thread reading a mailbox never holds a worker up: the worker keeps
//! counting into the table it has and hands it off next time.
//!
//! Learning off, a worker's handler holds a [`NoLearning`] instead, a type
//! chosen at compile time (as the capture's `NoTap`): no countdown at all,
//! the handler what it was before learning existed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::table::Table;
use crate::xdp::tier0::layout::Key;

/// One answered query in this many is sampled. At 1 in 64 the countdown
/// is the only cost of the others (see docs/BENCHMARKS.md, "Learned tier
/// 0"), and a key answered 100 times a second is seen ~8 times in 5 s.
pub const SAMPLE_EVERY: u32 = 64;

struct Handoff {
    table: Table,
    /// Holds samples the control thread has not taken yet.
    full: bool,
}

/// Where one worker leaves its samples.
pub struct Mailbox(Mutex<Handoff>);

/// Every worker's mailbox, for the control thread to empty.
#[derive(Default)]
pub struct Board {
    mailboxes: Mutex<Vec<Arc<Mailbox>>>,
}

impl Board {
    /// A new worker's sampler (learning on).
    pub fn sampler(&self) -> Sampler {
        let mailbox = Arc::new(Mailbox(Mutex::new(Handoff { table: Table::default(), full: false })));
        self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&mailbox));
        Sampler { left: SAMPLE_EVERY, table: Table::default(), mailbox }
    }

    /// Adds every sample handed off since the last call to `counts`;
    /// returns how many samples that was.
    pub fn drain(&self, counts: &mut HashMap<Key, u64>) -> u64 {
        let mailboxes = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut samples = 0;
        for mailbox in mailboxes {
            let mut handoff = mailbox.0.lock().unwrap_or_else(|e| e.into_inner());
            if !handoff.full {
                continue;
            }
            samples += u64::from(handoff.table.samples());
            for (key, count) in handoff.table.entries() {
                *counts.entry(*key).or_default() += u64::from(count);
            }
            handoff.table.clear();
            handoff.full = false;
        }
        samples
    }
}

/// A worker's sampling, or [`NoLearning`]. Handlers are generic over it,
/// so one built without learning has a constant `false` where the
/// countdown would be.
pub trait MaybeSampler: Send + 'static {
    /// Called for every query: whether to sample this one.
    fn tick(&mut self) -> bool;

    /// The sampled query's key, if it got an answer the program could give.
    fn record(&mut self, key: &Key);

    /// Hands the samples to the control thread if it took the last ones
    /// (and its lock is free); otherwise they stay and more join them.
    fn hand_off(&mut self);
}

/// Learning off.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLearning;

impl MaybeSampler for NoLearning {
    #[inline(always)]
    fn tick(&mut self) -> bool {
        false
    }

    #[inline(always)]
    fn record(&mut self, _key: &Key) {}

    #[inline(always)]
    fn hand_off(&mut self) {}
}

/// A worker's end of learning: a countdown and its own table.
pub struct Sampler {
    left: u32,
    table: Table,
    mailbox: Arc<Mailbox>,
}

impl MaybeSampler for Sampler {
    /// One decrement and one branch but once in [`SAMPLE_EVERY`].
    #[inline(always)]
    fn tick(&mut self) -> bool {
        self.left -= 1;
        if self.left != 0 {
            return false;
        }
        self.left = SAMPLE_EVERY;
        true
    }

    #[cold]
    fn record(&mut self, key: &Key) {
        self.table.record(key);
    }

    fn hand_off(&mut self) {
        if self.table.samples() == 0 {
            return;
        }
        let Ok(mut handoff) = self.mailbox.0.try_lock() else { return };
        if handoff.full {
            return;
        }
        // The mailbox's table was emptied when it was taken; a table is a
        // pointer to its slots, so the swap copies none of them.
        std::mem::swap(&mut handoff.table, &mut self.table);
        handoff.full = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdp::tier0::layout::NAME_MAX;

    fn key(n: u8) -> Key {
        let mut name = [0u8; NAME_MAX];
        name[..3].copy_from_slice(&[1, b'a' + n, 0]);
        Key { generation: 0, shape: 0, qtype: 1, name }
    }

    #[test]
    fn one_in_sample_every_is_sampled_and_handed_off_once_taken() {
        let board = Board::default();
        let mut s = board.sampler();
        let mut sampled = 0;
        for _ in 0..(SAMPLE_EVERY * 100) {
            if s.tick() {
                s.record(&key((sampled % 2) as u8));
                sampled += 1;
            }
        }
        assert_eq!(sampled, 100);
        let mut counts = HashMap::new();
        assert_eq!(board.drain(&mut counts), 0, "nothing handed off yet");
        s.hand_off();
        assert_eq!(board.drain(&mut counts), 100);
        assert_eq!(counts.values().sum::<u64>(), 100);
        assert_eq!(counts.len(), 2);
        // Taken: the next hand-off is of new samples only.
        s.record(&key(5));
        s.hand_off();
        s.record(&key(5));
        s.hand_off(); // still full: this one stays with the worker
        counts.clear();
        assert_eq!(board.drain(&mut counts), 1);
        assert_eq!(counts[&key(5)], 1);
        s.hand_off();
        counts.clear();
        assert_eq!(board.drain(&mut counts), 1);
        assert_eq!(board.drain(&mut counts), 0);
    }

    #[test]
    fn a_busy_mailbox_never_blocks_the_worker() {
        let board = Board::default();
        let mut s = board.sampler();
        s.record(&key(1));
        let mailbox = Arc::clone(&board.mailboxes.lock().unwrap()[0]);
        let held = mailbox.0.lock().unwrap();
        s.hand_off();
        drop(held);
        let mut counts = HashMap::new();
        assert_eq!(board.drain(&mut counts), 0, "the worker kept its samples");
        s.hand_off();
        assert_eq!(board.drain(&mut counts), 1);
    }
}

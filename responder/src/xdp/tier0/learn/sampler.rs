//! Each worker's sampling: a countdown picks one answered query in
//! [`SAMPLE_EVERY`], its key goes into the worker's own [`Table`], and the
//! table is handed to the control thread whole, by swapping it with an
//! empty one in the worker's [`Mailbox`], when the worker publishes its
//! counters (never per packet). The worker is the only writer of its
//! table; the mailbox's lock is taken by it with `try_lock`, so a control
//! thread reading a mailbox never holds a worker up: the worker keeps
//! counting into the table it has and hands it off next time.

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
        Sampler { left: SAMPLE_EVERY, every: SAMPLE_EVERY, own: Some((Table::default(), mailbox)) }
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

/// A worker's end: with learning off, a countdown that never samples.
pub struct Sampler {
    left: u32,
    every: u32,
    own: Option<(Table, Arc<Mailbox>)>,
}

impl Default for Sampler {
    fn default() -> Sampler {
        Sampler::off()
    }
}

impl Sampler {
    pub fn off() -> Sampler {
        Sampler { left: u32::MAX, every: u32::MAX, own: None }
    }

    /// Called for every query: whether to sample this one. One decrement
    /// and one branch but once in [`SAMPLE_EVERY`].
    #[inline(always)]
    pub fn tick(&mut self) -> bool {
        self.left -= 1;
        if self.left != 0 {
            return false;
        }
        self.ran_out()
    }

    #[cold]
    fn ran_out(&mut self) -> bool {
        self.left = self.every;
        self.own.is_some()
    }

    /// The sampled query's key, if it got an answer the program could give.
    #[cold]
    pub fn record(&mut self, key: &Key) {
        if let Some((table, _)) = &mut self.own {
            table.record(key);
        }
    }

    /// Hands the samples to the control thread if it took the last ones
    /// (and its lock is free); otherwise they stay and more join them.
    pub fn hand_off(&mut self) {
        let Some((table, mailbox)) = &mut self.own else { return };
        if table.samples() == 0 {
            return;
        }
        let Ok(mut handoff) = mailbox.0.try_lock() else { return };
        if handoff.full {
            return;
        }
        // The mailbox's table was emptied when it was taken; a table is a
        // pointer to its slots, so the swap copies none of them.
        std::mem::swap(&mut handoff.table, table);
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
    fn off_never_samples() {
        let mut s = Sampler::off();
        assert!(!(0..1_000_000).any(|_| s.tick()));
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

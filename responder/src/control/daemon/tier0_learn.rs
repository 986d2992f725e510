//! `serve --xdp-answers …top=N`: what tier 0 holds, the zone's own
//! answers and the learned ones together, and the thread that learns.
//!
//! Every `interval` the thread empties the workers' mailboxes
//! (`xdp::tier0::learn::Board`), lets the [`Learner`] choose, compiles each
//! newcomer's answer with the same `tier0::compile::entry` the zone's own
//! use, and when the choice changed publishes the whole set as one new
//! generation. A reload recompiles the zone's entries before the new
//! engine is served and the learned ones right after, under the same lock
//! as the thread, then publishes: the learned keys survive a reload, their
//! answers are the new zones'.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::engine::live::SharedEngine;
use crate::engine::Engine;
use crate::xdp::tier0::layout::{Key, Shape, MAX_ENTRIES};
use crate::xdp::tier0::learn::{Board, Learner};
use crate::xdp::tier0::{self, Compiled, Entry, Tier0Maps};

/// What tier 0 holds.
pub struct Set {
    maps: Arc<Mutex<Tier0Maps>>,
    /// The zone's own (`--xdp-answers apex…`), from the engine served.
    fixed: Compiled,
    fixed_keys: HashSet<Key>,
    /// `None` without top=N.
    learner: Option<Learner>,
    /// The answers of the keys the learner holds.
    learned: HashMap<Key, Entry>,
    /// The number of learned answers published, for `ctl stats`.
    gauge: Arc<AtomicU64>,
    /// The last publish failed (and turned tier 0 off): try again at the
    /// next interval even if the choice stays the same.
    failed: bool,
}

impl Set {
    pub fn new(maps: Arc<Mutex<Tier0Maps>>, top: u32, gauge: Arc<AtomicU64>) -> Set {
        Set {
            maps,
            fixed: Compiled::default(),
            fixed_keys: HashSet::new(),
            learner: (top > 0).then(|| Learner::new(top as usize)),
            learned: HashMap::new(),
            gauge,
            failed: false,
        }
    }

    /// Serves `fixed` (compiled from `engine`) and the learned keys'
    /// answers from `engine`. The number of answers published.
    pub fn replace(&mut self, fixed: Compiled, engine: &Engine) -> Result<usize, String> {
        self.fixed_keys = fixed.entries.iter().map(|e| e.key).collect();
        self.fixed = fixed;
        if let Some(learner) = &mut self.learner {
            learner.reloaded();
            self.learned.clear();
            let room = room(&self.fixed);
            for key in learner.keys() {
                match compile(engine, &key).filter(|_| self.learned.len() < room && !self.fixed_keys.contains(&key)) {
                    Some(entry) => {
                        self.learned.insert(key, entry);
                    }
                    None => learner.forget(&key),
                }
            }
        }
        self.publish()
    }

    /// One interval's samples; publishes when the keys held changed.
    pub fn learn(&mut self, counts: &HashMap<Key, u64>, engine: &Engine) {
        let Some(learner) = &mut self.learner else { return };
        let room = room(&self.fixed);
        let (fixed_keys, learned) = (&self.fixed_keys, &mut self.learned);
        let mut fresh: Vec<Entry> = Vec::new();
        let changed = learner.refresh(counts, |key| {
            if fixed_keys.contains(key) || learned.len() + fresh.len() >= room {
                return false;
            }
            match compile(engine, key) {
                Some(entry) => {
                    fresh.push(entry);
                    true
                }
                None => false,
            }
        });
        if !changed && !self.failed {
            return;
        }
        let held: HashSet<Key> = learner.keys().into_iter().collect();
        learned.retain(|key, _| held.contains(key));
        for entry in fresh.into_iter().filter(|e| held.contains(&e.key)) {
            learned.insert(entry.key, entry);
        }
        let _ = self.publish();
    }

    fn publish(&mut self) -> Result<usize, String> {
        let mut learned: Vec<&Entry> = self.learned.values().collect();
        learned.sort_by_key(|e| (e.key.name, e.key.qtype, e.key.shape));
        let entries: Vec<Entry> = self.fixed.entries.iter().chain(learned).cloned().collect();
        let published = super::tier0::commit(&self.maps, &entries, self.fixed.skipped, self.learned.len());
        self.failed = published.is_err();
        let learned = if self.failed { 0 } else { self.learned.len() as u64 };
        self.gauge.store(learned, Ordering::Relaxed);
        published
    }
}

/// Learned answers one generation still has room for beside `fixed`.
fn room(fixed: &Compiled) -> usize {
    (MAX_ENTRIES / 2) as usize - fixed.entries.len().min((MAX_ENTRIES / 2) as usize)
}

fn compile(engine: &Engine, key: &Key) -> Option<Entry> {
    let shape = Shape::ALL.into_iter().find(|&s| s as u8 == key.shape)?;
    let len = name_len(&key.name)?;
    tier0::compile::entry(engine, &key.name[..len], key.qtype, shape)
}

/// The wire length of a zero-padded name, `None` if it is not one.
fn name_len(name: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = usize::from(*name.get(at)?);
        at += 1 + len;
        if len == 0 {
            return Some(at);
        }
    }
}

/// Starts the learning thread; it ends when `set` is dropped.
pub fn start(set: Weak<Mutex<Set>>, board: Arc<Board>, engine: SharedEngine, interval: Duration) {
    let spawned = std::thread::Builder::new().name("tier0-learn".into()).spawn(move || {
        let mut counts = HashMap::new();
        loop {
            std::thread::sleep(interval);
            let Some(set) = set.upgrade() else { return };
            counts.clear();
            board.drain(&mut counts);
            let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
            // Loaded under the lock a reload's publish also takes: an engine
            // swapped in before is either this one or republished after.
            set.learn(&counts, &engine.load());
        }
    });
    if let Err(e) = spawned {
        tracing::error!("XDP answers (tier 0): cannot start learning: {e}; only the zone's own answers are given");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{engine_for, EXAMPLE};
    use crate::engine::Options;
    use crate::xdp::tier0::compile::canonical_query;
    use crate::xdp::tier0::learn::key;

    /// A sampled query's key compiles to the entry the zone's selection
    /// would compile for it; what tier 0 cannot give has none.
    #[test]
    fn a_sampled_key_compiles_to_the_engines_entry() {
        let engine = engine_for(&[EXAMPLE], Options::default());
        let www = b"\x03www\x07example\x03com\x00";
        for shape in Shape::ALL {
            let mut query = canonical_query(b"\x03WWW\x07example\x03com\x00", 1, shape, 1232);
            query[0] = 0x42;
            let key = key::of_message(&query).expect("a tier-0 query");
            let entry = compile(&engine, &key).expect("www A is an answer tier 0 gives");
            assert_eq!(Some(entry), tier0::compile::entry(&engine, www, 1, shape));
        }
        let any = key::of_message(&canonical_query(www, 255, Shape::Edns, 1232)).unwrap();
        assert_eq!(compile(&engine, &any), None, "ANY is left to the workers");
    }

    #[test]
    fn name_len_reads_a_padded_wire_name() {
        let mut name = [0u8; 64];
        name[..13].copy_from_slice(b"\x07example\x03com\x00");
        assert_eq!(name_len(&name), Some(13));
        assert_eq!(name_len(&[0u8; 64]), Some(1));
        assert_eq!(name_len(&[63u8; 64]), None);
    }
}

//! The program's tier-0 maps from user space: publish a set of entries as a
//! new generation without ever showing a mix of two.
//!
//! Keys carry a generation (1 or 2) and `t0_state` names the one served.
//! A publish writes the entries under the generation not served, flips
//! `t0_state` with one array store, then deletes the old generation. A
//! program run reads `t0_state` once, so every answer it gives comes from
//! one generation; the map is not preallocated, so an element deleted
//! under a running program is freed only after an RCU grace period.
//!
//! The map is keyed by the name's hash ([`MapKey`]): two entries of one
//! generation whose keys agree (a hash collision) cannot both be in it, so
//! the later one is left to the workers, counted in [`Published::collisions`].

use std::collections::HashSet;

use aya::maps::{Array, HashMap, MapData};
use aya::Ebpf;

use super::compile::Entry;
use super::layout::{Answer, MapKey, MAX_ENTRIES};
use crate::xdp::program::XdpProgramError;

pub struct Tier0Maps {
    answers: HashMap<MapData, MapKey, Answer>,
    state: Array<MapData, u32>,
    /// The generation `t0_state` names (0: none yet).
    served: u8,
    /// Its keys, to delete when the next one is served.
    keys: Vec<MapKey>,
}

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub generation: u8,
    pub entries: usize,
    /// Entries left out: a key of theirs equals an earlier entry's (a hash collision).
    pub collisions: usize,
}

fn map_error(action: &'static str) -> impl FnOnce(aya::maps::MapError) -> XdpProgramError {
    move |source| XdpProgramError::Map { action, source }
}

impl Tier0Maps {
    /// Takes the maps out of a loaded program object.
    pub(crate) fn take(ebpf: &mut Ebpf) -> Result<Tier0Maps, XdpProgramError> {
        let mismatch = |detail: String| XdpProgramError::ObjectMismatch { detail };
        let answers = ebpf.take_map("t0_answers").ok_or_else(|| mismatch("no map `t0_answers`".into()))?;
        let answers: HashMap<MapData, MapKey, Answer> =
            HashMap::try_from(answers).map_err(|e| mismatch(format!("map `t0_answers`: {e}")))?;
        let state = ebpf.take_map("t0_state").ok_or_else(|| mismatch("no map `t0_state`".into()))?;
        let state: Array<MapData, u32> =
            Array::try_from(state).map_err(|e| mismatch(format!("map `t0_state`: {e}")))?;
        Ok(Tier0Maps { answers, state, served: 0, keys: Vec::new() })
    }

    /// The generation served now, 0 before the first publish.
    pub fn generation(&self) -> u8 {
        self.served
    }

    /// Serves `entries` from the next packet on, in place of what was served.
    /// On error the generation served before stays served, whole.
    pub fn publish(&mut self, entries: &[Entry]) -> Result<Published, XdpProgramError> {
        if entries.len() > (MAX_ENTRIES / 2) as usize {
            return Err(XdpProgramError::InvalidConfig {
                reason: format!("{} tier-0 answers: at most {} per generation", entries.len(), MAX_ENTRIES / 2),
            });
        }
        let next = if self.served == 1 { 2 } else { 1 };
        let mut keys = Vec::with_capacity(entries.len());
        let mut taken = HashSet::with_capacity(entries.len());
        for entry in entries {
            let key = MapKey { generation: next, ..entry.key.map_key() };
            if !taken.insert(key) {
                continue;
            }
            if let Err(e) = self.answers.insert(key, entry.answer, 0) {
                self.delete(&keys);
                return Err(map_error("filling the tier-0 answers")(e));
            }
            keys.push(key);
        }
        if let Err(e) = self.state.set(0, u32::from(next), 0) {
            self.delete(&keys);
            return Err(map_error("serving a tier-0 generation")(e));
        }
        let published = keys.len();
        let old = std::mem::replace(&mut self.keys, keys);
        self.served = next;
        self.delete(&old);
        Ok(Published { generation: next, entries: published, collisions: entries.len() - published })
    }

    /// Serves nothing from tier 0 (the entries are deleted).
    pub fn clear(&mut self) -> Result<(), XdpProgramError> {
        self.state.set(0, 0, 0).map_err(map_error("turning tier 0 off"))?;
        let old = std::mem::take(&mut self.keys);
        self.delete(&old);
        self.served = 0;
        Ok(())
    }

    fn delete(&mut self, keys: &[MapKey]) {
        for key in keys {
            // A key already gone is gone: nothing else deletes from this map.
            let _ = self.answers.remove(key);
        }
    }
}

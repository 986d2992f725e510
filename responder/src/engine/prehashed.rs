//! NSEC3 hashes taken ahead by the batch prefetcher (`batch`) for the
//! answers that need them (`denial`). A DO=1 NXDOMAIN from an NSEC3 zone
//! hashes its next closer name (one SHA-1); the prefetcher needs that hash
//! to request the chain's lines, so it computes it there, where it
//! overlaps the batch's cache misses, and the answer finds it here instead
//! of computing it again. A hash is found by its whole input (name, salt,
//! iterations), so a hint can never give a wrong one: a table reloaded in
//! between, a frame that was no query, an input too long to keep, and the
//! answer hashes the name itself. The chain entry the prefetcher found for
//! the hash is kept with the table and zone it searched: an answer from
//! that same table and zone takes it as its search's result (the search
//! would find it again), any other answer checks it first.

use super::batch::MAX_BATCH;
use crate::table::nsec3_hash::HASH_LEN;
use std::cell::Cell;

/// Bytes kept for the inputs (name, then salt): a batch of 64 names of
/// 24 bytes with an 8-byte salt; a batch of longer ones keeps fewer. (The
/// DNAME chase builds a query of its own, with an empty one of these.)
const INPUTS_LEN: usize = 2048;

pub struct Prehashed {
    inputs: [u8; INPUTS_LEN],
    used: usize,
    entries: [Entry; MAX_BATCH],
    len: usize,
    /// Where the next search starts: the answers come in the order the
    /// batch was prefetched, so the one sought is nearly always this one.
    next: Cell<usize>,
    /// The table ([`crate::table::Table::id`]) the entries were searched
    /// in, 0 (no table's) for hints given without one.
    table: u64,
}

#[derive(Clone, Copy, Default)]
struct Entry {
    at: u16,
    name_len: u8,
    salt_len: u8,
    iterations: u16,
    hash: [u8; HASH_LEN],
    /// The chain entry the prefetcher found for the hash, `u32::MAX`
    /// until it searched, and the zone whose chain it searched.
    entry: u32,
    zone: u32,
}

/// The table ([`crate::table::Table::id`]) and zone whose chain an answer
/// searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Searched {
    pub table: u64,
    pub zone: u32,
}

/// A hash taken ahead, and the chain entry found for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashed {
    pub hash: [u8; HASH_LEN],
    /// A hint (`table::denial::Chain::proof_of_hash_hinted` checks it),
    /// `u32::MAX` for none.
    pub entry: u32,
    /// `entry` was found by a search of the chain the answer searches
    /// (the same table's, the same zone's): it is that search's result,
    /// not only a hint.
    pub searched: bool,
}

impl Default for Prehashed {
    fn default() -> Prehashed {
        Prehashed::new()
    }
}

impl Prehashed {
    pub fn new() -> Prehashed {
        Prehashed {
            inputs: [0; INPUTS_LEN],
            used: 0,
            entries: [Entry::default(); MAX_BATCH],
            len: 0,
            next: Cell::new(0),
            table: 0,
        }
    }

    /// Forgets the previous batch's hashes; the next batch's entries will
    /// be searched in `table` (its id, 0 for none).
    pub fn clear(&mut self, table: u64) {
        self.used = 0;
        self.len = 0;
        self.next.set(0);
        self.table = table;
    }

    /// Keeps `hash`, the NSEC3 hash of `name` with `salt` and `iterations`,
    /// while there is room; returns where, for [`Prehashed::found`].
    pub fn add(&mut self, name: &[u8], salt: &[u8], iterations: u16, hash: [u8; HASH_LEN]) -> Option<usize> {
        let end = self.used + name.len() + salt.len();
        let (Ok(name_len), Ok(salt_len)) = (u8::try_from(name.len()), u8::try_from(salt.len())) else { return None };
        if self.len == MAX_BATCH || end > INPUTS_LEN {
            return None;
        }
        let (n, s) = self.inputs[self.used..end].split_at_mut(name.len());
        n.copy_from_slice(name);
        s.copy_from_slice(salt);
        self.entries[self.len] =
            Entry { at: self.used as u16, name_len, salt_len, iterations, hash, entry: u32::MAX, zone: 0 };
        self.len += 1;
        self.used = end;
        Some(self.len - 1)
    }

    /// Notes the chain entry found for the hash kept at `at` by a search
    /// of zone `zone`'s chain (in the table given to [`Prehashed::clear`]).
    pub fn found(&mut self, at: usize, entry: u32, zone: u32) {
        if let Some(e) = self.entries[..self.len].get_mut(at) {
            (e.entry, e.zone) = (entry, zone);
        }
    }

    /// The hash of `name` with `salt` and `iterations`, if the prefetcher
    /// took it, for an answer that searches the chain `to`. The test for
    /// none left in line: an answer outside a batch (none at all) then
    /// makes no call.
    #[inline(always)]
    pub fn find(&self, name: &[u8], salt: &[u8], iterations: u16, to: Searched) -> Option<Hashed> {
        if self.next.get() >= self.len {
            return None;
        }
        self.find_left(name, salt, iterations, to)
    }

    #[inline(never)]
    fn find_left(&self, name: &[u8], salt: &[u8], iterations: u16, to: Searched) -> Option<Hashed> {
        let from = self.next.get();
        for (i, e) in self.entries.get(from..self.len)?.iter().enumerate() {
            if e.name_len as usize != name.len() {
                continue;
            }
            let at = e.at as usize;
            let Some((n, s)) =
                self.inputs.get(at..at + name.len() + e.salt_len as usize).map(|i| i.split_at(name.len()))
            else {
                continue;
            };
            if n != name {
                continue;
            }
            // Searched in the answer's own chain (the same table's, the
            // same zone's), the hash was taken with that chain's salt and
            // iterations: they need no comparison.
            let searched = self.table != 0 && e.entry != u32::MAX && to == Searched { table: self.table, zone: e.zone };
            if searched || (e.iterations == iterations && s == salt) {
                self.next.set(from + i + 1);
                return Some(Hashed { hash: e.hash, entry: e.entry, searched });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: Searched = Searched { table: 5, zone: 2 };

    #[test]
    fn a_hash_is_found_by_its_whole_input_in_batch_order() {
        let mut p = Prehashed::new();
        p.add(b"\x01a\x00", b"\x0a", 0, [1; HASH_LEN]);
        p.add(b"\x01b\x00", b"\x0a", 0, [2; HASH_LEN]);
        p.add(b"\x01c\x00", b"\x0a", 0, [3; HASH_LEN]);
        assert_eq!(p.find(b"\x01b\x00", b"\x0b", 0, TO), None, "another salt");
        assert_eq!(p.find(b"\x01b\x00", b"\x0a", 1, TO), None, "other iterations");
        assert_eq!(p.find(b"\x01b\x00", b"", 0, TO), None, "no salt");
        assert_eq!(p.find(b"\x01b", b"\x00\x0a", 0, TO), None, "the same bytes split elsewhere");
        p.found(1, 7, TO.zone);
        p.found(MAX_BATCH, 9, TO.zone); // no such entry: ignored
        assert_eq!(
            p.find(b"\x01b\x00", b"\x0a", 0, TO),
            Some(Hashed { hash: [2; HASH_LEN], entry: 7, searched: false }),
            "no table given: a hint only"
        );
        // Answers follow the batch's order: what came before is not sought again.
        assert_eq!(p.find(b"\x01a\x00", b"\x0a", 0, TO), None);
        p.clear(0);
        assert_eq!(p.find(b"\x01c\x00", b"\x0a", 0, TO), None, "cleared");
    }

    #[test]
    fn an_entry_is_a_search_result_only_for_the_chain_searched() {
        let mut p = Prehashed::new();
        p.clear(TO.table);
        for (i, name) in [b"\x01a\x00", b"\x01b\x00", b"\x01c\x00", b"\x01d\x00"].iter().enumerate() {
            let at = p.add(*name, b"", 0, [i as u8; HASH_LEN]).unwrap();
            p.found(at, i as u32, TO.zone);
        }
        let searched = |p: &Prehashed, name: &[u8], to| p.find(name, b"", 0, to).map(|h| (h.entry, h.searched));
        assert_eq!(searched(&p, b"\x01a\x00", TO), Some((0, true)));
        assert_eq!(searched(&p, b"\x01b\x00", Searched { table: 6, ..TO }), Some((1, false)), "another table");
        assert_eq!(searched(&p, b"\x01c\x00", Searched { zone: 3, ..TO }), Some((2, false)), "another zone");
        p.clear(TO.table);
        let at = p.add(b"\x01a\x00", b"", 0, [0; HASH_LEN]).unwrap();
        let zone_0 = Searched { zone: 0, ..TO };
        assert_eq!(searched(&p, b"\x01a\x00", zone_0), Some((u32::MAX, false)), "not searched yet");
        p.found(at, 4, TO.zone);
        p.clear(0);
        let at = p.add(b"\x01a\x00", b"", 0, [0; HASH_LEN]).unwrap();
        p.found(at, 4, TO.zone);
        assert_eq!(searched(&p, b"\x01a\x00", TO), Some((4, false)), "no table given");
    }

    #[test]
    fn inputs_beyond_the_room_are_not_kept() {
        let mut p = Prehashed::new();
        let long = [7u8; 255];
        for i in 0..MAX_BATCH + 2 {
            p.add(&long[..200], &[i as u8], 0, [i as u8; HASH_LEN]);
        }
        let kept = INPUTS_LEN / 201;
        assert_eq!(p.len, kept);
        assert_eq!(p.find(&long[..200], &[kept as u8 - 1], 0, TO).map(|h| h.hash), Some([kept as u8 - 1; HASH_LEN]));
        p.clear(0);
        p.add(&[1; 256], b"", 0, [0; HASH_LEN]);
        assert_eq!(p.len, 0, "no name is that long");
        for i in 0..MAX_BATCH + 2 {
            p.add(b"\x00", &[i as u8], 0, [0; HASH_LEN]);
        }
        assert_eq!(p.len, MAX_BATCH);
    }
}

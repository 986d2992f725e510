//! NSEC3 hashes taken ahead by the batch prefetcher (`batch`) for the
//! answers that need them (`denial`). A DO=1 NXDOMAIN from an NSEC3 zone
//! hashes its next closer name (one SHA-1); the prefetcher needs that hash
//! to request the chain's lines, so it computes it there, where it
//! overlaps the batch's cache misses, and the answer finds it here instead
//! of computing it again. A hash is found by its whole input (name, salt,
//! iterations), so a hint can never give a wrong one: a table reloaded in
//! between, a frame that was no query, an input too long to keep, and the
//! answer hashes the name itself.

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
}

#[derive(Clone, Copy, Default)]
struct Entry {
    at: u16,
    name_len: u8,
    salt_len: u8,
    iterations: u16,
    hash: [u8; HASH_LEN],
    /// The chain entry the prefetcher found for the hash, `u32::MAX`
    /// until it searched.
    entry: u32,
}

/// A hash taken ahead, and the chain entry found for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashed {
    pub hash: [u8; HASH_LEN],
    /// A hint (`table::denial::Chain::proof_of_hash_hinted` checks it),
    /// `u32::MAX` for none.
    pub entry: u32,
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
        }
    }

    /// Forgets the previous batch's hashes.
    pub fn clear(&mut self) {
        self.used = 0;
        self.len = 0;
        self.next.set(0);
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
        self.entries[self.len] = Entry { at: self.used as u16, name_len, salt_len, iterations, hash, entry: u32::MAX };
        self.len += 1;
        self.used = end;
        Some(self.len - 1)
    }

    /// Notes the chain entry found for the hash kept at `at`.
    pub fn found(&mut self, at: usize, entry: u32) {
        if let Some(e) = self.entries[..self.len].get_mut(at) {
            e.entry = entry;
        }
    }

    /// The hash of `name` with `salt` and `iterations`, if the prefetcher
    /// took it.
    pub fn find(&self, name: &[u8], salt: &[u8], iterations: u16) -> Option<Hashed> {
        let from = self.next.get();
        for (i, e) in self.entries.get(from..self.len)?.iter().enumerate() {
            if e.name_len as usize != name.len() || e.salt_len as usize != salt.len() || e.iterations != iterations {
                continue;
            }
            let at = e.at as usize;
            let Some((n, s)) = self.inputs.get(at..at + name.len() + salt.len()).map(|i| i.split_at(name.len())) else {
                continue;
            };
            if n == name && s == salt {
                self.next.set(from + i + 1);
                return Some(Hashed { hash: e.hash, entry: e.entry });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_found_by_its_whole_input_in_batch_order() {
        let mut p = Prehashed::new();
        p.add(b"\x01a\x00", b"\x0a", 0, [1; HASH_LEN]);
        p.add(b"\x01b\x00", b"\x0a", 0, [2; HASH_LEN]);
        p.add(b"\x01c\x00", b"\x0a", 0, [3; HASH_LEN]);
        assert_eq!(p.find(b"\x01b\x00", b"\x0b", 0), None, "another salt");
        assert_eq!(p.find(b"\x01b\x00", b"\x0a", 1), None, "other iterations");
        assert_eq!(p.find(b"\x01b\x00", b"", 0), None, "no salt");
        assert_eq!(p.find(b"\x01b", b"\x00\x0a", 0), None, "the same bytes split elsewhere");
        p.found(1, 7);
        p.found(MAX_BATCH, 9); // no such entry: ignored
        assert_eq!(p.find(b"\x01b\x00", b"\x0a", 0), Some(Hashed { hash: [2; HASH_LEN], entry: 7 }));
        // Answers follow the batch's order: what came before is not sought again.
        assert_eq!(p.find(b"\x01a\x00", b"\x0a", 0), None);
        assert_eq!(p.find(b"\x01c\x00", b"\x0a", 0), Some(Hashed { hash: [3; HASH_LEN], entry: u32::MAX }));
        p.clear();
        assert_eq!(p.find(b"\x01c\x00", b"\x0a", 0), None, "cleared");
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
        assert_eq!(p.find(&long[..200], &[kept as u8 - 1], 0).map(|h| h.hash), Some([kept as u8 - 1; HASH_LEN]));
        p.clear();
        p.add(&[1; 256], b"", 0, [0; HASH_LEN]);
        assert_eq!(p.len, 0, "no name is that long");
        for i in 0..MAX_BATCH + 2 {
            p.add(b"\x00", &[i as u8], 0, [0; HASH_LEN]);
        }
        assert_eq!(p.len, MAX_BATCH);
    }
}

//! The compiler's name → node map, holding no copy of the names: a map from
//! the hash of a lowercase name to the last node with that hash, and per
//! node the one before it. Keys that were owned lowercase copies cost a
//! million-name compile two heap blocks per name.

use std::hash::BuildHasher;

use super::fasthash::FastMap;

const NONE: u32 = u32::MAX;

#[derive(Default)]
pub struct NameIndex {
    heads: FastMap<u64, u32>,
    /// Per node, the previous node whose name has the same hash.
    next: Vec<u32>,
}

fn hash(lower: &[u8]) -> u64 {
    FastMap::<u64, u32>::default().hasher().hash_one(lower)
}

impl NameIndex {
    /// The node named `lower` (lowercase wire form); `wire_of` gives a node's
    /// name in any case.
    pub fn get<'a>(&self, lower: &[u8], wire_of: impl Fn(usize) -> &'a [u8]) -> Option<usize> {
        let mut at = *self.heads.get(&hash(lower))?;
        while at != NONE {
            if wire_of(at as usize).eq_ignore_ascii_case(lower) {
                return Some(at as usize);
            }
            at = self.next[at as usize];
        }
        None
    }

    /// Adds node number `len()` under `lower`, which no node has yet.
    pub fn push(&mut self, lower: &[u8]) {
        let i = u32::try_from(self.next.len()).expect("fewer than 4 G nodes");
        let previous = self.heads.insert(hash(lower), i).unwrap_or(NONE);
        self.next.push(previous);
    }

    pub fn clear(&mut self) {
        self.heads.clear();
        self.next.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_name_in_any_case_and_no_other() {
        let names: Vec<&[u8]> = vec![b"\x03www\x07example\x00", b"\x03WwW\x07exAmple\x00", b"\x01a\x00", b"\x00"];
        let mut index = NameIndex::default();
        let mut kept: Vec<&[u8]> = Vec::new();
        for n in &names {
            let lower = n.to_ascii_lowercase();
            if index.get(&lower, |i| kept[i]).is_none() {
                index.push(&lower);
                kept.push(n);
            }
        }
        assert_eq!(kept.len(), 3, "the second www is the first in another case");
        assert_eq!(index.get(b"\x03www\x07example\x00", |i| kept[i]), Some(0));
        assert_eq!(index.get(b"\x01a\x00", |i| kept[i]), Some(1));
        assert_eq!(index.get(b"\x00", |i| kept[i]), Some(2));
        assert_eq!(index.get(b"\x01b\x00", |i| kept[i]), None);
    }

    #[test]
    fn names_sharing_a_hash_are_told_apart() {
        // A one-entry map forced by hand: two names chained under one head.
        let mut index = NameIndex::default();
        let names: [&[u8]; 2] = [b"\x01a\x00", b"\x01b\x00"];
        index.heads.insert(hash(names[0]), 1);
        index.heads.insert(hash(names[1]), 1);
        index.next = vec![NONE, 0];
        assert_eq!(index.get(names[0], |i| names[i]), Some(0));
        assert_eq!(index.get(names[1], |i| names[i]), Some(1));
        assert_eq!(index.get(b"\x01c\x00", |i| names[i]), None);
    }
}

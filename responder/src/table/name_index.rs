//! The compiler's name → node map, holding no copy of the names: an
//! open-addressed array of (node, 32 bits of the lowercase name's hash),
//! compared against the node's own name. 8 bytes a slot, at most three
//! quarters full, as the table's own buckets (at most half full, 1M
//! names held 4 M slots, 32 bytes a name at the compile's peak): a
//! `HashMap<u64, u32>` of heads with a chain per node took about 40 bytes
//! a name, and owned lowercase keys two heap blocks a name. A probe past
//! another name's slot costs a compare of 32-bit tags, not of names.

use std::hash::BuildHasher;

use super::fasthash::FastMap;

const NONE: u32 = u32::MAX;

#[derive(Default)]
pub struct NameIndex {
    /// (node, hash) pairs; `NONE` marks an empty slot. The length is zero
    /// or a power of two, the slot a hash goes to its low bits.
    slots: Vec<(u32, u32)>,
    len: usize,
}

fn hash(lower: &[u8]) -> u32 {
    let h = FastMap::<u64, u32>::default().hasher().hash_one(lower);
    (h ^ (h >> 32)) as u32
}

impl NameIndex {
    /// The node named `lower` (lowercase wire form); `wire_of` gives a node's
    /// name in any case.
    pub fn get<'a>(&self, lower: &[u8], wire_of: impl Fn(usize) -> &'a [u8]) -> Option<usize> {
        self.get_hashed(lower, hash(lower), wire_of)
    }

    fn get_hashed<'a>(&self, lower: &[u8], h: u32, wire_of: impl Fn(usize) -> &'a [u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = h as usize & mask;
        loop {
            let (node, tag) = self.slots[at];
            if node == NONE {
                return None;
            }
            if tag == h && wire_of(node as usize).eq_ignore_ascii_case(lower) {
                return Some(node as usize);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds node number `len()` under `lower`, which no node has yet.
    pub fn push(&mut self, lower: &[u8]) {
        self.push_hashed(hash(lower));
    }

    fn push_hashed(&mut self, h: u32) {
        let node = u32::try_from(self.len).ok().filter(|&n| n != NONE).expect("fewer than 4 G nodes");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(node, h);
        self.len += 1;
    }

    fn place(&mut self, node: u32, h: u32) {
        let mask = self.slots.len() - 1;
        let mut at = h as usize & mask;
        while self.slots[at].0 != NONE {
            at = (at + 1) & mask;
        }
        self.slots[at] = (node, h);
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![(NONE, 0); size]);
        for (node, h) in old {
            if node != NONE {
                self.place(node, h);
            }
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
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
    fn finds_every_name_across_growth_and_after_clear() {
        let names: Vec<Vec<u8>> = (0..5000).map(|i| format!("\x05h{i:04}\x00").into_bytes()).collect();
        let mut index = NameIndex::default();
        for n in &names {
            index.push(n);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(index.get(n, |j| &names[j]), Some(i));
        }
        assert_eq!(index.get(b"\x05h9999\x00", |j| &names[j]), None);
        index.clear();
        assert_eq!(index.get(&names[0], |j| &names[j]), None);
    }

    #[test]
    fn names_sharing_a_hash_are_told_apart() {
        let mut index = NameIndex::default();
        let names: [&[u8]; 2] = [b"\x01a\x00", b"\x01b\x00"];
        index.push_hashed(7);
        index.push_hashed(7);
        assert_eq!(index.get_hashed(names[0], 7, |i| names[i]), Some(0));
        assert_eq!(index.get_hashed(names[1], 7, |i| names[i]), Some(1));
        assert_eq!(index.get_hashed(b"\x01c\x00", 7, |i| names[i]), None);
    }
}

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

    /// Keeps the nodes `keep` marks (indexed by node number), numbered
    /// anew in their order, as pushing the kept names again would, but
    /// from the hashes the slots hold: no name is lowered or hashed again
    /// (at a million signed names, the NSEC3 owners' leaving rebuilt an
    /// index of a million names).
    pub fn retain(&mut self, keep: &[bool]) {
        let mut kept = 0u32;
        let renumbered: Vec<u32> = keep
            .iter()
            .map(|&k| match k {
                true => {
                    kept += 1;
                    kept - 1
                }
                false => NONE,
            })
            .collect();
        let old = std::mem::take(&mut self.slots);
        self.len = kept as usize;
        if self.len == 0 {
            return;
        }
        // The size pushing them one by one would have grown to.
        let mut size = 16;
        while self.len * 4 > size * 3 {
            size *= 2;
        }
        self.slots = vec![(NONE, 0); size];
        for (node, h) in old {
            if let Some(&n) = renumbered.get(node as usize).filter(|&&n| n != NONE) {
                self.place(n, h);
            }
        }
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
    fn finds_every_name_across_growth() {
        let names: Vec<Vec<u8>> = (0..5000).map(|i| format!("\x05h{i:04}\x00").into_bytes()).collect();
        let mut index = NameIndex::default();
        for n in &names {
            index.push(n);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(index.get(n, |j| &names[j]), Some(i));
        }
        assert_eq!(index.get(b"\x05h9999\x00", |j| &names[j]), None);
    }

    #[test]
    fn retain_keeps_the_marked_names_numbered_anew() {
        let names: Vec<Vec<u8>> = (0..3000).map(|i| format!("\x05H{i:04}\x00").into_bytes()).collect();
        let mut index = NameIndex::default();
        for n in &names {
            index.push(&n.to_ascii_lowercase());
        }
        let keep: Vec<bool> = (0..names.len()).map(|i| i % 3 != 1).collect();
        index.retain(&keep);
        let kept: Vec<&Vec<u8>> = names.iter().zip(&keep).filter(|(_, k)| **k).map(|(n, _)| n).collect();
        let mut pushed = NameIndex::default();
        for n in &kept {
            pushed.push(&n.to_ascii_lowercase());
        }
        assert_eq!((index.len, index.slots.len()), (pushed.len, pushed.slots.len()));
        for (i, n) in kept.iter().enumerate() {
            assert_eq!(index.get(&n.to_ascii_lowercase(), |j| kept[j]), Some(i));
        }
        for (n, _) in names.iter().zip(&keep).filter(|(_, k)| !**k) {
            assert_eq!(index.get(&n.to_ascii_lowercase(), |j| kept[j]), None);
        }
        // Names pushed after it get the next numbers.
        index.push(b"\x03new\x00");
        let wire_of = |j: usize| if j == kept.len() { &b"\x03NEW\x00"[..] } else { kept[j].as_slice() };
        assert_eq!(index.get(b"\x03new\x00", wire_of), Some(kept.len()));
        index.retain(&vec![false; kept.len() + 1]);
        assert_eq!(index.get(&kept[0].to_ascii_lowercase(), |j| kept[j]), None);
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

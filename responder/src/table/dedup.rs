//! Templates written once: the compiler looks each new template up among
//! those already in the table bytes. The map holds the hash, place and
//! length of each, not a copy of its bytes (a copy per template was about
//! as much memory again as the table).

use std::hash::BuildHasher;

use super::fasthash::FastMap;

/// A template written: where, how long, and 32 bits of its hash (what
/// the table is rehashed from as it grows; a find compares the bytes).
/// 12 bytes a slot: a map from the whole hash to (offset, length), with a
/// second map for templates whose hash an earlier one had, took 16, and
/// at a million names the map is a tenth of the compile's peak (issue 14).
#[derive(Clone, Copy)]
struct Slot {
    off: u32,
    len: u32,
    hash: u32,
}

#[derive(Default)]
pub struct Written {
    slots: hashbrown::HashTable<Slot>,
}

/// The hash a template is filed under. Any function of the bytes does (a
/// find compares the bytes themselves): the placer takes one computed
/// beside the encoding, off the serial path (`prepare::Prepared`).
pub fn hash(bytes: &[u8]) -> u64 {
    FastMap::<u64, u32>::default().hasher().hash_one(bytes)
}

/// The 32 bits of a template's hash that are kept, and the table's hash
/// made of them alone (so that a rehash needs nothing else): spread over
/// 64 bits, as the table takes its bucket from the low bits and its tag
/// from the top ones.
fn short(h: u64) -> u32 {
    (h >> 32) as u32 ^ h as u32
}

fn table_hash(short: u32) -> u64 {
    u64::from(short).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Written {
    /// Where `bytes` already are in `out`, if they were written through
    /// `add`; `h` is their [`hash`] (or whatever `add` was given for them).
    pub fn find(&self, out: &[u8], bytes: &[u8], h: u64) -> Option<u32> {
        let h = short(h);
        let same = |s: &Slot| {
            let (at, len) = (s.off as usize, s.len as usize);
            s.hash == h && len == bytes.len() && out.get(at..at + len) == Some(bytes)
        };
        self.slots.find(table_hash(h), same).map(|s| s.off)
    }

    /// Records that `bytes`, of hash `h`, were written at `off` (and not
    /// found before).
    pub fn add(&mut self, bytes: &[u8], off: u32, h: u64) {
        let len = u32::try_from(bytes.len()).expect("a template is shorter than the table");
        let hash = short(h);
        self.slots.insert_unique(table_hash(hash), Slot { off, len, hash }, |s| table_hash(s.hash));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_written_and_nothing_else() {
        let mut out = Vec::new();
        let mut w = Written::default();
        for t in [&b"abc"[..], b"abcd", b"xy"] {
            assert_eq!(w.find(&out, t, hash(t)), None);
            w.add(t, out.len() as u32, hash(t));
            out.extend_from_slice(t);
        }
        let find = |t: &[u8]| w.find(&out, t, hash(t));
        assert_eq!(find(b"abc"), Some(0));
        assert_eq!(find(b"abcd"), Some(3));
        assert_eq!(find(b"xy"), Some(7));
        // A prefix of what is at an offset is not that template.
        assert_eq!(find(b"ab"), None);
        assert_eq!(find(b"cda"), None);
    }

    #[test]
    fn a_template_sharing_a_hash_is_kept_apart() {
        let out = b"firstsecond".to_vec();
        let mut w = Written::default();
        // Two different templates given the same hash are both found, each
        // by its own bytes.
        w.add(b"first", 0, 7);
        w.add(b"second", 5, 7);
        assert_eq!(w.find(&out, b"first", 7), Some(0));
        assert_eq!(w.find(&out, b"second", 7), Some(5));
        assert_eq!(w.find(&out, b"third", 7), None);
        // Hashes that differ only where `short` folds them together.
        let (a, b) = (1u64 << 32, 1u64);
        assert_eq!(short(a), short(b));
        w.add(b"irst", 1, a);
        assert_eq!(w.find(&out, b"irst", b), Some(1));
    }
}

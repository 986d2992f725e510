//! Templates written once: the compiler looks each new template up among
//! those already in the table bytes. The map holds the hash, place and
//! length of each, not a copy of its bytes (a copy per template was about
//! as much memory again as the table).

use std::hash::BuildHasher;

use super::fasthash::FastMap;

#[derive(Default)]
pub struct Written {
    /// Hash → (offset, length) of the first template with that hash.
    first: FastMap<u64, (u32, u32)>,
    /// Templates whose hash an earlier, different template has: rare.
    collided: FastMap<Vec<u8>, u32>,
}

/// The hash a template is filed under. Any function of the bytes does (a
/// find compares the bytes themselves): the placer takes one computed
/// beside the encoding, off the serial path (`prepare::Prepared`).
pub fn hash(bytes: &[u8]) -> u64 {
    FastMap::<u64, u32>::default().hasher().hash_one(bytes)
}

impl Written {
    /// Where `bytes` already are in `out`, if they were written through
    /// `add`; `h` is their [`hash`] (or whatever `add` was given for them).
    pub fn find(&self, out: &[u8], bytes: &[u8], h: u64) -> Option<u32> {
        let &(off, len) = self.first.get(&h)?;
        let (at, len) = (off as usize, len as usize);
        if len == bytes.len() && out.get(at..at + len) == Some(bytes) {
            return Some(off);
        }
        self.collided.get(bytes).copied()
    }

    /// Records that `bytes`, of hash `h`, were written at `off` (and not
    /// found before).
    pub fn add(&mut self, bytes: &[u8], off: u32, h: u64) {
        let len = u32::try_from(bytes.len()).expect("a template is shorter than the table");
        match self.first.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(bytes.to_vec(), off);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((off, len));
            }
        }
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
        // "second" filed under the hash of "first", as a collision would.
        w.first.insert(hash(b"second"), (0, 6));
        w.add(b"second", 5, hash(b"second"));
        assert_eq!(w.find(&out, b"second", hash(b"second")), Some(5));
        // Two different templates given the same hash are both found.
        w.add(b"first", 0, 7);
        w.add(b"econd", 6, 7);
        assert_eq!(w.find(&out, b"first", 7), Some(0));
        assert_eq!(w.find(&out, b"econd", 7), Some(6));
    }
}

//! The RDATA list of an RRset in the compiler: most RRsets of a big zone
//! hold one record, kept inline instead of in a heap block of its own (a
//! million-name compile held a million such blocks). Reads as a slice.
//! Two and more are boxed, so that the enum is two words, not three: an
//! RRset of one record is the common case, and it is inline in every node.

use std::ops::{Deref, DerefMut};

pub enum Rdatas<'z> {
    One(&'z [u8]),
    /// `None` when empty (no block), else two and more. The `Vec` is
    /// boxed on purpose: one word here, not three, in every RRset.
    #[allow(clippy::box_collection)]
    Many(Option<Box<Vec<&'z [u8]>>>),
}

impl Default for Rdatas<'_> {
    fn default() -> Self {
        Rdatas::Many(None)
    }
}

impl<'z> Rdatas<'z> {
    /// Grows one element at a time up to four (as `super::one_or_many::OneOrMany::push`).
    pub fn push(&mut self, rdata: &'z [u8]) {
        match self {
            Rdatas::Many(Some(v)) if !v.is_empty() => {
                if v.len() < 4 {
                    v.reserve_exact(1);
                }
                v.push(rdata);
            }
            Rdatas::Many(_) => *self = Rdatas::One(rdata),
            Rdatas::One(first) => *self = Rdatas::Many(Some(Box::new(vec![*first, rdata]))),
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&&'z [u8]) -> bool) {
        match self {
            Rdatas::One(first) if !keep(first) => *self = Rdatas::default(),
            Rdatas::One(_) => {}
            Rdatas::Many(v) => {
                if let Some(v) = v {
                    v.retain(keep);
                }
            }
        }
    }

    pub fn truncate(&mut self, len: usize) {
        match self {
            Rdatas::One(_) if len == 0 => *self = Rdatas::default(),
            Rdatas::One(_) => {}
            Rdatas::Many(v) => {
                if let Some(v) = v {
                    v.truncate(len);
                }
            }
        }
    }
}

impl<'z> Deref for Rdatas<'z> {
    type Target = [&'z [u8]];

    fn deref(&self) -> &Self::Target {
        match self {
            Rdatas::One(first) => std::slice::from_ref(first),
            Rdatas::Many(Some(v)) => v,
            Rdatas::Many(None) => &[],
        }
    }
}

impl DerefMut for Rdatas<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Rdatas::One(first) => std::slice::from_mut(first),
            Rdatas::Many(Some(v)) => v,
            Rdatas::Many(None) => &mut [],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_the_slice_pushed_whatever_its_length() {
        let items: [&[u8]; 6] = [b"a", b"bb", b"a", b"ccc", b"d", b"ee"];
        let mut r = Rdatas::default();
        assert!(r.is_empty());
        for n in 1..=items.len() {
            r.push(items[n - 1]);
            assert_eq!(&r[..], &items[..n]);
        }
        r.retain(|x| *x != b"a");
        let want: [&[u8]; 4] = [b"bb", b"ccc", b"d", b"ee"];
        assert_eq!(&r[..], &want[..]);
        r.truncate(1);
        assert_eq!(&r[..], &[&b"bb"[..]]);
    }

    #[test]
    fn one_record_is_inline_and_can_go() {
        let mut r = Rdatas::default();
        r.push(b"x");
        assert!(matches!(r, Rdatas::One(_)));
        r[0] = b"y";
        assert_eq!(&r[..], &[&b"y"[..]]);
        r.retain(|x| *x != b"y");
        assert!(r.is_empty());
        r.push(b"z");
        r.truncate(0);
        assert!(r.is_empty());
        assert_eq!(std::mem::size_of::<Rdatas<'_>>(), std::mem::size_of::<&[u8]>());
    }
}

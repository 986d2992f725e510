//! A compiler node's RRsets: most names of a big zone own one RRset (an
//! address, an alias, a delegation), kept inline in the node instead of in
//! a heap block of its own (a million-name compile held a million such
//! blocks of 64 bytes with malloc's header). Reads as a slice.

use std::ops::{Deref, DerefMut};

pub enum OneOrMany<T> {
    One(T),
    /// Empty or two and more.
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    /// Grows one element at a time up to four: a `Vec`'s first block holds
    /// four, four times the room most nodes need. Past four it grows as
    /// usual.
    pub fn push(&mut self, item: T) {
        match std::mem::take(self) {
            OneOrMany::Many(v) if v.is_empty() => *self = OneOrMany::One(item),
            OneOrMany::One(first) => *self = OneOrMany::Many(vec![first, item]),
            OneOrMany::Many(mut v) => {
                if v.len() < 4 {
                    v.reserve_exact(1);
                }
                v.push(item);
                *self = OneOrMany::Many(v);
            }
        }
    }

    pub fn remove(&mut self, at: usize) -> T {
        match std::mem::take(self) {
            OneOrMany::One(first) if at == 0 => first,
            OneOrMany::One(_) => panic!("removal index {at} out of a slice of one"),
            OneOrMany::Many(mut v) => {
                let item = v.remove(at);
                *self = OneOrMany::Many(v);
                item
            }
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            OneOrMany::One(first) if !keep(first) => *self = OneOrMany::default(),
            OneOrMany::One(_) => {}
            OneOrMany::Many(v) => v.retain(keep),
        }
    }

    pub fn clear(&mut self) {
        *self = OneOrMany::default();
    }
}

impl<T> Deref for OneOrMany<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            OneOrMany::One(first) => std::slice::from_ref(first),
            OneOrMany::Many(v) => v,
        }
    }
}

impl<T> DerefMut for OneOrMany<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            OneOrMany::One(first) => std::slice::from_mut(first),
            OneOrMany::Many(v) => v,
        }
    }
}

impl<'a, T> IntoIterator for &'a OneOrMany<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut OneOrMany<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_the_slice_pushed_whatever_its_length() {
        let mut r = OneOrMany::default();
        assert!(r.is_empty());
        for n in 1..=6 {
            r.push(n);
            assert_eq!(&r[..], &(1..=n).collect::<Vec<_>>()[..]);
        }
        r.retain(|x| x % 2 == 0);
        assert_eq!(&r[..], &[2, 4, 6]);
        assert_eq!(r.remove(1), 4);
        assert_eq!(&r[..], &[2, 6]);
        r.clear();
        assert!(r.is_empty());
    }

    #[test]
    fn one_item_is_inline_and_can_go() {
        let mut r = OneOrMany::default();
        r.push(String::from("x"));
        assert!(matches!(r, OneOrMany::One(_)));
        r[0].push('y');
        assert_eq!(&r[..], &["xy".to_string()]);
        r.retain(|x| x != "xy");
        assert!(r.is_empty());
        r.push("z".into());
        assert_eq!(r.remove(0), "z");
        assert!(r.is_empty());
        r.push("w".into());
        r.sort_by_key(|s| s.len());
        r.clear();
        assert!(r.is_empty());
    }
}

//! Bytes kept inline when short, in a heap block of exactly their size
//! otherwise: a name's wire form ([`super::Name`]) and a record's RDATA
//! ([`super::Record::rdata`]). A big zone holds a name and an RDATA per
//! record, and most are short (`www.example.com.` is 17 octets, an IPv6
//! address 16): a heap block for each was a third of a million-name
//! compile's parsed records, and every copy of a name (parents, lowercase
//! keys, empty non-terminals) another allocation.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// Longest kept inline: the most that fits beside the variant's tag and
/// the length in the 24 bytes the heap variant takes anyway.
const INLINE: usize = 22;

#[derive(Clone)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

// Not larger than the `Vec<u8>` it replaced: a record holds two, a
// compiler node one.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<SmallBytes>() == 24);

impl SmallBytes {
    pub fn new(bytes: &[u8]) -> SmallBytes {
        if bytes.len() <= INLINE {
            let mut inline = [0u8; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            SmallBytes(Repr::Inline { len: bytes.len() as u8, bytes: inline })
        } else {
            SmallBytes(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        self
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::new(&[])
    }
}

impl Deref for SmallBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(bytes) => bytes,
        }
    }
}

impl DerefMut for SmallBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, bytes } => &mut bytes[..*len as usize],
            Repr::Heap(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> Self {
        SmallBytes::new(bytes)
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE {
            SmallBytes::new(&bytes)
        } else {
            SmallBytes(Repr::Heap(bytes.into_boxed_slice()))
        }
    }
}

impl<const N: usize> From<[u8; N]> for SmallBytes {
    fn from(bytes: [u8; N]) -> Self {
        SmallBytes::new(&bytes)
    }
}

impl From<SmallBytes> for Vec<u8> {
    fn from(bytes: SmallBytes) -> Self {
        bytes.to_vec()
    }
}

/// Compared, hashed and ordered as the bytes they hold, as `Vec<u8>` was.
impl PartialEq for SmallBytes {
    fn eq(&self, other: &SmallBytes) -> bool {
        **self == **other
    }
}
impl Eq for SmallBytes {}

impl PartialEq<[u8]> for SmallBytes {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for SmallBytes {
    fn eq(&self, other: &[u8; N]) -> bool {
        **self == other[..]
    }
}

impl PartialEq<Vec<u8>> for SmallBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

impl PartialEq<SmallBytes> for Vec<u8> {
    fn eq(&self, other: &SmallBytes) -> bool {
        **self == **other
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &SmallBytes) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &SmallBytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_read_back_as_written() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 255, 4000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for kept in [SmallBytes::new(&bytes), SmallBytes::from(bytes.clone())] {
                assert_eq!(&*kept, &bytes[..], "{len}");
                assert_eq!(kept, bytes, "{len}");
                assert_eq!(matches!(kept.0, Repr::Inline { .. }), len <= INLINE, "{len}");
                let mut copy = kept.clone();
                if len > 0 {
                    copy[0] = 0xff;
                    assert_eq!(copy[0], 0xff);
                    assert_eq!(kept[0], 0, "a clone is a copy");
                }
                assert_eq!(format!("{kept:?}"), format!("{bytes:?}"));
            }
        }
    }

    #[test]
    fn ordered_as_their_bytes() {
        let (a, b) = (SmallBytes::new(b"ab"), SmallBytes::new(&[b'a'; 40]));
        assert_eq!(a.cmp(&b), b"ab"[..].cmp(&[b'a'; 40][..]));
        assert_eq!(SmallBytes::new(b"x"), SmallBytes::from(b"x".to_vec()));
    }
}

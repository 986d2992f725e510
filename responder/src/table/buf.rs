//! The buffer a table is written into: an anonymous mapping that asks for
//! transparent huge pages from the start and grows in place (`mremap`),
//! so that the compiled bytes become the served table as they are.
//!
//! A `Vec<u8>` had to be copied into the table's own huge-page mapping
//! once written (`Table::from_bytes`): at a million signed names that copy
//! was 943 MB of fresh pages faulted in, more than a second of the
//! compile, and for that second the table was held twice.

use std::ops::{Deref, DerefMut};

/// Bytes written so far, `len` of them, at the start of `map`.
pub struct TableBuf {
    map: memmap2::MmapMut,
    len: usize,
}

/// The first mapping's size: small tables (an overlay's, a test's) stay
/// small; a big one doubles its way up, each step a remap, not a copy.
const FIRST: usize = 64 << 10;

impl TableBuf {
    pub fn new() -> std::io::Result<TableBuf> {
        let map = memmap2::MmapOptions::new().len(FIRST).map_anon()?;
        // Only a hint: without huge pages the table still works, slower.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(TableBuf { map, len: 0 })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, b: u8) {
        self.reserve(1);
        self.map[self.len] = b;
        self.len += 1;
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.map[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Grows to `len` bytes (zeros: the mapping's pages come zeroed and
    /// the bytes past `len` were never written), or truncates.
    pub fn resize_zeroed(&mut self, len: usize) {
        if len > self.len {
            self.reserve(len - self.len);
        } else {
            self.map[len..self.len].fill(0);
        }
        self.len = len;
    }

    fn reserve(&mut self, more: usize) {
        let need = self.len.checked_add(more).expect("a table larger than the address space");
        if need <= self.map.len() {
            return;
        }
        let new_len = need.max(self.map.len().saturating_mul(2));
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the mapping is anonymous (no file whose end it could
            // pass) and owned by this buffer alone: no slice of it is alive
            // while `&mut self` is held, so moving it invalidates nothing.
            // The pages added read as zeros, as `resize_zeroed` relies on.
            let grown = unsafe { self.map.remap(new_len, memmap2::RemapOptions::new().may_move(true)) };
            if grown.is_ok() {
                return;
            }
        }
        // Elsewhere, or if the remap failed: a new mapping and one copy.
        // With no memory for that either, the compile ends as a `Vec`'s
        // growth would end it (that aborts; this at least unwinds).
        let mut bigger = match memmap2::MmapOptions::new().len(new_len).map_anon() {
            Ok(m) => m,
            Err(e) => panic!("out of memory for a {new_len}-byte table: {e}"),
        };
        #[cfg(target_os = "linux")]
        let _ = bigger.advise(memmap2::Advice::HugePage);
        bigger[..self.len].copy_from_slice(&self.map[..self.len]);
        self.map = bigger;
    }

    /// The bytes, read-only, for a table to adopt, and how many there are
    /// (the mapping is longer: the pages past them were never touched).
    pub fn into_read_only(self) -> std::io::Result<(memmap2::Mmap, usize)> {
        Ok((self.map.make_read_only()?, self.len))
    }
}

/// What a table is written into: a [`TableBuf`], or a `Vec` where the
/// bytes are not the table served (a template encoded on its own, an
/// overlay's table, which is small).
pub trait Append: DerefMut<Target = [u8]> {
    fn push(&mut self, b: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
    /// Grows with zeros to `len` bytes, or truncates.
    fn resize_zeroed(&mut self, len: usize);
}

impl Append for TableBuf {
    fn push(&mut self, b: u8) {
        TableBuf::push(self, b)
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        TableBuf::extend_from_slice(self, bytes)
    }

    fn resize_zeroed(&mut self, len: usize) {
        TableBuf::resize_zeroed(self, len)
    }
}

impl Append for Vec<u8> {
    fn push(&mut self, b: u8) {
        Vec::push(self, b)
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes)
    }

    fn resize_zeroed(&mut self, len: usize) {
        self.resize(len, 0)
    }
}

impl Deref for TableBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl DerefMut for TableBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }
}

impl std::fmt::Debug for TableBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TableBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_past_many_remaps_and_keeps_every_byte() {
        let mut b = TableBuf::new().unwrap();
        let mut v = Vec::new();
        let mut x = 7u32;
        while v.len() < 3 * FIRST + 12345 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let piece = &x.to_le_bytes()[..(x % 4) as usize + 1];
            b.extend_from_slice(piece);
            v.extend_from_slice(piece);
            b.push(x as u8);
            v.push(x as u8);
        }
        assert_eq!(&b[..], &v[..]);
        let at = b.len();
        b.resize_zeroed(at + 5 * FIRST);
        assert!(b[at..].iter().all(|&z| z == 0));
        b.resize_zeroed(at - 3);
        b.resize_zeroed(at);
        assert_eq!(&b[at - 3..at], &[0, 0, 0], "bytes cut off come back as zeros");
        let (map, len) = b.into_read_only().unwrap();
        assert_eq!(&map[..at - 3], &v[..at - 3]);
        assert_eq!(len, at);
    }

    #[test]
    fn an_empty_buffer_is_empty() {
        let b = TableBuf::new().unwrap();
        assert!(b.is_empty());
        assert_eq!(&b[..], &[] as &[u8]);
    }
}

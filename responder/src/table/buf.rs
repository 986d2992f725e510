//! The buffer a table is written into: an anonymous mapping that asks for
//! transparent huge pages from the start and grows in place (`mremap`),
//! so that the compiled bytes become the served table as they are.
//!
//! A `Vec<u8>` had to be copied into the table's own huge-page mapping
//! once written (`Table::from_bytes`): at a million signed names that copy
//! was 943 MB of fresh pages faulted in, more than a second of the
//! compile, and for that second the table was held twice.
//!
//! `responder compile`, whose table is a file, not served, writes into
//! that file instead (`TableBuf::in_file`, `buf_file.rs`), letting go of
//! what it has written as it goes.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use super::buf_file::Backing;
use super::format::{checksum_from, CHECKSUM_SEED, HEADER_LEN};
use super::header::seal_with;

/// Bytes written so far, `len` of them, at the start of `map`.
pub struct TableBuf {
    map: memmap2::MmapMut,
    len: usize,
    /// Where `reserve` leaves its fast path: the mapping's end or, written
    /// into a file, the next point at which the bytes behind are released.
    limit: usize,
    /// Written into a file (`TableBuf::in_file`), not memory.
    file: Option<Backing>,
    /// The file could not be grown (a full disk): the bytes went on into
    /// memory, the file is gone, and this is the error to report.
    failed: Option<std::io::Error>,
}

/// The first mapping's size: small tables (an overlay's, a test's) stay
/// small; a big one doubles its way up, each step a remap, not a copy.
const FIRST: usize = 64 << 10;

/// Written into a file, how many bytes are written between two releases
/// of the bytes behind (each one a madvise over all of them, which
/// re-releases the pages a template lookup or a back-patch touched since)...
const RELEASE_EVERY: usize = 1 << 20;
/// ...and how many of the last written stay resident: the templates a
/// node most likely shares are the ones just written.
const KEEP: usize = 256 << 10;
/// A file grows by at most this much at a time (doubling up to it), so
/// that its reserved tail, cut off at the end, stays small.
const FILE_STEP: usize = 64 << 20;

impl TableBuf {
    pub fn new() -> std::io::Result<TableBuf> {
        let map = memmap2::MmapOptions::new().len(FIRST).map_anon()?;
        // Only a hint: without huge pages the table still works, slower.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(TableBuf { limit: map.len(), map, len: 0, file: None, failed: None })
    }

    /// A buffer written into the file `path` (created, or emptied), which
    /// is removed again unless [`TableBuf::into_file`] completes: the
    /// table's bytes go to the file as they are written, and those behind
    /// the last `KEEP` bytes are released from this process every
    /// `RELEASE_EVERY` bytes, so that a compile never holds the whole table.
    pub fn in_file(path: &Path) -> std::io::Result<TableBuf> {
        let mut file = Backing::create(path)?;
        file.reserve(FIRST)?;
        let map = file.map(FIRST)?;
        Ok(TableBuf { limit: map.len(), map, len: 0, file: Some(file), failed: None })
    }

    /// [`TableBuf::in_file`] on a disk that is full past `full_at` bytes.
    #[cfg(test)]
    pub fn in_file_full_at(path: &Path, full_at: usize) -> std::io::Result<TableBuf> {
        let mut buf = TableBuf::in_file(path)?;
        if let Some(file) = &mut buf.file {
            file.full_at = Some(full_at);
        }
        Ok(buf)
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

    #[inline]
    fn reserve(&mut self, more: usize) {
        let need = self.len.checked_add(more).expect("a table larger than the address space");
        if need > self.limit {
            self.past_limit(need);
        }
    }

    #[cold]
    fn past_limit(&mut self, need: usize) {
        if need > self.map.len() {
            self.grow(need);
        }
        self.limit = self.map.len();
        if self.file.is_some() {
            self.release(self.len.saturating_sub(KEEP));
            self.limit = self.limit.min(self.len + RELEASE_EVERY);
        }
    }

    /// Written into a file, releases from this process the bytes before
    /// `at` (that are not needed again soon: they fault back in if they
    /// are) when `at` is `RELEASE_EVERY` bytes from where the last release
    /// ended: as a pass over the bytes (`buckets::append`, `seal`) moves on.
    /// In memory, nothing: those bytes are the only copy.
    pub fn release_before(&mut self, at: usize) {
        if self.file.as_ref().is_some_and(|f| at.abs_diff(f.released) >= RELEASE_EVERY) {
            self.release(at);
        }
    }

    fn release(&mut self, at: usize) {
        if let Some(file) = &mut self.file {
            Backing::release(&self.map, at.min(self.len));
            file.released = at;
        }
    }

    fn grow(&mut self, need: usize) {
        if self.file.is_some() {
            return self.grow_file(need);
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
        self.move_to_memory(new_len);
    }

    /// The file grown (its new blocks allocated, reading as zeros) and
    /// mapped anew: the bytes are in the file, nothing is copied. If the
    /// file cannot grow, the bytes go on in memory and the error is kept.
    fn grow_file(&mut self, need: usize) {
        let new_len = need.max(self.map.len() + self.map.len().min(FILE_STEP));
        let Some(file) = &mut self.file else { return };
        let mapped = file.reserve(new_len).and_then(|()| file.map(new_len));
        match mapped {
            Ok(map) => self.map = map,
            Err(e) => {
                let e = std::io::Error::new(e.kind(), format!("{}: {e}", file.path().display()));
                self.move_to_memory(new_len);
                // The file goes now: no partial table is left behind.
                self.file = None;
                self.failed.get_or_insert(e);
            }
        }
    }

    /// A new anonymous mapping of `new_len` bytes and one copy. With no
    /// memory for that either, the compile ends as a `Vec`'s growth would
    /// end it (that aborts; this at least unwinds).
    fn move_to_memory(&mut self, new_len: usize) {
        let mut bigger = match memmap2::MmapOptions::new().len(new_len).map_anon() {
            Ok(m) => m,
            Err(e) => panic!("out of memory for a {new_len}-byte table: {e}"),
        };
        #[cfg(target_os = "linux")]
        let _ = bigger.advise(memmap2::Advice::HugePage);
        bigger[..self.len].copy_from_slice(&self.map[..self.len]);
        self.map = bigger;
    }

    /// The error that made a file-backed buffer give up its file (its
    /// bytes went on into memory), once: a compile stops at it.
    pub fn take_error(&mut self) -> Option<std::io::Error> {
        self.failed.take()
    }

    /// Seals the table (`header::seal`): its length and the checksum of
    /// every byte after the header, taken a piece at a time so that, in a
    /// file, the pieces read are released behind the reading.
    pub fn seal(&mut self) {
        if self.len < HEADER_LEN {
            return;
        }
        let mut sum = CHECKSUM_SEED;
        let mut at = HEADER_LEN;
        while at < self.len {
            // A multiple of 8 bytes, as `checksum_from` continues over.
            let end = self.len.min(at + RELEASE_EVERY);
            sum = checksum_from(sum, &self.map[at..end]);
            at = end;
            self.release_before(at);
        }
        let len = self.len;
        seal_with(&mut self.map[..len], sum);
    }

    /// The bytes, read-only, for a table to adopt, and how many there are
    /// (the mapping is longer: the pages past them were never touched).
    /// For a buffer in memory ([`TableBuf::new`]).
    pub fn into_read_only(self) -> std::io::Result<(memmap2::Mmap, usize)> {
        Ok((self.map.make_read_only()?, self.len))
    }

    /// The file of a buffer written into one ([`TableBuf::in_file`]), cut
    /// to the bytes written and kept: its path. Any error (the file could
    /// not grow on the way, or not be cut now) leaves no file.
    pub fn into_file(self) -> std::io::Result<PathBuf> {
        let TableBuf { map, len, file, failed, .. } = self;
        drop(map);
        if let Some(e) = failed {
            return Err(e);
        }
        let Some(file) = file else {
            return Err(std::io::Error::other("the table was written into memory, not a file"));
        };
        let path = file.path().display().to_string();
        file.finish(len).map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))
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
    /// The bytes before `at` are not needed again soon (`TableBuf::release_before`).
    fn release_before(&mut self, _at: usize) {}
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

    fn release_before(&mut self, at: usize) {
        TableBuf::release_before(self, at)
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

    /// The same writes (appends, zeroed growth, cuts, writes back into
    /// earlier bytes, releases) into a file-backed buffer and a `Vec`:
    /// past many growths and releases, every byte read back, the seal and
    /// the file the same.
    #[test]
    fn a_buffer_in_a_file_holds_what_one_in_memory_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tmp");
        let mut b = TableBuf::in_file(&path).unwrap();
        let mut v = Vec::new();
        b.resize_zeroed(HEADER_LEN);
        v.resize(HEADER_LEN, 0);
        let mut x = 11u32;
        let mut next = || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x
        };
        while v.len() < 3 * RELEASE_EVERY + 5 * FIRST + 777 {
            let r = next();
            match r % 64 {
                0 => {
                    // A write back into bytes long since released.
                    let at = (next() as usize) % (v.len() - 4);
                    b[at..at + 4].copy_from_slice(&r.to_le_bytes());
                    v[at..at + 4].copy_from_slice(&r.to_le_bytes());
                }
                1 => {
                    let at = v.len() + (r as usize >> 8) % 5000;
                    b.resize_zeroed(at);
                    v.resize(at, 0);
                }
                2 => {
                    let at = v.len().saturating_sub((r as usize >> 8) % 100).max(HEADER_LEN);
                    b.resize_zeroed(at);
                    v.truncate(at);
                }
                3 => {
                    let at = (next() as usize) % v.len();
                    b.release_before(at);
                    assert_eq!(b[at / 2], v[at / 2], "a released byte reads back");
                }
                _ => {
                    let piece = &r.to_le_bytes()[..(r % 4) as usize + 1];
                    b.extend_from_slice(piece);
                    v.extend_from_slice(piece);
                    b.push(r as u8);
                    v.push(r as u8);
                }
            }
        }
        assert_eq!(b.len(), v.len());
        assert!(b[..] == v[..], "the bytes differ");
        b.seal();
        crate::table::header::seal(&mut v);
        assert!(b[..] == v[..], "the seals differ");
        assert!(b.take_error().is_none());
        let written = b.into_file().unwrap();
        assert_eq!(written, path);
        assert!(std::fs::read(&path).unwrap() == v, "the file holds other bytes");
    }

    #[test]
    fn a_file_that_cannot_grow_is_an_error_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tmp");
        let mut b = TableBuf::in_file_full_at(&path, 4 * FIRST).unwrap();
        let mut v = Vec::new();
        for i in 0..10 * FIRST {
            b.push(i as u8);
            v.push(i as u8);
        }
        // The bytes went on, in memory, and the file is gone at once.
        assert!(b[..] == v[..]);
        assert!(!path.exists());
        let e = b.into_file().unwrap_err();
        assert_eq!(e.raw_os_error(), None, "the error names the file: {e}");
        assert!(e.to_string().contains("t.tmp") && e.kind() == std::io::ErrorKind::StorageFull, "{e}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_buffer_dropped_unfinished_leaves_no_file_and_none_is_made_where_it_cannot_be() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tmp");
        let mut b = TableBuf::in_file(&path).unwrap();
        b.extend_from_slice(&[1; 3 * FIRST]);
        assert!(path.exists());
        drop(b);
        assert!(!path.exists());
        let e = TableBuf::in_file(&dir.path().join("no such dir").join("t.tmp")).err().unwrap();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A buffer in memory has no file to give.
        assert!(TableBuf::new().unwrap().into_file().is_err());
    }

    #[test]
    fn a_seal_in_pieces_is_the_seal_of_the_whole() {
        for len in [0, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + 13, 2 * RELEASE_EVERY + 9] {
            let mut b = TableBuf::new().unwrap();
            let v: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            b.extend_from_slice(&v);
            let mut v = v;
            b.seal();
            crate::table::header::seal(&mut v);
            assert!(b[..] == v[..], "{len} bytes");
        }
    }

    #[test]
    fn an_empty_buffer_is_empty() {
        let b = TableBuf::new().unwrap();
        assert!(b.is_empty());
        assert_eq!(&b[..], &[] as &[u8]);
    }
}

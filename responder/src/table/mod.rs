//! The precompiled table: every answer the zones can give, in wire format,
//! behind one hash lookup per name.
//!
//! [`Table::compile`] builds it from zones; [`Table::open`] reads a table file
//! written by [`Table::write`]. Either way the bytes are checked before use
//! (magic, version, length, checksum, and every offset the runtime will
//! follow), and the runtime still reads them through bounds-checked accessors,
//! so a corrupt table can at worst give a wrong answer, never a crash. That
//! is what lets a start serve a table file before the walk of every node
//! ends ([`Table::open_unchecked`], [`Table::check`] on a thread beside it).

mod buckets;
mod buf;
mod buf_file;
pub use buf::TableBuf;
mod compile;
mod dedup;
pub mod denial;
mod expiry;
pub(crate) mod fasthash;
pub mod format;
mod header;
mod name_index;
pub mod nsec3_hash;
mod one_or_many;
pub mod overlay;
#[cfg(test)]
mod owned_tests;
mod parallel;
#[cfg(test)]
mod parallel_tests;
mod phases;
mod prefetch;
mod prepare;
#[cfg(test)]
mod proptests;
mod rdatas;
mod template;
#[cfg(test)]
mod unchecked_tests;
mod validate;
mod view;
#[cfg(test)]
mod width_tests;

use std::borrow::Borrow;
use std::path::Path;

pub use compile::{rrsig_time, CompileError, Lent};
pub use header::{seal, Header};
pub use prefetch::{LastEncloser, NextCloser};
pub use view::{DnameView, NodeView, ResponseView, ZoneView};

use crate::wire::{tail_word, words};
use crate::zone::Zone;
use format::*;

/// Table bytes live in an anonymous read-only mapping that asks for
/// transparent huge pages: lookups hit random places in a table of many
/// megabytes, and with 4 KiB pages most of them would also miss the TLB
/// (measured: 611 ns/answer on a 100,000-name zone with 4 KiB pages).
struct Bytes(memmap2::Mmap);

impl Bytes {
    fn new(len: usize, fill: impl FnOnce(&mut [u8]) -> std::io::Result<()>) -> std::io::Result<Bytes> {
        let mut map = memmap2::MmapOptions::new().len(len.max(1)).map_anon()?;
        // Only a hint: without huge pages the table still works, slower.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        fill(&mut map[..len])?;
        let map = map.make_read_only()?;
        Ok(Bytes(map))
    }
}

/// `dst.copy_from_slice(src)`, a large copy split over the cores: its
/// time goes to faulting in the fresh mapping's pages as much as to moving
/// bytes, and that is per thread (about 2.4 s of CPU for a 943 MB table).
fn copy_on_all_cores(dst: &mut [u8], src: &[u8]) {
    const SERIAL_BELOW: usize = 64 << 20;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || src.len() < SERIAL_BELOW || dst.len() != src.len() {
        return dst.copy_from_slice(src);
    }
    // Whole 2 MiB pieces, so that no huge page is faulted by two threads.
    let per = src.len().div_ceil(threads).next_multiple_of(2 << 20);
    std::thread::scope(|s| {
        for (d, c) in dst.chunks_mut(per).zip(src.chunks(per)) {
            s.spawn(move || d.copy_from_slice(c));
        }
    });
}

pub struct Table {
    bytes: Bytes,
    len: usize,
    bucket_mask: usize,
    max_probe: usize,
    buckets_off: usize,
    zone_count: usize,
    zones_off: usize,
    /// Some zone has a denial chain (it is signed), some an NSEC3 one: what
    /// the batch prefetcher asks before it looks at a query's DO bit.
    chains: bool,
    nsec3: bool,
    /// Each zone's chain header, parsed at load (`denial::ChainAt`);
    /// empty when no zone has a chain, so that unsigned tables pay nothing.
    chains_at: Box<[Option<denial::ChainAt>]>,
    /// This table among all loaded in the process, never reused (see
    /// [`Table::id`]).
    id: u64,
}

/// The next [`Table::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a responder table (bad magic)")]
    BadMagic,
    #[error(
        "table format version {found}, this responder reads version {expected}: recompile it with `responder compile`"
    )]
    Version { found: u32, expected: u32 },
    #[error("table is truncated or padded: header says {expected} bytes, file has {found}")]
    Length { expected: u64, found: u64 },
    #[error("table checksum mismatch: the file is corrupt")]
    Checksum,
    #[error("table is corrupt: {0}")]
    Corrupt(&'static str),
    #[error(transparent)]
    Compile(#[from] CompileError),
}

impl Table {
    /// Compiles zones into a table; warnings (answers too big for any DNS
    /// message) are logged, as the zones' own warnings are when they load.
    pub fn compile(zones: &[Zone]) -> Result<Table, TableError> {
        Table::compile_from(zones)
    }

    /// [`Table::compile`] of zones that are lent (`Arc<Zone>`), not copied:
    /// a reload compiles the zones it keeps as they are.
    pub fn compile_from<Z: Borrow<Zone>>(zones: &[Z]) -> Result<Table, TableError> {
        let mut warnings = Vec::new();
        let table = compile::compile(zones, &mut warnings).map_err(TableError::from).and_then(Table::from_buf);
        for w in &warnings {
            tracing::warn!("{w}");
        }
        table
    }

    /// [`Table::compile`] of zones the caller is done with, written to the
    /// table file `path` (atomically: a temporary file beside it, renamed
    /// once complete and checked) and read back from it: what `responder
    /// compile` does. The zones' records go before the table is written
    /// (`compile::compile_owned`), and the table goes into the temporary
    /// file as it is written, not held whole beside the compiler
    /// (`TableBuf::in_file`), so that the zones, the compiler's nodes and
    /// the table are never all held at once. On any error no file is left.
    pub fn compile_file(zones: Vec<Zone>, path: &Path) -> Result<Table, TableError> {
        let tmp = path.with_extension("tmp");
        let io = |source| TableError::Io { path: tmp.display().to_string(), source };
        let out = TableBuf::in_file(&tmp).map_err(io)?;
        let mut warnings = Vec::new();
        let bytes = compile::compile_owned(zones, out, &mut warnings);
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let written =
            bytes?.into_file().map_err(|source| TableError::Io { path: path.display().to_string(), source })?;
        Table::adopt_file(&written, path)
    }

    /// [`Table::compile`], handing the warnings back instead.
    pub fn compile_noting<Z: Borrow<Zone>>(zones: &[Z], warnings: &mut Vec<String>) -> Result<Table, TableError> {
        let bytes = compile::compile(zones, warnings)?;
        Table::from_buf(bytes)
    }

    /// [`Table::compile_noting`] of zones whose records are lent one by
    /// one (the overlay's partial zones, from its index).
    pub fn compile_lent_noting(zones: &[Lent], warnings: &mut Vec<String>) -> Result<Table, TableError> {
        let bytes = compile::compile_lent(zones, warnings)?;
        Table::from_buf(bytes)
    }

    /// Checks and adopts the compiler's bytes where they are: written into
    /// a huge-page mapping from the start, they need no copy.
    pub fn from_buf(buf: TableBuf) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: "(memory)".into(), source };
        let (map, len) = buf.into_read_only().map_err(io)?;
        Table::new(Bytes(map), len)
    }

    /// Checks and adopts table bytes (a copy of them).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: "(memory)".into(), source };
        let len = bytes.len();
        Table::new(
            Bytes::new(len, |dst| {
                copy_on_all_cores(dst, &bytes);
                Ok(())
            })
            .map_err(io)?,
            len,
        )
    }

    /// Reads a table file (one read, into huge-page memory) and checks it
    /// whole ([`Table::open_unchecked`], then [`Table::check`]): what a
    /// reload does before it swaps the table in.
    pub fn open(path: &Path) -> Result<Table, TableError> {
        let started = std::time::Instant::now();
        let table = Table::open_unchecked(path)?;
        let read = started.elapsed();
        table.check()?;
        // What a restart costs, in two parts (docs/BENCHMARKS.md "Zones").
        tracing::info!(
            "{}: {} bytes read in {read:.2?}, checked in {:.2?}",
            path.display(),
            table.len,
            started.elapsed().saturating_sub(read)
        );
        Ok(table)
    }

    /// Reads a table file (one read, into huge-page memory) with only the
    /// checks that take no walk of it: magic, version, length, and that
    /// the bucket and zone arrays lie inside it. Every later read of the
    /// table is bounds-checked (safe code, accessors that return `None`),
    /// so such a table is sound to answer from: corrupt bytes give wrong
    /// answers or SERVFAIL, never a panic. The start serves it at once and
    /// runs [`Table::check`] beside the workers (`control/daemon/table_check.rs`).
    /// Read rather than mapped: a mapped file could change under a running
    /// server, and file pages do not get huge pages (DESIGN.md).
    pub fn open_unchecked(path: &Path) -> Result<Table, TableError> {
        use std::io::Read;
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let len = usize::try_from(len).map_err(|_| TableError::Length { expected: u64::MAX, found: len })?;
        let bytes = Bytes::new(len, |dst| file.read_exact(dst)).map_err(io)?;
        Table::structural(bytes, len)
    }

    /// [`Table::from_bytes`] without [`Table::check`]: what the fuzz target
    /// and the tests answer from, as the start does from a file.
    pub fn from_bytes_unchecked(bytes: Vec<u8>) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: "(memory)".into(), source };
        let len = bytes.len();
        let copy = Bytes::new(len, |dst| {
            copy_on_all_cores(dst, &bytes);
            Ok(())
        });
        Table::structural(copy.map_err(io)?, len)
    }

    /// The checks that walk the whole table: the checksum over every byte
    /// after the header, then every zone record, node and response
    /// (`validate.rs`). Seconds for tens of millions of names.
    pub fn check(&self) -> Result<(), TableError> {
        let b = self.as_bytes();
        let stored = Header::new_checked(b).map(|h| h.checksum());
        // The checksum is one serial pass over the bytes: taken on a core
        // of its own beside the walk (which is safe on any bytes, every
        // read bounds-checked), and a mismatch still reported first.
        // Small tables (an overlay's, a test's) in line: a thread costs more.
        let (sum, checked) = if b.len() < 8 << 20 {
            (b.get(HEADER_LEN..).map(checksum), validate::validate(self))
        } else {
            std::thread::scope(|s| {
                let sum = s.spawn(|| b.get(HEADER_LEN..).map(checksum));
                let checked = validate::validate(self);
                // A panic in the checksum is a bug, not a corrupt table.
                (sum.join().expect("table checksum thread"), checked)
            })
        };
        phases::mark("check: checksum and validate");
        if stored != sum {
            return Err(TableError::Checksum);
        }
        checked
    }

    /// Writes the table to a file (atomically: a temporary file renamed).
    pub fn write(&self, path: &Path) -> Result<(), TableError> {
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Writes table bytes fresh from the compiler to `path` (atomically,
    /// as [`Table::write`]) and gives the table read back from the file
    /// and checked whole: what `responder compile` does. The bytes go
    /// before the table is read, so that the table is never held twice,
    /// and what is checked is what the file holds.
    pub fn write_bytes(bytes: impl std::ops::Deref<Target = [u8]>, path: &Path) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &*bytes).map_err(io)?;
        drop(bytes);
        Table::adopt_file(&tmp, path)
    }

    /// Reads the table file `tmp`, checks it whole and renames it to
    /// `path`: what is checked is what the file holds. A table that fails
    /// its check, or cannot be renamed, is not left behind.
    fn adopt_file(tmp: &Path, path: &Path) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let table = Table::open_unchecked(tmp)
            .and_then(|t| t.check().map(|()| t))
            .and_then(|t| std::fs::rename(tmp, path).map(|()| t).map_err(io));
        if table.is_err() {
            let _ = std::fs::remove_file(tmp);
        }
        table
    }

    fn new(bytes: Bytes, len: usize) -> Result<Table, TableError> {
        phases::mark("table: into its mapping");
        let table = Table::structural(bytes, len)?;
        table.check()?;
        Ok(table)
    }

    /// What makes every later access in bounds by construction rather than
    /// by luck: the header read, the bucket mask a power of two less one,
    /// the probe limit below the bucket count, and the bucket and zone
    /// arrays inside the bytes. O(zones), no walk of the names.
    fn structural(bytes: Bytes, len: usize) -> Result<Table, TableError> {
        let b: &[u8] = &bytes.0[..len];
        let Some(header) = Header::new_checked(b).filter(|h| h.magic_ok()) else {
            return Err(TableError::BadMagic);
        };
        if header.version() != VERSION {
            return Err(TableError::Version { found: header.version(), expected: VERSION });
        }
        if header.total_len() != b.len() as u64 {
            return Err(TableError::Length { expected: header.total_len(), found: b.len() as u64 });
        }
        let bucket_count = header.bucket_count() as usize;
        let table = Table {
            bucket_mask: bucket_count.wrapping_sub(1),
            max_probe: header.max_probe() as usize,
            buckets_off: header.buckets_off() as usize,
            zone_count: header.zone_count() as usize,
            zones_off: header.zones_off() as usize,
            chains: false,
            nsec3: false,
            chains_at: Box::default(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bytes,
            len,
        };
        if !bucket_count.is_power_of_two()
            || table.buckets_off.checked_add(bucket_count * BUCKET_LEN).is_none_or(|end| end > table.as_bytes().len())
            || table.max_probe >= bucket_count
        {
            return Err(TableError::Corrupt("bucket array out of bounds"));
        }
        if table.zones_off.checked_add(table.zone_count * ZONE_LEN).is_none_or(|end| end > table.as_bytes().len()) {
            return Err(TableError::Corrupt("zone array out of bounds"));
        }
        let chains_at: Box<[Option<denial::ChainAt>]> =
            (0..table.zone_count).map(|z| u32::try_from(z).ok().and_then(|z| table.parse_chain_at(z))).collect();
        let any = chains_at.iter().any(Option::is_some);
        let nsec3 = chains_at.iter().flatten().any(|c| c.is_nsec3());
        let chains_at = if any { chains_at } else { Box::default() };
        Ok(Table { chains: any, nsec3, chains_at, ..table })
    }

    /// Zone `zone`'s chain header, as parsed at load.
    #[inline(always)]
    fn chain_at(&self, zone: u32) -> Option<&denial::ChainAt> {
        self.chains_at.get(zone as usize)?.as_ref()
    }

    /// Some zone is signed (has a denial chain).
    #[inline(always)]
    pub fn has_denial_chains(&self) -> bool {
        self.chains
    }

    /// Some zone has an NSEC3 chain.
    #[inline(always)]
    pub fn has_nsec3(&self) -> bool {
        self.nsec3
    }

    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes.0[..self.len]
    }

    pub fn zone_count(&self) -> usize {
        self.zone_count
    }

    /// The node for a lowercase wire-format name, if the table has one.
    #[inline(always)]
    pub fn find(&self, name: &[u8]) -> Option<NodeView<'_>> {
        self.find_hashed(name, hash_name(name))
    }

    /// [`Table::find`] for a name whose [`hash_name`] is already known.
    #[inline(always)]
    pub fn find_hashed(&self, name: &[u8], hash: u64) -> Option<NodeView<'_>> {
        let b = self.as_bytes();
        let tag = tag(hash);
        let mut slot = hash as usize & self.bucket_mask;
        for _ in 0..=self.max_probe {
            let bucket = u64_at(b, self.buckets_off + slot * BUCKET_LEN)?;
            let off = bucket as u32 as usize;
            if off == 0 {
                return None;
            }
            // Another name's node is told apart by its tag, without a read
            // of the node (a cache miss on a large table).
            if (bucket >> 32) as u32 == tag && same_name(NodeView::name_at(b, off)?, name) {
                return NodeView::parse(b, off);
            }
            slot = (slot + 1) & self.bucket_mask;
        }
        None
    }

    #[inline]
    pub fn node_at(&self, off: u32) -> Option<NodeView<'_>> {
        NodeView::parse(self.as_bytes(), off as usize)
    }

    /// Tells this table from every other one the process loads, even one
    /// at the same address after this one is dropped: what the batch
    /// prefetcher notes with a chain entry it found, so that an answer from
    /// the same table can take that entry without searching again
    /// (`engine/prehashed.rs`).
    #[inline]
    pub fn id(&self) -> u64 {
        self.id
    }

    #[inline]
    pub fn response(&self, off: u32) -> Option<ResponseView<'_>> {
        ResponseView::parse(self.as_bytes(), off as usize)
    }

    #[inline]
    pub fn zone(&self, index: u32) -> Option<ZoneView<'_>> {
        if index as usize >= self.zone_count {
            return None;
        }
        ZoneView::parse(self.as_bytes(), self.zones_off + index as usize * ZONE_LEN)
    }

    pub(crate) fn bucket_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        let b = self.as_bytes();
        (0..=self.bucket_mask).filter_map(move |s| u32_at(b, self.buckets_off + s * BUCKET_LEN)).filter(|&o| o != 0)
    }
}

/// Byte equality a word at a time: names are short, and a call to memcmp
/// would cost more than the comparison.
#[inline(always)]
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    words(a).zip(words(b)).all(|(p, q)| p == q) && tail_word(a) == tail_word(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::EXAMPLE;

    #[test]
    fn names_compare_like_slices() {
        let names: [&[u8]; 6] =
            [b"", b"\x00", b"\x03www\x00", b"\x03wwx\x00", b"\x07example\x03com\x00", b"\x07examplf\x03com\x00"];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    fn table() -> Table {
        let zone = crate::zone::parse_str(EXAMPLE, "t.zone", None).unwrap();
        Table::compile(&[zone]).unwrap()
    }

    fn reseal(b: &mut [u8]) {
        seal(b);
    }

    #[test]
    fn written_tables_read_back_identical_and_answer() {
        let t = table();
        let dir = std::env::temp_dir().join(format!("rsp-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zones.tbl");
        t.write(&path).unwrap();
        let back = Table::open(&path).unwrap();
        assert_eq!(back.as_bytes(), t.as_bytes());
        let www = b"\x03www\x07example\x03com\x00";
        assert!(back.find(www).is_some());
        assert!(back.find(b"\x04nope\x07example\x03com\x00").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bytes_written_read_back_checked_and_a_bad_table_leaves_no_file() {
        let good = table().as_bytes().to_vec();
        let dir = std::env::temp_dir().join(format!("rsp-write-bytes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zones.tbl");
        let t = Table::write_bytes(good.clone(), &path).unwrap();
        assert_eq!(t.as_bytes(), &good[..]);
        assert_eq!(std::fs::read(&path).unwrap(), good);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let other = dir.join("bad.tbl");
        assert!(matches!(Table::write_bytes(bad, &other), Err(TableError::Checksum)));
        assert!(!other.exists() && !other.with_extension("tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_rejection_has_its_own_error() {
        let good = table().as_bytes().to_vec();
        let mut b = good.clone();
        b[0] = b'X';
        assert!(matches!(Table::from_bytes(b), Err(TableError::BadMagic)));
        let mut b = good.clone();
        b[8] = 99;
        assert!(matches!(Table::from_bytes(b), Err(TableError::Version { found: 99, .. })));
        let b = good[..good.len() - 1].to_vec();
        assert!(matches!(Table::from_bytes(b), Err(TableError::Length { .. })));
        let mut b = good.clone();
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(matches!(Table::from_bytes(b), Err(TableError::Checksum)));
        assert!(matches!(Table::from_bytes(Vec::new()), Err(TableError::BadMagic)));
        let missing = Table::open(Path::new("/nonexistent/zones.tbl"));
        assert!(matches!(missing, Err(TableError::Io { .. })));
    }

    #[test]
    fn the_same_zone_twice_is_refused() {
        let zone = crate::zone::parse_str(EXAMPLE, "t.zone", None).unwrap();
        let err = Table::compile(&[zone.clone(), zone]).err().expect("a zone given twice");
        assert_eq!(err.to_string(), "zone example.com. is given twice");
    }

    #[test]
    fn pointers_into_the_body_beyond_reach_are_refused() {
        let t = table();
        let base = t.as_bytes().as_ptr() as usize;
        // The first patch that points into a body (glue owners do).
        let patch = t
            .bucket_offsets()
            .filter_map(|n| t.node_at(n))
            .flat_map(|n| std::iter::once(n.default_response()).chain(n.types().map(|(_, r)| r)))
            .filter_map(|r| t.response(r))
            .flat_map(|r| std::iter::once(r.patches).chain(r.chunks().map(|c| c.patches)).collect::<Vec<_>>())
            .flat_map(|p| p.chunks_exact(PATCH_LEN))
            .find(|p| u16::from_le_bytes([p[2], p[3]]) & TARGET_KIND_MASK == TARGET_BODY)
            .expect("a pointer into a body");
        let at = patch.as_ptr() as usize - base + 2;
        let mut b = t.as_bytes().to_vec();
        // Reachable only after a question shorter than the longest.
        b[at..at + 2].copy_from_slice(&(MAX_BODY_TARGET as u16 + 1).to_le_bytes());
        reseal(&mut b);
        let refused = Table::from_bytes(b);
        assert!(matches!(refused, Err(TableError::Corrupt("compression target beyond a pointer's reach"))));
    }

    #[test]
    fn structural_corruption_behind_a_valid_checksum_is_caught() {
        let good = table().as_bytes().to_vec();
        // A bucket pointing past the end.
        let header = Header::new_checked(&good).unwrap();
        let (buckets, count) = (header.buckets_off() as usize, header.bucket_count() as usize);
        let slot = (0..count).find(|s| u32_at(&good, buckets + s * BUCKET_LEN) != Some(0)).unwrap();
        let mut b = good.clone();
        let at = buckets + slot * BUCKET_LEN;
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut b);
        assert!(matches!(Table::from_bytes(b), Err(TableError::Corrupt(_))));
        // A zone count larger than the zone array.
        let mut b = good.clone();
        Header::new_checked_mut(&mut b).unwrap().set_zone_count(1_000_000);
        reseal(&mut b);
        assert!(matches!(Table::from_bytes(b), Err(TableError::Corrupt(_))));
        // A zone record's apex pointing past the end (format 8).
        let mut b = good.clone();
        let apex_at = header.zones_off() as usize + 12;
        b[apex_at..apex_at + 4].copy_from_slice(&(good.len() as u32 - 2).to_le_bytes());
        reseal(&mut b);
        assert!(matches!(Table::from_bytes(b), Err(TableError::Corrupt("zone apex is not a node of its zone"))));
        // A node's name changed: it can no longer be found through its own hash.
        let node = u32_at(&good, at).unwrap() as usize;
        let mut b = good.clone();
        b[node + 2] ^= 0x01;
        reseal(&mut b);
        assert!(Table::from_bytes(b).is_err());
    }
}

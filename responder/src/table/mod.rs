//! The precompiled table: every answer the zones can give, in wire format,
//! behind one hash lookup per name.
//!
//! [`Table::compile`] builds it from zones; [`Table::open`] maps a table file
//! written by [`Table::write`]. Either way the bytes are checked before use
//! (magic, version, length, checksum, and every offset the runtime will
//! follow), and the runtime still reads them through bounds-checked accessors,
//! so a corrupt table can at worst give a wrong answer, never a crash.

mod compile;
pub mod format;
#[cfg(test)]
mod proptests;
mod template;
mod validate;
mod view;

use std::path::Path;

pub use compile::CompileError;
pub use view::{DnameView, NodeView, ResponseView, ZoneView};

use crate::zone::Zone;
use format::*;

enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

pub struct Table {
    bytes: Bytes,
    bucket_mask: usize,
    max_probe: usize,
    buckets_off: usize,
    zone_count: usize,
    zones_off: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a responder table (bad magic)")]
    BadMagic,
    #[error("table format version {found}, this responder reads version {expected}: recompile it with `responder compile`")]
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
    /// Compiles zones into a table.
    pub fn compile(zones: &[Zone]) -> Result<Table, TableError> {
        let bytes = compile::compile(zones)?;
        Table::from_bytes(bytes)
    }

    /// Checks and adopts table bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, TableError> {
        Table::new(Bytes::Owned(bytes))
    }

    /// Maps a table file and checks it.
    pub fn open(path: &Path) -> Result<Table, TableError> {
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the mapping is read-only and private; the file is not
        // expected to change under us, and if it does the checksum and the
        // bounds-checked accessors keep the process safe from what it reads.
        let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io)?;
        Table::new(Bytes::Mapped(map))
    }

    /// Writes the table to a file (atomically: a temporary file renamed).
    pub fn write(&self, path: &Path) -> Result<(), TableError> {
        let io = |source| TableError::Io { path: path.display().to_string(), source };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    fn new(bytes: Bytes) -> Result<Table, TableError> {
        let b: &[u8] = match &bytes {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        };
        if b.len() < HEADER_LEN || &b[..8] != MAGIC {
            return Err(TableError::BadMagic);
        }
        let version = u32_at(b, 8).unwrap_or(0);
        if version != VERSION {
            return Err(TableError::Version { found: version, expected: VERSION });
        }
        let total = u64_at(b, 16).unwrap_or(0);
        if total != b.len() as u64 {
            return Err(TableError::Length { expected: total, found: b.len() as u64 });
        }
        if u64_at(b, 24) != Some(checksum(&b[HEADER_LEN..])) {
            return Err(TableError::Checksum);
        }
        let field = |at| u32_at(b, at).map(|v| v as usize).unwrap_or(0);
        let bucket_count = field(32);
        let table = Table {
            bucket_mask: bucket_count.wrapping_sub(1),
            max_probe: field(36),
            buckets_off: field(40),
            zone_count: field(44),
            zones_off: field(48),
            bytes,
        };
        if !bucket_count.is_power_of_two()
            || table.buckets_off.checked_add(bucket_count * 4).is_none_or(|end| end > table.as_bytes().len())
            || table.max_probe >= bucket_count
        {
            return Err(TableError::Corrupt("bucket array out of bounds"));
        }
        if table.zones_off.checked_add(table.zone_count * ZONE_LEN).is_none_or(|end| end > table.as_bytes().len()) {
            return Err(TableError::Corrupt("zone array out of bounds"));
        }
        validate::validate(&table)?;
        Ok(table)
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }

    pub fn zone_count(&self) -> usize {
        self.zone_count
    }

    /// The node for a lowercase wire-format name, if the table has one.
    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<NodeView<'_>> {
        let b = self.as_bytes();
        let mut slot = hash_name(name) as usize & self.bucket_mask;
        for _ in 0..=self.max_probe {
            let off = u32_at(b, self.buckets_off + slot * 4)? as usize;
            if off == 0 {
                return None;
            }
            let node = NodeView::parse(b, off)?;
            if node.name() == name {
                return Some(node);
            }
            slot = (slot + 1) & self.bucket_mask;
        }
        None
    }

    #[inline]
    pub fn node_at(&self, off: u32) -> Option<NodeView<'_>> {
        NodeView::parse(self.as_bytes(), off as usize)
    }

    #[inline]
    pub fn response(&self, off: u32) -> Option<ResponseView<'_>> {
        ResponseView::parse(self.as_bytes(), off as usize)
    }

    #[inline]
    pub fn zone(&self, index: u16) -> Option<ZoneView<'_>> {
        if index as usize >= self.zone_count {
            return None;
        }
        ZoneView::parse(self.as_bytes(), self.zones_off + index as usize * ZONE_LEN)
    }

    pub(crate) fn bucket_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        let b = self.as_bytes();
        (0..=self.bucket_mask).filter_map(move |s| u32_at(b, self.buckets_off + s * 4)).filter(|&o| o != 0)
    }
}

//! The table's 64-byte header: what the bytes are (magic, format version),
//! how many there are and their checksum, and where the bucket and zone
//! arrays start. The compiler writes it and the loader reads it through this
//! one view, so the two cannot disagree on where a field is.

use core::ops::{Deref, DerefMut};

use super::format::{checksum, HEADER_LEN, MAGIC, VERSION};
use crate::wire::Field;

mod field {
    use crate::wire::Field;
    pub const MAGIC: Field = 0..8;
    pub const VERSION: Field = 8..12;
    // 12..16 reserved, zero.
    pub const TOTAL_LEN: Field = 16..24;
    /// FNV-1a ([`super::checksum`]) over the bytes after the header.
    pub const CHECKSUM: Field = 24..32;
    pub const BUCKET_COUNT: Field = 32..36;
    pub const MAX_PROBE: Field = 36..40;
    pub const BUCKETS_OFF: Field = 40..44;
    pub const ZONE_COUNT: Field = 44..48;
    pub const ZONES_OFF: Field = 48..52;
    // 52..64 reserved, zero.
}

/// A view of the header at the start of a table: `Header<&[u8; 64]>` reads,
/// `Header<&mut [u8; 64]>` also writes. All fields are little-endian.
pub struct Header<T>(T);

impl<'a> Header<&'a [u8; HEADER_LEN]> {
    /// The header of `table`; `None` when it is shorter than a header.
    pub fn new_checked(table: &'a [u8]) -> Option<Self> {
        table.first_chunk().map(Header)
    }
}

impl<'a> Header<&'a mut [u8; HEADER_LEN]> {
    pub fn new_checked_mut(table: &'a mut [u8]) -> Option<Self> {
        table.first_chunk_mut().map(Header)
    }
}

impl<T: Deref<Target = [u8; HEADER_LEN]>> Header<T> {
    /// Whether the bytes start with the table magic.
    pub fn magic_ok(&self) -> bool {
        self.0[field::MAGIC] == MAGIC[..]
    }
    pub fn version(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::VERSION))
    }
    pub fn total_len(&self) -> u64 {
        u64::from_le_bytes(le(&self.0, field::TOTAL_LEN))
    }
    pub fn checksum(&self) -> u64 {
        u64::from_le_bytes(le(&self.0, field::CHECKSUM))
    }
    pub fn bucket_count(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::BUCKET_COUNT))
    }
    /// The longest probe any name needs: lookups stop after it.
    pub fn max_probe(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::MAX_PROBE))
    }
    pub fn buckets_off(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::BUCKETS_OFF))
    }
    pub fn zone_count(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::ZONE_COUNT))
    }
    pub fn zones_off(&self) -> u32 {
        u32::from_le_bytes(le(&self.0, field::ZONES_OFF))
    }
}

impl<T: DerefMut<Target = [u8; HEADER_LEN]>> Header<T> {
    /// Magic and the current format version.
    pub fn set_identity(&mut self) {
        self.0[field::MAGIC].copy_from_slice(MAGIC);
        self.0[field::VERSION].copy_from_slice(&VERSION.to_le_bytes());
    }
    pub fn set_bucket_count(&mut self, v: u32) {
        self.0[field::BUCKET_COUNT].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_max_probe(&mut self, v: u32) {
        self.0[field::MAX_PROBE].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_buckets_off(&mut self, v: u32) {
        self.0[field::BUCKETS_OFF].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_zone_count(&mut self, v: u32) {
        self.0[field::ZONE_COUNT].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_zones_off(&mut self, v: u32) {
        self.0[field::ZONES_OFF].copy_from_slice(&v.to_le_bytes());
    }
}

/// Seals `table` as a writer does last: its total length and the checksum
/// of everything after the header. A no-op on bytes shorter than a header.
pub fn seal(table: &mut [u8]) {
    let sum = table.get(HEADER_LEN..).map_or(0, checksum);
    seal_with(table, sum);
}

/// [`seal`] with the checksum of the bytes after the header taken by the
/// caller (`TableBuf::seal`, a piece at a time).
pub fn seal_with(table: &mut [u8], sum: u64) {
    let total = table.len() as u64;
    let Some(header) = table.first_chunk_mut::<HEADER_LEN>() else { return };
    header[field::TOTAL_LEN].copy_from_slice(&total.to_le_bytes());
    header[field::CHECKSUM].copy_from_slice(&sum.to_le_bytes());
}

/// The `W` bytes of `field` (a constant range of `W`: the fallback is never
/// taken).
fn le<const W: usize>(h: &[u8; HEADER_LEN], field: Field) -> [u8; W] {
    h[field].try_into().unwrap_or([0; W])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn written_fields_read_back_and_seal_covers_the_rest() {
        let mut table = vec![0u8; HEADER_LEN + 5];
        let mut h = Header::new_checked_mut(&mut table).unwrap();
        h.set_identity();
        h.set_bucket_count(8);
        h.set_max_probe(3);
        h.set_buckets_off(64);
        h.set_zone_count(2);
        h.set_zones_off(128);
        seal(&mut table);
        let h = Header::new_checked(&table).unwrap();
        assert!(h.magic_ok());
        assert_eq!((h.version(), h.total_len(), h.checksum()), (VERSION, 69, checksum(&[0; 5])));
        assert_eq!(
            [h.bucket_count(), h.max_probe(), h.buckets_off(), h.zone_count(), h.zones_off()],
            [8, 3, 64, 2, 128]
        );
        // The layout format.rs documents, byte for byte.
        assert_eq!(&table[..8], b"RSPDTBL\0");
        assert_eq!(&table[16..24], &69u64.to_le_bytes());
        assert_eq!(&table[40..44], &64u32.to_le_bytes());
        assert_eq!(&table[48..52], &128u32.to_le_bytes());
        assert!(table[12..16].iter().chain(&table[52..64]).all(|&b| b == 0), "reserved bytes stay zero");
    }

    proptest! {
        /// Any bytes: a header when there are 64, `None` otherwise; sealing
        /// never panics and always makes the length and checksum agree.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(Header::new_checked(&bytes).is_some(), bytes.len() >= HEADER_LEN);
            let mut sealed = bytes.clone();
            seal(&mut sealed);
            if let Some(h) = Header::new_checked(&sealed) {
                prop_assert_eq!(h.total_len(), bytes.len() as u64);
                prop_assert_eq!(h.checksum(), checksum(&bytes[HEADER_LEN..]));
                let _ = (h.magic_ok(), h.version(), h.bucket_count(), h.max_probe(), h.buckets_off());
            } else {
                prop_assert_eq!(sealed, bytes);
            }
        }
    }
}

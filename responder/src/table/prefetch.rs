//! Batched lookups: a worker holding many queries asks for each one's
//! bucket, then each bucket's node, before answering any, so that their
//! cache misses overlap instead of following one another. On a table of
//! many megabytes each step is a miss to memory; issued for a whole batch at
//! once they cost about one miss per step, not one per query.
//!
//! Everything here is a hint: a wrong or stale slot only wastes a prefetch.

use super::format::{hash_name_lowering, u32_at};
use super::view::NodeView;
use super::Table;

/// How far before a node its response templates start: the compiler writes
/// the templates only a node uses just before it, and most are shorter.
const TEMPLATES_BEFORE_NODE: usize = 64;

impl Table {
    /// The bucket the lowered form of `name` (wire form, any case) hashes
    /// to, with the cache line holding it requested.
    #[inline]
    pub fn prefetch_bucket(&self, name: &[u8]) -> usize {
        let slot = hash_name_lowering(name) as usize & self.bucket_mask;
        prefetch(self.as_bytes(), self.buckets_off + slot * 4);
        slot
    }

    /// Requests the node that bucket `slot` holds, and the templates before
    /// it. Reads the bucket: call it once the bucket's line had time to arrive.
    #[inline]
    pub fn prefetch_node(&self, slot: usize) {
        let b = self.as_bytes();
        let Some(off) = u32_at(b, self.buckets_off + (slot & self.bucket_mask) * 4) else { return };
        let off = off as usize;
        if off != 0 {
            prefetch(b, off.saturating_sub(TEMPLATES_BEFORE_NODE));
            prefetch(b, off);
        }
    }

    /// Requests the template that answers `qtype` at the node in bucket
    /// `slot`. Reads the node: call it once the node's line had time to arrive.
    #[inline]
    pub fn prefetch_response(&self, slot: usize, qtype: u16) {
        let b = self.as_bytes();
        let Some(off) = u32_at(b, self.buckets_off + (slot & self.bucket_mask) * 4) else { return };
        let Some(node) = NodeView::parse(b, off as usize) else { return };
        let response = node.response_for(qtype) as usize;
        prefetch(b, response);
        prefetch(b, response + 64);
    }
}

/// Asks the CPU to bring the cache line holding `bytes[at]` into L1; does
/// nothing when `at` is out of range.
#[inline(always)]
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(at) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` is unsafe only because it is declared for the
        // SSE target feature, which every x86_64 CPU has (it is part of the
        // baseline the compiler targets). A prefetch is a hint: it never
        // faults and changes no memory, and the address is a live byte anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::EXAMPLE;
    use crate::table::Table;

    #[test]
    fn the_prefetched_bucket_is_the_one_a_lookup_probes_first() {
        let zone = crate::zone::parse_str(EXAMPLE, "t.zone", None).unwrap();
        let t = Table::compile(&[zone]).unwrap();
        let name = b"\x03www\x07example\x03com\x00";
        let slot = t.prefetch_bucket(name);
        assert_eq!(t.prefetch_bucket(b"\x03WwW\x07EXAMPLE\x03com\x00"), slot, "any case");
        let node = t.find(name).expect("www is in the zone");
        // The node sits in that slot or a later one of its probe chain.
        let reachable = (0..=t.max_probe).any(|i| {
            let s = (slot + i) & t.bucket_mask;
            crate::table::format::u32_at(t.as_bytes(), t.buckets_off + s * 4) == Some(node.offset() as u32)
        });
        assert!(reachable);
        // Any slot is accepted, including ones past the table.
        for slot in [0, usize::MAX, slot] {
            t.prefetch_node(slot);
        }
    }
}

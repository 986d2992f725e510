//! Batched lookups: a worker holding many queries asks for each one's
//! bucket, then each bucket's node, before answering any, so that their
//! cache misses overlap instead of following one another. On a table of
//! many megabytes each step is a miss to memory; issued for a whole batch at
//! once they cost about one miss per step, not one per query.
//!
//! Everything here is a hint: a wrong or stale slot only wastes a prefetch.

use super::denial::LastChain;
use super::format::{hash_name_lowering, tag, u64_at, BUCKET_LEN};
use super::view::{NodeView, ResponseView};
use super::{same_name, Table};

/// A cache line.
pub(super) const LINE: usize = 64;
/// Cache lines of a DO=1 template requested: an RRset with its RRSIG, and
/// the start of the next.
const SIGNED_LINES: usize = 4;

/// How far before a node its response templates start: the compiler writes
/// the templates only a node uses just before it, and most are shorter.
const TEMPLATES_BEFORE_NODE: usize = 64;

impl Table {
    /// The hash of the lowered form of `name` (wire form, any case), with
    /// the cache line of its first bucket requested.
    #[inline]
    pub fn prefetch_bucket(&self, name: &[u8]) -> u64 {
        let hash = hash_name_lowering(name);
        prefetch(self.as_bytes(), self.buckets_off + (hash as usize & self.bucket_mask) * BUCKET_LEN);
        hash
    }

    /// Requests the node a lookup of `hash` will compare, and the templates
    /// before it. Reads the buckets: call it once their line had time to
    /// arrive. A name the table lacks (no bucket with its tag) costs no
    /// request at all, and is told apart by the `false` returned.
    #[inline]
    pub fn prefetch_node(&self, hash: u64) -> bool {
        let Some(off) = self.tagged_node(hash) else { return false };
        let b = self.as_bytes();
        prefetch(b, off.saturating_sub(TEMPLATES_BEFORE_NODE));
        prefetch(b, off);
        true
    }

    /// Requests the template that answers `qtype` at the node of `hash`.
    /// Reads the node: call it once the node's line had time to arrive.
    #[inline]
    pub fn prefetch_response(&self, hash: u64, qtype: u16) {
        let Some(node) = self.tagged_node(hash).and_then(|off| NodeView::parse(self.as_bytes(), off)) else { return };
        let response = node.response_for(qtype) as usize;
        prefetch(self.as_bytes(), response);
        prefetch(self.as_bytes(), response + 64);
    }

    /// Requests the DO=1 variant of the template that answers `qtype` at
    /// the node of `hash` (RRSIGs and proofs: written before the DO=0 one,
    /// which names it). Reads that template's header: call it once
    /// [`Table::prefetch_response`]'s lines had time to arrive.
    #[inline]
    pub fn prefetch_signed_response(&self, hash: u64, qtype: u16) {
        let b = self.as_bytes();
        let Some(node) = self.tagged_node(hash).and_then(|off| NodeView::parse(b, off)) else { return };
        let Some(unsigned) = ResponseView::parse(b, node.response_for(qtype) as usize) else { return };
        if unsigned.signed != 0 {
            for line in 0..SIGNED_LINES {
                prefetch(b, unsigned.signed as usize + line * LINE);
            }
        }
    }

    /// For a DO=1 query of a name the table lacks (lowercase wire form):
    /// the zone whose NSEC3 chain will prove it absent (or the wildcard
    /// answering it, RFC 5155 §7.2.6) and the next closer name, where its
    /// closest encloser proof starts. `None` when no zone with an NSEC3
    /// chain holds the name, or the answer is a referral or a DNAME's. The
    /// same walk as `engine::resolve::plan`'s, which the answer makes again
    /// on lines this one brought in.
    /// `chains` keeps the chain parsed for the passes that follow; `last`
    /// the closest encloser found when it was the name's parent, which the
    /// next name of the batch with that parent takes without a lookup.
    pub fn nsec3_next_closer<'t, 'n>(
        &'t self,
        name: &'n [u8],
        chains: &mut LastChain<'t>,
        last: &mut LastEncloser,
    ) -> Option<NextCloser<'t, 'n>> {
        // The same parent as the last name's whose parent was its closest
        // encloser (in this table: the caller keeps `last` for one batch):
        // the lookup would find the same node.
        let first = *name.first()? as usize;
        if first != 0 && last.len != 0 && name.get(1 + first..).is_some_and(|p| same_name(p, last.name())) {
            let chain = chains.get(self, last.zone).filter(|c| c.is_nsec3())?;
            return Some(NextCloser { zone: last.zone, name, salt: chain.salt, iterations: chain.iterations });
        }
        let mut start = 0;
        loop {
            let len = *name.get(start)? as usize;
            if len == 0 {
                return None;
            }
            let parent = start + 1 + len;
            if let Some(node) = self.find(name.get(parent..)?) {
                if node.is_cut() || node.dname().is_some() {
                    return None;
                }
                let zone = node.zone();
                let chain = chains.get(self, zone).filter(|c| c.is_nsec3())?;
                if start == 0 {
                    last.keep(&name[parent..], zone);
                }
                return Some(NextCloser { zone, name: &name[start..], salt: chain.salt, iterations: chain.iterations });
            }
            start = parent;
        }
    }

    /// The node of the first bucket in `hash`'s probe chain with its tag:
    /// the node [`Table::find`] most likely returns. The same walk as
    /// `Table::find_hashed`, written out twice on purpose: one iterator
    /// serving both cost the lookup 31 instructions per answer (callgrind,
    /// 985 → 1,016).
    #[inline(always)]
    fn tagged_node(&self, hash: u64) -> Option<usize> {
        let b = self.as_bytes();
        let mut slot = hash as usize & self.bucket_mask;
        for _ in 0..=self.max_probe {
            let bucket = u64_at(b, self.buckets_off + slot * BUCKET_LEN)?;
            match bucket as u32 {
                0 => return None,
                off if (bucket >> 32) as u32 == tag(hash) => return Some(off as usize),
                _ => slot = (slot + 1) & self.bucket_mask,
            }
        }
        None
    }
}

/// The closest encloser (a name and its zone, whose chain is NSEC3) that
/// [`Table::nsec3_next_closer`] last found one label above the name it
/// was given; kept for one batch, against one table.
pub struct LastEncloser {
    name: [u8; 255],
    /// 0: none kept.
    len: usize,
    zone: u32,
}

impl Default for LastEncloser {
    fn default() -> LastEncloser {
        LastEncloser { name: [0; 255], len: 0, zone: 0 }
    }
}

impl LastEncloser {
    fn name(&self) -> &[u8] {
        &self.name[..self.len]
    }

    fn keep(&mut self, name: &[u8], zone: u32) {
        if let Some(to) = self.name.get_mut(..name.len()) {
            to.copy_from_slice(name);
            (self.len, self.zone) = (name.len(), zone);
        }
    }
}

/// Where a DO=1 denial of a name starts (see [`Table::nsec3_next_closer`]).
pub struct NextCloser<'t, 'n> {
    pub zone: u32,
    /// The next closer name: a suffix of the name asked for.
    pub name: &'n [u8],
    pub salt: &'t [u8],
    pub iterations: u16,
}

/// Asks the CPU to bring the cache line holding `bytes[at]` into L1; does
/// nothing when `at` is out of range.
#[inline(always)]
pub(super) fn prefetch(bytes: &[u8], at: usize) {
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
    fn the_prefetched_node_is_the_one_a_lookup_finds() {
        let zone = crate::zone::parse_str(EXAMPLE, "t.zone", None).unwrap();
        let t = Table::compile(&[zone]).unwrap();
        let name = b"\x03www\x07example\x03com\x00";
        let hash = t.prefetch_bucket(name);
        assert_eq!(t.prefetch_bucket(b"\x03WwW\x07EXAMPLE\x03com\x00"), hash, "any case");
        let node = t.find(name).expect("www is in the zone");
        assert_eq!(t.tagged_node(hash), Some(node.offset()));
        let missing = t.prefetch_bucket(b"\x06nosuch\x07example\x03com\x00");
        assert_eq!(t.tagged_node(missing), None, "a name the table lacks has no node to fetch");
        // Any hash is accepted.
        for hash in [0, u64::MAX, hash, missing] {
            t.prefetch_node(hash);
            t.prefetch_response(hash, 1);
        }
    }
}

//! The bucket array both table writers end with (the compiler's and the
//! overlay's): where each node goes, so that the engine's one-hash lookup
//! finds them the same way in either.

use super::buf::Append;
use super::format::{hash_name, tag, BUCKET_LEN};

/// Where the buckets went in the table.
pub(super) struct Buckets {
    pub count: usize,
    pub off: usize,
    pub max_probe: u32,
}

/// Appends the buckets for the nodes at `nodes` (offsets into `out`, each
/// node's name its length byte then its lowercase wire form), at most 3/4
/// full. A probe past another name reads its 8-byte bucket, in a line
/// already fetched, and not its node (the tag tells them apart), so chains
/// may be longer than a table of bare offsets could afford at half full;
/// the array then takes about as much memory as one. Aligned, so that no
/// bucket straddles two cache lines.
pub(super) fn append(out: &mut impl Append, nodes: &[u32]) -> Buckets {
    let count = (nodes.len().max(1) * 4 / 3 + 1).next_power_of_two();
    let mask = count - 1;
    out.resize_zeroed(out.len().next_multiple_of(BUCKET_LEN));
    let off = out.len();
    out.resize_zeroed(off + count * BUCKET_LEN);
    let mut max_probe = 0u32;
    for &node_at in nodes {
        // Hashed as written into the node, not from a new copy.
        let at = node_at as usize;
        let hash = hash_name(&out[at + 1..at + 1 + out[at] as usize]);
        // The nodes are read in the order they were written: a table in a
        // file lets go of those read (the buckets, after them, stay).
        out.release_before(at);
        let mut slot = hash as usize & mask;
        let mut probe = 0u32;
        loop {
            let b = off + slot * BUCKET_LEN;
            if out[b..b + 4] == [0, 0, 0, 0] {
                out[b..b + 4].copy_from_slice(&node_at.to_le_bytes());
                out[b + 4..b + 8].copy_from_slice(&tag(hash).to_le_bytes());
                break;
            }
            slot = (slot + 1) & mask;
            probe += 1;
        }
        max_probe = max_probe.max(probe);
    }
    Buckets { count, off, max_probe }
}

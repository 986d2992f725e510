//! Load-time checks of a table: every node reachable from the buckets and
//! every response they reference must parse within the table's bounds, with
//! patches inside their buffers over placeholders, and checksum partial
//! sums that match their bytes (the engine trusts them for UDP checksums
//! rather than summing the answer again). The runtime stays bounds-checked regardless;
//! this turns a corrupt file into a clear error at load instead of wrong or
//! missing answers later.

use super::format::*;
use super::{Table, TableError};
use crate::wire::checksum;

pub(super) fn validate(t: &Table) -> Result<(), TableError> {
    let corrupt = TableError::Corrupt;
    for z in 0..t.zone_count() {
        let zone = t.zone(z as u32).ok_or(corrupt("zone record out of bounds"))?;
        response(t, zone.nxdomain)?;
        response(t, zone.nodata)?;
        // 0: the apex was dropped (occluded below another zone's DNAME).
        if zone.apex != 0 && t.node_at(zone.apex).is_none_or(|apex| apex.zone() as usize != z) {
            return Err(corrupt("zone apex is not a node of its zone"));
        }
        if zone.nsec_chain != 0 {
            let chain = t.denial_chain(z as u32).ok_or(corrupt("denial chain out of bounds"))?;
            if !chain.index_holds() {
                return Err(corrupt("NSEC3 chain index out of order"));
            }
            for i in 0..chain.len() {
                let (node, proof) = chain.entry(i).ok_or(corrupt("denial chain out of bounds"))?;
                if !chain.is_nsec3() {
                    t.node_at(node).ok_or(corrupt("NSEC chain node out of bounds"))?;
                }
                response(t, proof)?;
            }
        }
    }
    nodes(t)
}

/// Buckets per thread below which one thread checks them all (in tests a
/// few, so that the corruption tests go through the threads too).
const PER_THREAD: usize = if cfg!(test) { 4 } else { 1 << 16 };
/// How many buckets ahead a node is requested: enough to cover a miss to
/// memory with the checks of the nodes in between.
const PREFETCH_AHEAD: usize = 16;

/// Every node, the buckets split among the CPUs: the nodes lie in a
/// different order from their buckets, so each is a miss to memory, and a
/// 10-million-name table is started in the time it takes to check them.
fn nodes(t: &Table) -> Result<(), TableError> {
    let buckets = t.bucket_mask + 1;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cpus.min(buckets / PER_THREAD).max(1);
    if threads == 1 {
        return node_range(t, 0, buckets);
    }
    let share = buckets.div_ceil(threads);
    std::thread::scope(|s| {
        let checks: Vec<_> =
            (0..threads).map(|i| s.spawn(move || node_range(t, i * share, ((i + 1) * share).min(buckets)))).collect();
        // A thread that panicked is a bug in the checks, not in the table.
        checks.into_iter().try_for_each(|c| c.join().expect("table check thread"))
    })
}

fn node_range(t: &Table, from: usize, to: usize) -> Result<(), TableError> {
    let corrupt = TableError::Corrupt;
    let b = t.as_bytes();
    let bucket = |slot: usize| u32_at(b, t.buckets_off + slot * BUCKET_LEN).unwrap_or(0);
    for slot in from..to {
        if slot + PREFETCH_AHEAD < to {
            let ahead = bucket(slot + PREFETCH_AHEAD);
            if ahead != 0 {
                super::prefetch::prefetch(b, ahead as usize);
            }
        }
        let off = bucket(slot);
        if off == 0 {
            continue;
        }
        let node = t.node_at(off).ok_or(corrupt("node out of bounds"))?;
        if node.name().is_empty() || node.name().len() > 255 {
            return Err(corrupt("node name malformed"));
        }
        if node.zone() as usize >= t.zone_count() {
            return Err(corrupt("node refers to a zone that does not exist"));
        }
        response(t, node.default_response())?;
        for (_, r) in node.types() {
            response(t, r)?;
        }
        if let Some(w) = node.wildcard_child() {
            t.node_at(w).ok_or(corrupt("wildcard child out of bounds"))?;
        }
        if let Some((zone, r)) = node.parent_cut() {
            if zone as usize >= t.zone_count() {
                return Err(corrupt("parent referral names a zone that does not exist"));
            }
            response(t, r)?;
        }
        if node.dname().is_some_and(|d| d.target.is_empty()) {
            return Err(corrupt("DNAME target empty"));
        }
        if let Some(wild) = node.denial_proof(0) {
            let chain = t.denial_chain(node.zone()).ok_or(corrupt("closest encloser proofs without a chain"))?;
            let matching = if chain.is_nsec3() { node.denial_proof(1) } else { Some(0) };
            let past = |i: u32| i as usize >= chain.len();
            if (past(wild) && wild != u32::MAX) || matching.is_none_or(past) {
                return Err(corrupt("closest encloser proof past its chain"));
            }
        }
        // The runtime must find every node through its own name.
        if t.find(node.name()).map(|n| n.offset()) != Some(node.offset()) {
            return Err(corrupt("node not reachable through the hash index"));
        }
    }
    Ok(())
}

fn response(t: &Table, off: u32) -> Result<(), TableError> {
    let r = t.response(off).ok_or(TableError::Corrupt("response out of bounds"))?;
    if r.signed != 0 {
        let signed = t.response(r.signed).ok_or(TableError::Corrupt("DO=1 response out of bounds"))?;
        // One step only: the runtime follows a single link.
        if signed.signed != 0 {
            return Err(TableError::Corrupt("DO=1 response has a DO=1 variant of its own"));
        }
        sections(signed)?;
    }
    sections(r)
}

fn sections(r: crate::table::ResponseView<'_>) -> Result<(), TableError> {
    bytes_ok(r.body, r.body_sum, r.patches)?;
    body_targets_reach(r.patches)?;
    let mut n = 0;
    // Every section count, plus OPT, must fit the header's 16-bit fields
    // even when all additional chunks are sent.
    let mut additional = 1u32;
    for c in r.chunks() {
        bytes_ok(c.bytes, c.sum, c.patches)?;
        body_targets_reach(c.patches)?;
        additional += c.arcount as u32;
        n += 1;
    }
    if additional > u16::MAX as u32 {
        return Err(TableError::Corrupt("additional section count over 65535"));
    }
    if n != r.chunk_count() {
        return Err(TableError::Corrupt("additional chunks out of bounds"));
    }
    Ok(())
}

/// A body or chunk: each patch over a placeholder, and the stored sum right.
fn bytes_ok(bytes: &[u8], stored_sum: u64, patches: &[u8]) -> Result<(), TableError> {
    for p in patches.chunks_exact(PATCH_LEN) {
        let pos = u16::from_le_bytes([p[0], p[1]]) as usize;
        match bytes.get(pos..pos + 2) {
            None => return Err(TableError::Corrupt("compression patch outside its response")),
            Some(placeholder) if placeholder != PLACEHOLDER => {
                return Err(TableError::Corrupt("compression patch not over a placeholder"))
            }
            Some(_) => {}
        }
    }
    if checksum::fold(checksum::sum(bytes)) as u64 != stored_sum {
        return Err(TableError::Corrupt("checksum partial sum does not match its bytes"));
    }
    Ok(())
}

/// The body lands right after the question: a pointer into it must reach
/// after the longest question too.
fn body_targets_reach(patches: &[u8]) -> Result<(), TableError> {
    for p in patches.chunks_exact(PATCH_LEN) {
        let target = u16::from_le_bytes([p[2], p[3]]);
        if target & TARGET_KIND_MASK == TARGET_BODY && target as usize > MAX_BODY_TARGET {
            return Err(TableError::Corrupt("compression target beyond a pointer's reach"));
        }
    }
    Ok(())
}

//! A denial proof (an NSEC or NSEC3 with its RRSIGs) placed in the
//! authority section at answer time (`engine/denial.rs`). The compiler
//! wrote it without a query: its owner's labels below the zone's apex
//! spelled out, the apex a pointer to the query name's suffix. Knot points
//! an owner at the longest suffix it shares with the query name, so here
//! the owner's labels that the query name also has, above the apex, give
//! way to a pointer there too: the answer spells them as the question does
//! and is as long as Knot's (RFC 4343 §3 and RFC 1035 §4.1.4 allow either;
//! the differential test against Knot allows no difference).

use super::query::Query;
use super::reply::{Failure, Names, Reply};
use crate::table::format::*;
use crate::table::ResponseView;
use crate::wire::checksum;

/// Most labels a name can have.
const MAX_LABELS: usize = 128;

/// How the compiled owner ends and how much of it the query name shares.
struct Shared {
    /// Bytes of the owner's leading labels kept as they are.
    keep: usize,
    /// Where the compiled owner's pointer to the apex sits.
    pointer: usize,
    /// Labels of the query name's suffix the new pointer targets.
    labels: usize,
}

impl Reply<'_> {
    /// Appends a proof's records to the authority section.
    #[cold]
    pub(super) fn proof<N: Names>(
        &mut self,
        query: &Query,
        names: &N,
        p: &ResponseView<'_>,
        room: usize,
    ) -> Result<(), Failure> {
        if p.ancount != 0 {
            return Err(Failure::Corrupt);
        }
        let start = self.pos;
        let Some(s) = shared(query, p) else {
            // Nothing shared above the apex (or a table from before the
            // owner pointed at the apex): the proof as compiled.
            let end = start + p.body.len();
            if end > room {
                return Err(Failure::Truncated);
            }
            self.buf[start..end].copy_from_slice(p.body);
            let patched = super::reply::patch(self.buf, start, p.patches, names, start, start)?;
            self.add_sum(checksum::combine(checksum::placed(p.body_sum, start), patched));
            return self.placed(end, p);
        };
        let rest = s.pointer + PLACEHOLDER.len();
        // Bytes the owner loses: its shared labels and nothing else.
        let cut = s.pointer - s.keep;
        let end = start + p.body.len() - cut;
        if end > room {
            return Err(Failure::Truncated);
        }
        let target = names.suffix(s.labels).ok_or(Failure::Corrupt)?;
        self.buf[start..start + s.keep].copy_from_slice(&p.body[..s.keep]);
        self.buf[start + s.keep..start + s.keep + 2].copy_from_slice(&pointer(target)?);
        self.buf[start + s.keep + 2..end].copy_from_slice(&p.body[rest..]);
        for patch in p.patches.chunks_exact(PATCH_LEN) {
            let pos = u16::from_le_bytes([patch[0], patch[1]]) as usize;
            if pos == s.pointer {
                continue;
            }
            let value = u16::from_le_bytes([patch[2], patch[3]]);
            let offset = (value & TARGET_VALUE_MASK) as usize;
            let ptr = match value & TARGET_KIND_MASK {
                TARGET_QSUFFIX => names.suffix(offset).ok_or(Failure::Corrupt)?,
                TARGET_QNAME => names.whole(),
                // `rewritable` let through only the owner itself and what
                // follows it.
                _ if offset == 0 => start,
                _ => start + offset - cut,
            };
            let at = start + pos - cut;
            self.buf.get_mut(at..at + 2).ok_or(Failure::Corrupt)?.copy_from_slice(&pointer(ptr)?);
        }
        // Rare enough to sum the bytes written rather than adjust the stored sum.
        self.add_sum(checksum::placed(checksum::sum(&self.buf[start..end]), start));
        self.placed(end, p)
    }

    fn placed(&mut self, end: usize, p: &ResponseView<'_>) -> Result<(), Failure> {
        self.pos = end;
        self.nscount = self.nscount.checked_add(p.nscount).ok_or(Failure::Corrupt)?;
        Ok(())
    }
}

fn pointer(target: usize) -> Result<[u8; 2], Failure> {
    if target > TARGET_VALUE_MASK as usize {
        return Err(Failure::Truncated);
    }
    Ok((0xc000 | target as u16).to_be_bytes())
}

/// The labels of the proof's owner, above its zone's apex, that the query
/// name shares, counted from the apex down; `None` when there are none or
/// the proof is not shaped as the compiler writes it (owner labels, then a
/// pointer to the query name's suffix at the apex, and no other pointer
/// into the owner than one to all of it). The test that rejects nearly
/// every proof (an NSEC3 owner's label is a hash) is inlined: as a call of
/// its own, with the label starts below, its frame cost more than the test.
#[inline(always)]
fn shared(query: &Query, p: &ResponseView<'_>) -> Option<Shared> {
    let body = p.body;
    // First only the owner's last label: for most proofs the label starts
    // are never needed.
    let (mut n, mut pos, mut last) = (0, 0, 0);
    while let Some(&len) = body.get(pos).filter(|&&l| (1..=63).contains(&l)) {
        last = pos;
        n += 1;
        pos += 1 + len as usize;
    }
    if n == 0 || n > MAX_LABELS || body.get(pos..pos + 2)? != PLACEHOLDER {
        return None;
    }
    // The owner's pointer to the apex: the compiler writes it first.
    let first = p.patches.first_chunk::<PATCH_LEN>()?;
    let value = u16::from_le_bytes([first[2], first[3]]);
    if u16::from_le_bytes([first[0], first[1]]) as usize != pos || value & TARGET_KIND_MASK != TARGET_QSUFFIX {
        return None;
    }
    let apex = (value & TARGET_VALUE_MASK) as usize;
    // The labels are compared before the other patches are checked: most
    // proofs end there.
    let above = query.question.labels.checked_sub(apex)?;
    if above == 0 || !same_label(query, &body[last..], above - 1)? {
        return None;
    }
    shared_labels(query, p, n, pos, apex, above)
}

/// Whether the label at the start of `ours` is the query name's label
/// after its first `skip` labels (ASCII case aside).
#[inline(always)]
fn same_label(query: &Query, ours: &[u8], skip: usize) -> Option<bool> {
    let theirs = query.lname().get(query.suffix_start(skip)..)?;
    let len = ours[0] as usize;
    Some(theirs.first() == Some(&ours[0]) && ours[1..=len].eq_ignore_ascii_case(theirs.get(1..=len)?))
}

/// [`shared`] past its first label: the `n` owner labels, the apex's
/// pointer at `pos`, the query name `above` labels longer than the apex.
#[cold]
#[inline(never)]
fn shared_labels(
    query: &Query,
    p: &ResponseView<'_>,
    n: usize,
    pos: usize,
    apex: usize,
    above: usize,
) -> Option<Shared> {
    let body = p.body;
    // Bytes, not words: an owner is at most 255 bytes, and this array is
    // cleared for every proof that gets this far (as `usize`, 1 KiB: it
    // was most of this function's instructions).
    let mut starts = [0u8; MAX_LABELS];
    let mut at = 0;
    for start in &mut starts[..n] {
        *start = u8::try_from(at).ok()?;
        at += 1 + body[at] as usize;
    }
    let mut same = 0;
    while same < n.min(above) {
        if !same_label(query, &body[starts[n - 1 - same] as usize..], above - 1 - same)? {
            break;
        }
        same += 1;
    }
    if same == 0 {
        return None;
    }
    for patch in p.patches[PATCH_LEN..].chunks_exact(PATCH_LEN) {
        let at = u16::from_le_bytes([patch[0], patch[1]]) as usize;
        let value = u16::from_le_bytes([patch[2], patch[3]]);
        let offset = (value & TARGET_VALUE_MASK) as usize;
        match value & TARGET_KIND_MASK {
            TARGET_QSUFFIX | TARGET_QNAME if at > pos => {}
            _ if at > pos && (offset == 0 || offset >= pos + 2) => {}
            _ => return None,
        }
    }
    Some(Shared { keep: starts[n - same] as usize, pointer: pos, labels: apex + same })
}

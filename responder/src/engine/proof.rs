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
use super::reply::{put_pointer, Failure, Names, Reply};
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

/// What every proof of an answer looks up alike, found for the first one
/// and kept for the others: the proofs of one zone all point their owners
/// and their RRSIGs' signers at the apex, the same suffix of the query
/// name, and all ask whether the query name's label just above that apex
/// is their owner's.
struct Memo {
    /// The last query-suffix target resolved (kind bits included) and the
    /// offset it resolved to; `u32::MAX` for none.
    target: u32,
    ptr: usize,
    /// The apex (labels) whose label above [`Memo::above`] is for, and
    /// where that label starts in the lowered query name; `usize::MAX`
    /// for none.
    apex: usize,
    above: usize,
}

impl Reply<'_> {
    /// Appends proofs' records to the authority section, in order. One
    /// call for all of them: a call per proof cost its frame each time.
    #[cold]
    #[inline(never)]
    pub(super) fn proofs<N: Names>(
        &mut self,
        query: &Query,
        names: &N,
        proofs: &[Option<ResponseView<'_>>],
        room: usize,
    ) -> Result<(), Failure> {
        let mut memo = Memo { target: u32::MAX, ptr: 0, apex: usize::MAX, above: 0 };
        for p in proofs.iter().flatten() {
            self.proof(query, names, p, room, &mut memo)?;
        }
        Ok(())
    }

    /// Appends a proof's records to the authority section.
    #[inline(always)]
    fn proof<N: Names>(
        &mut self,
        query: &Query,
        names: &N,
        p: &ResponseView<'_>,
        room: usize,
        memo: &mut Memo,
    ) -> Result<(), Failure> {
        if p.ancount != 0 {
            return Err(Failure::Corrupt);
        }
        let start = self.pos;
        let Some(s) = shared(query, p, memo) else {
            // Nothing shared above the apex (or a table from before the
            // owner pointed at the apex): the proof as compiled.
            let end = start + p.body.len();
            if end > room {
                return Err(Failure::Truncated);
            }
            self.buf[start..end].copy_from_slice(p.body);
            let patched = patch(self.buf, start, p.patches, names, memo)?;
            self.add_sum(checksum::combine(checksum::placed(p.body_sum, start), patched));
            return self.placed(end, p);
        };
        self.proof_shared(names, p, room, s)
    }

    /// [`Reply::proof`] for a proof whose owner shares labels with the
    /// query name above the apex: rare (an NSEC3 owner's label is a hash).
    #[cold]
    #[inline(never)]
    fn proof_shared<N: Names>(
        &mut self,
        names: &N,
        p: &ResponseView<'_>,
        room: usize,
        s: Shared,
    ) -> Result<(), Failure> {
        let start = self.pos;
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

    #[inline(always)]
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

/// `reply::patch` for a proof placed whole at `start` (its body and chunk
/// targets are both relative to it), with the query-suffix target kept in
/// `memo`: the same pointers, the same sum.
#[inline(always)]
fn patch<N: Names>(buf: &mut [u8], start: usize, patches: &[u8], names: &N, memo: &mut Memo) -> Result<u64, Failure> {
    let mut sum = 0u64;
    for p in patches.chunks_exact(PATCH_LEN) {
        let pos = start + u16::from_le_bytes([p[0], p[1]]) as usize;
        let target = u16::from_le_bytes([p[2], p[3]]);
        let value = (target & TARGET_VALUE_MASK) as usize;
        let ptr = if u32::from(target) == memo.target {
            memo.ptr
        } else {
            match target & TARGET_KIND_MASK {
                TARGET_QSUFFIX => {
                    let ptr = names.suffix(value).ok_or(Failure::Corrupt)?;
                    (memo.target, memo.ptr) = (u32::from(target), ptr);
                    ptr
                }
                TARGET_QNAME => names.whole(),
                _ => start + value,
            }
        };
        // At most 65,535 patches of 24 bits each: a plain add cannot overflow.
        sum += put_pointer(buf, pos, ptr)?;
    }
    Ok(sum)
}

/// The labels of the proof's owner, above its zone's apex, that the query
/// name shares, counted from the apex down; `None` when there are none or
/// the proof is not shaped as the compiler writes it (owner labels, then a
/// pointer to the query name's suffix at the apex, and no other pointer
/// into the owner than one to all of it). The test that rejects nearly
/// every proof (an NSEC3 owner's label is a hash) is inlined: as a call of
/// its own, with the label starts below, its frame cost more than the test.
#[inline(always)]
fn shared(query: &Query, p: &ResponseView<'_>, memo: &mut Memo) -> Option<Shared> {
    let body = p.body;
    // The owner's pointer to the apex: the compiler writes it first.
    let first = p.patches.first_chunk::<PATCH_LEN>()?;
    let pos = u16::from_le_bytes([first[0], first[1]]) as usize;
    let value = u16::from_le_bytes([first[2], first[3]]);
    if value & TARGET_KIND_MASK != TARGET_QSUFFIX {
        return None;
    }
    // The owner's labels must end there; only the last one is compared
    // first, for most proofs the label starts are never needed. An NSEC3
    // owner is one label (its hash) above the apex: told without a walk.
    let (n, last) = match body.first() {
        Some(&len) if (1..=63).contains(&len) && 1 + len as usize == pos => (1, 0),
        _ => owner_labels(body, pos)?,
    };
    if body.get(pos..pos + 2)? != PLACEHOLDER {
        return None;
    }
    let apex = (value & TARGET_VALUE_MASK) as usize;
    // The labels are compared before the other patches are checked: most
    // proofs end there.
    let above = query.question.labels.checked_sub(apex)?;
    if above == 0 {
        return None;
    }
    if memo.apex != apex {
        (memo.apex, memo.above) = (apex, query.suffix_start(above - 1));
    }
    if !same_label_at(query, &body[last..], memo.above)? {
        return None;
    }
    shared_labels(query, p, n, pos, apex, above)
}

/// The number of labels of an owner that ends at `end` (the labels
/// before a byte that is not a label's length, there), and where its last
/// label starts.
fn owner_labels(body: &[u8], end: usize) -> Option<(usize, usize)> {
    let (mut n, mut pos, mut last) = (0, 0, 0);
    while let Some(&len) = body.get(pos).filter(|&&l| (1..=63).contains(&l)) {
        last = pos;
        n += 1;
        pos += 1 + len as usize;
    }
    (n != 0 && n <= MAX_LABELS && pos == end).then_some((n, last))
}

/// Whether the label at the start of `ours` is the query name's label
/// after its first `skip` labels (ASCII case aside).
#[inline(always)]
fn same_label(query: &Query, ours: &[u8], skip: usize) -> Option<bool> {
    same_label_at(query, ours, query.suffix_start(skip))
}

/// [`same_label`] for the query name's label that starts at `at`.
#[inline(always)]
fn same_label_at(query: &Query, ours: &[u8], at: usize) -> Option<bool> {
    let theirs = query.lname().get(at..)?;
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

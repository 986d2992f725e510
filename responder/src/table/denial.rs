//! Finding the NSEC or NSEC3 that proves a name absent (RFC 4035 §3.1.3,
//! RFC 5155 §7.2): the last owner at or before the name in canonical order
//! (RFC 4034 §6.1), or the last hash at or before the name's, by binary
//! search over the zone's chain. Run only for DO=1 answers that the
//! compiler cannot finish (NXDOMAIN, wildcards): no allocation, at most
//! log2(owners) name comparisons.

use super::format::*;
use super::nsec3_hash::{nsec3_hash, HASH_LEN};
use super::prefetch::{prefetch, LINE};
use super::view::{NodeView, ResponseView};
use super::Table;
use std::cmp::Ordering;

/// Cache lines of a proof the batch prefetcher requests.
const PROOF_LINES: usize = 4;

/// Most labels a wire name of 255 bytes can have.
const MAX_LABELS: usize = 128;

/// Where each label of a wire name starts, and how many there are; `None`
/// for bytes that are not a name.
fn label_starts(name: &[u8], starts: &mut [u8; MAX_LABELS]) -> Option<usize> {
    let mut pos = 0;
    let mut n = 0;
    loop {
        let len = *name.get(pos)? as usize;
        if len == 0 {
            return Some(n);
        }
        *starts.get_mut(n)? = pos as u8;
        n += 1;
        pos += 1 + len;
    }
}

/// Canonical order of two lowercase wire names: labels compared from the
/// root down as octet strings (a label before any longer one it begins),
/// then the name with fewer labels first.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let (mut sa, mut sb) = ([0u8; MAX_LABELS], [0u8; MAX_LABELS]);
    let (na, nb) = (label_starts(a, &mut sa)?, label_starts(b, &mut sb)?);
    fn label(name: &[u8], start: u8) -> &[u8] {
        let s = start as usize;
        name.get(s + 1..s + 1 + name[s] as usize).unwrap_or_default()
    }
    for i in 1..=na.min(nb) {
        match label(a, sa[na - i]).cmp(label(b, sb[nb - i])) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(na.cmp(&nb))
}

/// A proof: which entry of the chain (an NSEC's node offset, an NSEC3's
/// index), whether its owner is the name itself, and its records.
#[derive(Clone, Copy)]
pub struct Proof<'t> {
    pub id: u32,
    pub exact: bool,
    pub response: ResponseView<'t>,
}

pub const CHAIN_NSEC: u8 = 1;
pub const CHAIN_NSEC3: u8 = 3;
/// The most leading hash bits an NSEC3 chain's index may use.
pub const MAX_INDEX_BITS: u32 = 24;

/// How many leading hash bits index an NSEC3 chain of `count` entries:
/// about one entry per slot, 4 bytes each.
pub fn index_bits(count: usize) -> u32 {
    (usize::BITS - 1).saturating_sub(count.leading_zeros()).min(MAX_INDEX_BITS)
}

/// The slot of the index a hash falls in.
pub fn index_slot(hash: &[u8; HASH_LEN], bits: u32) -> usize {
    (u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) as u64 >> (32 - bits)) as usize
}

/// A zone's denial chain (see `format`): NSEC owners in canonical order,
/// or NSEC3 hashes in order with the zone's salt and iterations.
#[derive(Clone, Copy)]
pub struct Chain<'t> {
    b: &'t [u8],
    nsec3: bool,
    pub salt: &'t [u8],
    pub iterations: u16,
    count: usize,
    entries: usize,
    /// NSEC3: where the entries of each leading `index_bits` of a hash
    /// begin, so that a search reads one or two lines of entries instead
    /// of a cache miss per halving.
    index: &'t [u8],
    index_bits: u32,
}

/// Where a zone's chain lies in the table: its header parsed once, when
/// the table is loaded (`Table::structural`), not again for each NXDOMAIN
/// (reading the zone's record and parsing the header was about 100
/// instructions of every signed denial's answer).
#[derive(Clone, Copy)]
pub(super) struct ChainAt {
    nsec3: bool,
    iterations: u16,
    salt: (usize, usize),
    count: usize,
    entries: usize,
    index: (usize, usize),
    index_bits: u32,
}

impl ChainAt {
    pub(super) fn is_nsec3(&self) -> bool {
        self.nsec3
    }
}

impl Table {
    /// The denial chain of zone `zone`; `None` when it has none (or the
    /// bytes do not hold one).
    #[inline]
    pub fn denial_chain(&self, zone: u32) -> Option<Chain<'_>> {
        let at = self.chain_at(zone)?;
        let b = self.as_bytes();
        Some(Chain {
            b,
            nsec3: at.nsec3,
            salt: b.get(at.salt.0..at.salt.1)?,
            iterations: at.iterations,
            count: at.count,
            entries: at.entries,
            index: b.get(at.index.0..at.index.1)?,
            index_bits: at.index_bits,
        })
    }

    /// Parses zone `zone`'s chain header, checking that its entries lie
    /// within the bytes.
    pub(super) fn parse_chain_at(&self, zone: u32) -> Option<ChainAt> {
        let at = self.zone(zone)?.nsec_chain as usize;
        if at == 0 {
            return None;
        }
        let b = self.as_bytes();
        let (nsec3, salt, iterations, count_at) = match *b.get(at)? {
            CHAIN_NSEC => (false, (0, 0), 0, at + 1),
            CHAIN_NSEC3 => {
                let iterations = u16_at(b, at + 1)?;
                let salt_len = *b.get(at + 3)? as usize;
                b.get(at + 4..at + 4 + salt_len)?;
                (true, (at + 4, at + 4 + salt_len), iterations, at + 4 + salt_len)
            }
            _ => return None,
        };
        let count = u32_at(b, count_at)? as usize;
        let (mut entries, mut index, mut index_bits) = (count_at + 4, (0, 0), 0);
        if nsec3 {
            index_bits = *b.get(entries)? as u32;
            if index_bits > MAX_INDEX_BITS {
                return None;
            }
            let len = ((1usize << index_bits) + 1) * 4;
            b.get(entries + 1..entries + 1 + len)?;
            index = (entries + 1, entries + 1 + len);
            entries += 1 + len;
        }
        let width = if nsec3 { NSEC3_ENTRY_LEN } else { CHAIN_ENTRY_LEN };
        b.get(entries..entries.checked_add(count.checked_mul(width)?)?)?;
        Some(ChainAt { nsec3, iterations, salt, count, entries, index, index_bits })
    }
}

impl<'t> Chain<'t> {
    pub fn is_nsec3(&self) -> bool {
        self.nsec3
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Entry `i`: the node offset (NSEC) or index (NSEC3), and its proof.
    pub fn entry(&self, i: usize) -> Option<(u32, u32)> {
        if self.nsec3 {
            let at = self.entries + i * NSEC3_ENTRY_LEN;
            Some((i as u32, u32_at(self.b, at + HASH_LEN)?))
        } else {
            let at = self.entries + i * CHAIN_ENTRY_LEN;
            Some((u32_at(self.b, at)?, u32_at(self.b, at + 4)?))
        }
    }

    fn cmp_entry(&self, i: usize, name: &[u8], hash: &[u8; HASH_LEN]) -> Option<Ordering> {
        if self.nsec3 {
            // Not a slice comparison: that is a `memcmp` call per halving.
            array_at::<HASH_LEN>(self.b, self.entries + i * NSEC3_ENTRY_LEN).map(|e| hash_cmp(e, hash))
        } else {
            canonical_cmp(NodeView::name_at(self.b, self.entry(i)?.0 as usize)?, name)
        }
    }

    /// The NSEC or NSEC3 that matches or covers the lowercase wire name
    /// `name`: the last entry not after it, wrapping to the last entry
    /// before the first (RFC 4034 §4.1.1, RFC 5155 §3.1.7).
    pub fn proof(&self, table: &'t Table, name: &[u8]) -> Option<Proof<'t>> {
        let hash = if self.nsec3 { self.hash(name) } else { [0; HASH_LEN] };
        self.proof_searched(table, name, &hash)
    }

    /// [`Chain::proof`] of an NSEC3 chain for a name whose hash is known
    /// (hashed ahead by the batch prefetcher, `engine::Prefetch`).
    pub fn proof_of_hash(&self, table: &'t Table, hash: &[u8; HASH_LEN]) -> Option<Proof<'t>> {
        if !self.nsec3 {
            return None;
        }
        self.proof_searched(table, &[], hash)
    }

    /// [`Chain::proof_of_hash`] with the index of the entry the batch
    /// prefetcher found for the same hash ([`Chain::prefetch_proof`]): the
    /// search is not made again when that entry still matches or covers the
    /// hash (two hash comparisons, on lines the prefetch brought in). Any
    /// other hint (a table reloaded in between) only costs the search.
    pub fn proof_of_hash_hinted(&self, table: &'t Table, hash: &[u8; HASH_LEN], hint: u32) -> Option<Proof<'t>> {
        let Some((i, exact)) = self.hinted(hint as usize, hash) else { return self.proof_of_hash(table, hash) };
        let (id, response) = self.entry(i)?;
        Some(Proof { id, exact, response: table.response(response)? })
    }

    /// Whether NSEC3 entry `i` is the one [`Chain::locate`] finds for
    /// `hash`, and whether it matches it.
    fn hinted(&self, i: usize, hash: &[u8; HASH_LEN]) -> Option<(usize, bool)> {
        if !self.nsec3 || i >= self.count {
            return None;
        }
        let cmp =
            |i: usize| array_at::<HASH_LEN>(self.b, self.entries + i * NSEC3_ENTRY_LEN).map(|e| hash_cmp(e, hash));
        let last = i + 1 == self.count;
        match cmp(i)? {
            Ordering::Equal => Some((i, true)),
            // Before the hash: the last entry, or the next one after it.
            Ordering::Less => (last || cmp(i + 1)? == Ordering::Greater).then_some((i, false)),
            // After it: only the last entry covers a hash before the first.
            Ordering::Greater => (last && cmp(0)? == Ordering::Greater).then_some((i, false)),
        }
    }

    /// The NSEC3 hash of a lowercase wire name with this chain's salt and
    /// iterations.
    pub fn hash(&self, name: &[u8]) -> [u8; HASH_LEN] {
        nsec3_hash(name, self.salt, self.iterations)
    }

    fn proof_searched(&self, table: &'t Table, name: &[u8], hash: &[u8; HASH_LEN]) -> Option<Proof<'t>> {
        let (i, exact) = self.locate(name, hash)?;
        let (id, response) = self.entry(i)?;
        Some(Proof { id, exact, response: table.response(response)? })
    }

    /// The index of the entry that matches or covers `name` (NSEC) or
    /// `hash` (NSEC3), and whether it matches.
    fn locate(&self, name: &[u8], hash: &[u8; HASH_LEN]) -> Option<(usize, bool)> {
        let (mut lo, mut hi) = match self.nsec3 {
            true => self.slot_range(hash)?,
            false => (0, self.count),
        };
        let mut exact = false;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.cmp_entry(mid, name, hash)? {
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    exact = true;
                    lo = mid + 1;
                }
                Ordering::Less => lo = mid + 1,
            }
        }
        let i = lo.checked_sub(1).or(self.count.checked_sub(1))?;
        Some((i, exact && lo == i + 1))
    }

    /// The entries whose hashes begin as `hash` does: every entry before
    /// them sorts before the hash, every one after it after.
    fn slot_range(&self, hash: &[u8; HASH_LEN]) -> Option<(usize, usize)> {
        let slot = index_slot(hash, self.index_bits);
        let (lo, hi) = (u32_at(self.index, slot * 4)? as usize, u32_at(self.index, slot * 4 + 4)? as usize);
        (lo <= hi && hi <= self.count).then_some((lo, hi))
    }

    /// Requests the index slot an NSEC3 search for `hash` reads first.
    pub fn prefetch_slot(&self, hash: &[u8; HASH_LEN]) {
        prefetch(self.index, index_slot(hash, self.index_bits) * 4);
    }

    /// Requests the entries an NSEC3 search for `hash` compares, once the
    /// slot's line is in: those of its slot and the one before them (the
    /// proof when the hash sorts first in its slot).
    pub fn prefetch_entries(&self, hash: &[u8; HASH_LEN]) {
        let Some((lo, hi)) = self.slot_range(hash) else { return };
        let first = self.entries + lo.saturating_sub(1) * NSEC3_ENTRY_LEN;
        let end = self.entries + hi.max(lo + 1) * NSEC3_ENTRY_LEN;
        let mut line = first & !(LINE - 1);
        while line < end {
            prefetch(self.b, line.max(first));
            line += LINE;
        }
    }

    /// Requests the proof an NSEC3 search for `hash` finds, once the
    /// entries' lines are in: its first [`PROOF_LINES`] lines (an NSEC3
    /// with one RRSIG is about 200 bytes). Returns the entry's index, the
    /// hint for [`Chain::proof_of_hash_hinted`].
    pub fn prefetch_proof(&self, hash: &[u8; HASH_LEN]) -> Option<u32> {
        let i = self.locate(&[], hash)?.0;
        let (_, response) = self.entry(i)?;
        for line in 0..PROOF_LINES {
            prefetch(self.b, response as usize + line * LINE);
        }
        u32::try_from(i).ok()
    }

    /// The NSEC3 index is in order, ends at the chain's end, and each slot
    /// holds only hashes with its leading bits (checked at load: a wrong
    /// one would give wrong proofs, not a crash).
    pub fn index_holds(&self) -> bool {
        if !self.nsec3 {
            return true;
        }
        let slots = 1usize << self.index_bits;
        let mut prev = 0;
        for slot in 0..=slots {
            let Some(start) = u32_at(self.index, slot * 4).map(|s| s as usize) else { return false };
            if start < prev || start > self.count || (slot == slots && start != self.count) {
                return false;
            }
            for i in prev..start {
                let Some(hash) = array_at::<HASH_LEN>(self.b, self.entries + i * NSEC3_ENTRY_LEN) else { return false };
                if index_slot(hash, self.index_bits) + 1 != slot {
                    return false;
                }
            }
            prev = start;
        }
        true
    }

    /// Entry `i` as a proof, for an index the compiler found
    /// (`NodeView::denial_proof`); `None` past the chain's end (u32::MAX:
    /// no such name). Whether it matches is not kept: the engine never asks.
    pub fn proof_at(&self, table: &'t Table, i: u32) -> Option<Proof<'t>> {
        let i = i as usize;
        if i >= self.count {
            return None;
        }
        let (id, response) = self.entry(i)?;
        Some(Proof { id, exact: false, response: table.response(response)? })
    }
}

/// Two hashes in order, by their first eight bytes as one number, which
/// nearly always differ, before the rest (a slice comparison is a `memcmp`
/// call).
fn hash_cmp(a: &[u8; HASH_LEN], b: &[u8; HASH_LEN]) -> Ordering {
    let head = |h: &[u8; HASH_LEN]| u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    head(a).cmp(&head(b)).then_with(|| a[8..].cmp(&b[8..]))
}

/// The chain a batch's proofs read, taken once for as long as they stay
/// in one zone (the batch prefetcher used to take it again in each of its
/// passes).
#[derive(Default)]
pub struct LastChain<'t> {
    zone: u32,
    chain: Option<Chain<'t>>,
}

impl<'t> LastChain<'t> {
    /// The denial chain of zone `zone` (see [`Table::denial_chain`]).
    #[inline]
    pub fn get(&mut self, table: &'t Table, zone: u32) -> Option<&Chain<'t>> {
        if self.chain.is_none() || self.zone != zone {
            self.chain = table.denial_chain(zone);
            self.zone = zone;
        }
        self.chain.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        crate::zone::Name::parse(s, None).unwrap().unwrap().wire().to_vec()
    }

    #[test]
    fn canonical_order_is_rfc_4034s_example() {
        // RFC 4034 §6.1, in order.
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "z.a.example.",
            "zabc.a.example.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let wires: Vec<Vec<u8>> = names.iter().map(|n| wire(n)).collect();
        for i in 0..wires.len() {
            for j in 0..wires.len() {
                assert_eq!(canonical_cmp(&wires[i], &wires[j]), Some(i.cmp(&j)), "{} vs {}", names[i], names[j]);
            }
        }
        assert_eq!(canonical_cmp(b"\x05abc", b"\x00"), None, "not a name");
    }
}

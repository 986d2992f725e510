//! What the compiler holds per name: its RRsets (RDATA borrowed), where
//! each came from in its file, and the few facts some nodes have.

use super::*;

/// RDATA is borrowed: from the zones when they are kept through the
/// compile (a reload), else from one copy of it all (`RdataCopy`), so that
/// the parsed records can go before the table is written.
pub(super) struct Rrset<'z> {
    pub(super) rtype: RType,
    pub(super) ttl: u32,
    /// The first record's place in its file, for messages about the RRset.
    pub(super) at: Loc,
    pub(super) rdatas: Rdatas<'z>,
    /// The RRSIGs covering this RRset: boxed, since most zones have none
    /// (40 bytes less per RRset).
    pub(super) sigs: Option<Box<Sigs<'z>>>,
}

// 40 bytes, and no more inline in a node (`OneOrMany` finds its tag in
// `Loc::line`): the sizes a big zone's compile was measured with.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Rrset<'_>>() == 40);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<OneOrMany<Rrset<'_>>>() == 40);

/// A record's place in its file: the file as a number in
/// `Compiler::files`, the line plus one (saturated): never zero, which
/// leaves `OneOrMany` a value to tell its variants apart by, 8 bytes less
/// in every node.
#[derive(Clone, Copy)]
pub(super) struct Loc {
    pub(super) file: u32,
    pub(super) line_plus_one: std::num::NonZeroU32,
}

impl Loc {
    pub(super) fn line(self) -> u32 {
        self.line_plus_one.get() - 1
    }
}

/// Numbers the zone files, for `Loc`: records of one file share its name,
/// so nearly every record asks about the same one as the one before.
#[derive(Default)]
pub(super) struct Files {
    pub(super) names: Vec<FileName>,
    pub(super) numbers: FastMap<String, u32>,
    pub(super) last: Option<(FileName, u32)>,
}

impl Files {
    pub(super) fn at(&mut self, l: &Location) -> Loc {
        let line = u32::try_from(l.line).unwrap_or(u32::MAX).saturating_add(1);
        let line_plus_one = std::num::NonZeroU32::new(line).unwrap_or(std::num::NonZeroU32::MAX);
        match &self.last {
            Some((f, n)) if f.same(&l.file) => Loc { file: *n, line_plus_one },
            _ => {
                let next = self.names.len() as u32;
                let n = *self.numbers.entry(l.file.to_string()).or_insert(next);
                if n == next {
                    self.names.push(l.file.clone());
                }
                self.last = Some((l.file.clone(), n));
                Loc { file: n, line_plus_one }
            }
        }
    }
}

pub(super) struct Sigs<'z> {
    /// RFC 4034 §3: that of the first, as RRset TTLs go.
    pub(super) ttl: u32,
    /// Inline when one (most RRsets, one key): a heap block less per
    /// signed RRset to make and free.
    pub(super) rdatas: Rdatas<'z>,
}

impl<'z> Rrset<'z> {
    pub(super) fn new(rtype: RType, ttl: u32, at: Loc) -> Rrset<'z> {
        Rrset { rtype, ttl, at, rdatas: Rdatas::default(), sigs: None }
    }

    pub(super) fn add_sig(&mut self, ttl: u32, rdata: &'z [u8]) {
        let sigs = self.sigs.get_or_insert_with(|| Box::new(Sigs { ttl, rdatas: Rdatas::default() }));
        if !sigs.rdatas.contains(&rdata) {
            sigs.rdatas.push(rdata);
        }
    }
}

/// The type an RRSIG covers: the first field of its RDATA.
pub(super) fn covered(rdata: &[u8]) -> Option<RType> {
    Some(RType(u16::from_be_bytes([*rdata.first()?, *rdata.get(1)?])))
}

pub(super) struct Node<'z> {
    /// Owner as first written (answers about other names use this case).
    /// Owned, so that the records can go before `emit`: a name of up to
    /// 22 octets is inline (`SmallBytes`), no heap block.
    pub(super) name: Name,
    /// Inline when one (most names of a big zone): no heap block per node.
    pub(super) rrsets: OneOrMany<Rrset<'z>>,
    /// What few nodes have (a served parent's side at a served child's
    /// apex, a wildcard child): one box, 8 bytes less per node than the
    /// wildcard child's number inline.
    pub(super) rare: Option<Box<Rare<'z>>>,
    /// Node and zone numbers as u32 (`NONE` for none), not `Option<usize>`:
    /// 24 bytes less per node (see `zone`, `cut`, `Rare::wildcard_child`).
    pub(super) zone: u32,
    /// The topmost zone cut at or above this node, within its zone.
    pub(super) cut: u32,
}

// The size a big zone's compile was measured with (docs/BENCHMARKS.md).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node<'_>>() == 80);

/// No node: `Node::cut` and `Rare::wildcard_child` unset.
pub(super) const NONE: u32 = u32::MAX;

impl<'z> Node<'z> {
    pub(super) fn zone(&self) -> usize {
        self.zone as usize
    }

    pub(super) fn cut(&self) -> Option<usize> {
        (self.cut != NONE).then_some(self.cut as usize)
    }

    pub(super) fn wildcard_child(&self) -> Option<usize> {
        let w = self.rare.as_ref()?.wildcard_child;
        (w != NONE).then_some(w as usize)
    }

    pub(super) fn rrset(&self, t: RType) -> Option<&Rrset<'z>> {
        self.rrsets.iter().find(|r| r.rtype == t)
    }

    pub(super) fn parent_ds(&self) -> Option<&(usize, Rrset<'z>)> {
        self.rare.as_ref()?.ds.as_ref()
    }

    pub(super) fn parent_cut(&self) -> Option<&ParentCut<'z>> {
        self.rare.as_ref()?.cut.as_ref()
    }
}

pub(super) struct Rare<'z> {
    /// DS at a served child's apex, as the (also served) parent has it.
    pub(super) ds: Option<(usize, Rrset<'z>)>,
    /// The delegation to a served child at its apex, as the (also served)
    /// parent has it: what a DNAME in the parent whose target lies below
    /// the cut answers with (Knot follows a DNAME in its own zone only).
    pub(super) cut: Option<ParentCut<'z>>,
    /// The node `*.<this name>`, `NONE` if none.
    pub(super) wildcard_child: u32,
}

impl Default for Rare<'_> {
    fn default() -> Self {
        Rare { ds: None, cut: None, wildcard_child: NONE }
    }
}

/// The parent's side of a cut at a served child's apex: its NS, and the
/// NSEC proving there is no DS when the parent is signed with NSEC.
pub(super) struct ParentCut<'z> {
    pub(super) zone: usize,
    pub(super) ns: Option<Rrset<'z>>,
    pub(super) nsec: Option<Rrset<'z>>,
}

pub(super) struct ZoneInfo<'z> {
    pub(super) apex: Name,
    pub(super) apex_node: usize,
    /// The SOA as it goes in negative answers: TTL = min(TTL, MINIMUM), RFC 2308 §3.
    pub(super) negative_soa: Rrset<'z>,
    /// Every answer in it is SERVFAIL (`Zone::expired`).
    pub(super) expired: bool,
}

/// Where a name leads, as the runtime lookup would find it.
pub(super) enum Found {
    /// A node answers; `true` when through a wildcard.
    Node(usize),
    Referral(usize),
    NxDomain(usize),
    /// Below a DNAME: synthesised at run time, not followed in chains.
    Dname,
    OutOfZone,
}

/// The lowercase wire form of `name`, in `buf`: the index key, without an allocation.
pub(super) fn key<'b>(name: &Name, buf: &'b mut [u8; 255]) -> &'b [u8] {
    let wire = name.wire();
    let out = &mut buf[..wire.len()];
    for (d, s) in out.iter_mut().zip(wire) {
        *d = s.to_ascii_lowercase();
    }
    out
}

/// A byte string that sorts as `name` does in canonical DNS order (RFC 4034
/// §6.1): labels from the root down, each lowercase octet as `octet + 1`
/// in two bytes, each label closed by two zero bytes, so a label sorts
/// before any longer one it begins, and a name before its descendants.
pub(super) fn canonical_key(name: &Name) -> Vec<u8> {
    let lower = name.to_lowercase();
    let labels: Vec<&[u8]> = lower.labels().collect();
    let mut k = Vec::with_capacity(lower.wire_len() * 2 + 2);
    for l in labels.iter().rev() {
        for &b in *l {
            k.extend_from_slice(&(b as u16 + 1).to_be_bytes());
        }
        k.extend_from_slice(&[0, 0]);
    }
    k
}

/// Drops repeated RDATA, keeping file order, in time linear in the RRset
/// (RRsets of many thousands of records are served).
pub(super) fn dedup_rdatas(rdatas: &mut Rdatas<'_>) {
    if rdatas.len() <= 16 {
        // Small sets, nearly all of them: no map to allocate.
        let mut kept = 0;
        for i in 0..rdatas.len() {
            if !rdatas[..kept].contains(&rdatas[i]) {
                rdatas[kept] = rdatas[i];
                kept += 1;
            }
        }
        rdatas.truncate(kept);
        return;
    }
    let mut seen: FastMap<&[u8], ()> = FastMap::default();
    seen.reserve(rdatas.len());
    rdatas.retain(|rd| seen.insert(rd, ()).is_none());
}

/// MINIMUM, the last field of SOA RDATA: the negative-caching TTL (RFC 2308).
pub(super) fn soa_minimum(rdata: &[u8]) -> Option<u32> {
    let m = rdata.get(rdata.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
}

//! Zones → table. Every answer a name can get is worked out here, once:
//! CNAME chains, wildcard synthesis, referrals with glue, negative answers
//! with the SOA, additional addresses. The runtime only looks up and copies.

use std::borrow::Borrow;

use super::buf::TableBuf;
use super::denial::{CHAIN_NSEC, CHAIN_NSEC3};
use super::fasthash::FastMap;
use super::format::*;
use super::header::{seal, Header};
use super::name_index::NameIndex;
use super::nsec3_hash::{decode_base32hex, nsec3_hash, HASH_LEN};
use super::one_or_many::OneOrMany;
use super::phases;
use super::prepare::{prepare, Placer, Prepared};
use super::rdatas::Rdatas;
use super::template::{Owner, Place, QueryContext, RrsetRef, Sections};
use crate::wire::dns::rcode;
use crate::zone::{FileName, Location, Name, RType, Record, Zone};

/// Longest CNAME chain followed inside served zones (Knot and BIND use
/// similar small limits); a longer chain or a loop ends the answer there.
const MAX_CHAIN: usize = 8;
/// Never present at any node: asks for the "no such type" answer.
const TYPE_NONE: RType = RType(0);

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("zone {0} is given twice")]
    DuplicateZone(String),
    #[error("zone {0} has no SOA record")]
    NoSoa(String),
    #[error("the table would exceed 4 GiB")]
    TooLarge,
    /// `file:line: the answer for OWNER TYPE`, naming its largest RRset.
    #[error("{0} is too large for the table layout")]
    ResponseTooLarge(String),
    /// The mapping the table is written into could not be made.
    #[error("no memory for the table: {0}")]
    Mapping(std::io::Error),
}

/// RDATA is borrowed: from the zones when they are kept through the
/// compile (a reload), else from one copy of it all (`RdataCopy`), so that
/// the parsed records can go before the table is written.
struct Rrset<'z> {
    rtype: RType,
    ttl: u32,
    /// The first record's place in its file, for messages about the RRset.
    at: Loc,
    rdatas: Rdatas<'z>,
    /// The RRSIGs covering this RRset: boxed, since most zones have none
    /// (40 bytes less per RRset).
    sigs: Option<Box<Sigs<'z>>>,
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
struct Loc {
    file: u32,
    line_plus_one: std::num::NonZeroU32,
}

impl Loc {
    fn line(self) -> u32 {
        self.line_plus_one.get() - 1
    }
}

/// Numbers the zone files, for `Loc`: records of one file share its name,
/// so nearly every record asks about the same one as the one before.
#[derive(Default)]
struct Files {
    names: Vec<FileName>,
    numbers: FastMap<String, u32>,
    last: Option<(FileName, u32)>,
}

impl Files {
    fn at(&mut self, l: &Location) -> Loc {
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

struct Sigs<'z> {
    /// RFC 4034 §3: that of the first, as RRset TTLs go.
    ttl: u32,
    /// Inline when one (most RRsets, one key): a heap block less per
    /// signed RRset to make and free.
    rdatas: Rdatas<'z>,
}

impl<'z> Rrset<'z> {
    fn new(rtype: RType, ttl: u32, at: Loc) -> Rrset<'z> {
        Rrset { rtype, ttl, at, rdatas: Rdatas::default(), sigs: None }
    }

    fn add_sig(&mut self, ttl: u32, rdata: &'z [u8]) {
        let sigs = self.sigs.get_or_insert_with(|| Box::new(Sigs { ttl, rdatas: Rdatas::default() }));
        if !sigs.rdatas.contains(&rdata) {
            sigs.rdatas.push(rdata);
        }
    }
}

/// The type an RRSIG covers: the first field of its RDATA.
fn covered(rdata: &[u8]) -> Option<RType> {
    Some(RType(u16::from_be_bytes([*rdata.first()?, *rdata.get(1)?])))
}

struct Node<'z> {
    /// Owner as first written (answers about other names use this case).
    /// Owned, so that the records can go before `emit`: a name of up to
    /// 22 octets is inline (`SmallBytes`), no heap block.
    name: Name,
    /// Inline when one (most names of a big zone): no heap block per node.
    rrsets: OneOrMany<Rrset<'z>>,
    /// What few nodes have (a served parent's side at a served child's
    /// apex, a wildcard child): one box, 8 bytes less per node than the
    /// wildcard child's number inline.
    rare: Option<Box<Rare<'z>>>,
    /// Node and zone numbers as u32 (`NONE` for none), not `Option<usize>`:
    /// 24 bytes less per node (see `zone`, `cut`, `Rare::wildcard_child`).
    zone: u32,
    /// The topmost zone cut at or above this node, within its zone.
    cut: u32,
}

// The size a big zone's compile was measured with (docs/BENCHMARKS.md).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node<'_>>() == 80);

/// No node: `Node::cut` and `Rare::wildcard_child` unset.
const NONE: u32 = u32::MAX;

impl<'z> Node<'z> {
    fn zone(&self) -> usize {
        self.zone as usize
    }

    fn cut(&self) -> Option<usize> {
        (self.cut != NONE).then_some(self.cut as usize)
    }

    fn wildcard_child(&self) -> Option<usize> {
        let w = self.rare.as_ref()?.wildcard_child;
        (w != NONE).then_some(w as usize)
    }

    fn rrset(&self, t: RType) -> Option<&Rrset<'z>> {
        self.rrsets.iter().find(|r| r.rtype == t)
    }

    fn parent_ds(&self) -> Option<&(usize, Rrset<'z>)> {
        self.rare.as_ref()?.ds.as_ref()
    }

    fn parent_cut(&self) -> Option<&ParentCut<'z>> {
        self.rare.as_ref()?.cut.as_ref()
    }
}

struct Rare<'z> {
    /// DS at a served child's apex, as the (also served) parent has it.
    ds: Option<(usize, Rrset<'z>)>,
    /// The delegation to a served child at its apex, as the (also served)
    /// parent has it: what a DNAME in the parent whose target lies below
    /// the cut answers with (Knot follows a DNAME in its own zone only).
    cut: Option<ParentCut<'z>>,
    /// The node `*.<this name>`, `NONE` if none.
    wildcard_child: u32,
}

impl Default for Rare<'_> {
    fn default() -> Self {
        Rare { ds: None, cut: None, wildcard_child: NONE }
    }
}

/// The parent's side of a cut at a served child's apex: its NS, and the
/// NSEC proving there is no DS when the parent is signed with NSEC.
struct ParentCut<'z> {
    zone: usize,
    ns: Option<Rrset<'z>>,
    nsec: Option<Rrset<'z>>,
}

#[derive(Default)]
struct Nsec3Chain<'z> {
    salt: Vec<u8>,
    iterations: u16,
    entries: Vec<Nsec3Entry<'z>>,
    /// The entries' hashes alone, in the same order, and where each
    /// `index_bits`-bit prefix's run starts in them (one more slot at
    /// the end): a search is one or two misses to memory, not a binary
    /// search's twenty over the entries (a million-name compile searched
    /// three times per node; seconds of its time).
    hashes: Vec<[u8; HASH_LEN]>,
    starts: Vec<u32>,
    bits: u32,
}

impl Nsec3Chain<'_> {
    /// Sorts the entries and indexes their hashes.
    fn sort_and_index(&mut self) {
        self.entries.sort_by_key(|e| e.hash);
        self.hashes = self.entries.iter().map(|e| e.hash).collect();
        self.bits = super::denial::index_bits(self.hashes.len());
        let mut next = 0;
        self.starts = (0..=1usize << self.bits)
            .map(|slot| {
                while next < self.hashes.len() && super::denial::index_slot(&self.hashes[next], self.bits) < slot {
                    next += 1;
                }
                next as u32
            })
            .collect();
    }

    /// The NSEC3 hash of a lowercase name in wire form, with this chain's
    /// salt and iterations.
    fn hash(&self, lower: &[u8]) -> [u8; HASH_LEN] {
        nsec3_hash(lower, &self.salt, self.iterations)
    }

    /// How many hashes sort before `hash`, and whether the one there is it.
    fn search(&self, hash: &[u8; HASH_LEN]) -> (usize, bool) {
        let slot = super::denial::index_slot(hash, self.bits);
        let (from, to) = match (self.starts.get(slot), self.starts.get(slot + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            // Not indexed (no entries): the whole of it.
            _ => (0, self.hashes.len()),
        };
        let at = from + self.hashes[from..to].partition_point(|h| h < hash);
        (at, self.hashes.get(at) == Some(hash))
    }
}

struct Nsec3Entry<'z> {
    hash: [u8; HASH_LEN],
    owner: Name,
    set: Rrset<'z>,
}

struct ZoneInfo<'z> {
    apex: Name,
    apex_node: usize,
    /// The SOA as it goes in negative answers: TTL = min(TTL, MINIMUM), RFC 2308 §3.
    negative_soa: Rrset<'z>,
    /// Every answer in it is SERVFAIL (`Zone::expired`).
    expired: bool,
}

/// Where a name leads, as the runtime lookup would find it.
enum Found {
    /// A node answers; `true` when through a wildcard.
    Node(usize),
    Referral(usize),
    NxDomain(usize),
    /// Below a DNAME: synthesised at run time, not followed in chains.
    Dname,
    OutOfZone,
}

struct Compiler<'z> {
    /// Some zone has signatures: answers get a DO=1 variant.
    signed: bool,
    /// Per zone, its NSEC owners in canonical order (RFC 4034 §6.1), as
    /// (canonical sort key, node): the proofs that a name does not exist.
    nsec_chain: Vec<Vec<(Vec<u8>, usize)>>,
    /// Per zone, its NSEC3 records in hash order, kept out of the name
    /// space (their owners are no names of the zone), and the zone's salt
    /// and iterations.
    nsec3: Vec<Nsec3Chain<'z>>,
    zones: Vec<ZoneInfo<'z>>,
    nodes: Vec<Node<'z>>,
    index: NameIndex,
    /// Addresses a served parent holds below a served child's apex (its
    /// glue, occluded by the child), by lowercase owner: the glue of
    /// [`Compiler::parent_referral`], as the parent gives it.
    parent_glue: FastMap<Vec<u8>, Vec<Rrset<'z>>>,
    /// Per node of a zone with an NSEC3 chain, the NSEC3 hash of its name,
    /// hashed once (on all cores) rather than for each proof that names
    /// it; empty when no zone has a chain.
    nsec3_hashes: Vec<[u8; HASH_LEN]>,
    /// The zone files, by the number an RRset's `Loc` gives.
    files: Vec<FileName>,
}

/// Compiles zones into table bytes (see `format` for the layout). Answers
/// that no DNS message can carry are compiled to be truncated, and each
/// RRset that makes one so gets a warning in `warnings`, `file:line:` first.
/// Zones are taken by anything that lends one (`Zone`, `Arc<Zone>`): a
/// reload compiles the zones it keeps without copying them.
pub fn compile<Z: Borrow<Zone>>(zones: &[Z], warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    let zones: Vec<Lent> = zones.iter().map(|z| Lent::whole(z.borrow())).collect();
    compile_lent(&zones, warnings)
}

/// A zone as the compiler reads it: its origin, and records lent from
/// wherever they are kept. A whole [`Zone`] lends its slice; the overlay's
/// partial zones lend the records of the names a change reaches, one by
/// one, from its index (cloning them per apply cost more than compiling).
pub struct Lent<'z> {
    pub origin: &'z Name,
    pub expired: bool,
    /// Records kept together (a zone's, or a few made for the compile)...
    pub slice: &'z [Record],
    /// ...and records picked one by one, after them.
    pub picked: Vec<&'z Record>,
}

impl<'z> Lent<'z> {
    pub fn whole(z: &'z Zone) -> Lent<'z> {
        Lent { origin: &z.origin, expired: z.expired, slice: &z.records, picked: Vec::new() }
    }

    /// The records, the slice's then the picked ones: the order the
    /// compiler sees them in (RRset TTLs and RDATA order come from it).
    fn records(&self) -> impl Iterator<Item = &'z Record> + '_ {
        self.slice.iter().chain(self.picked.iter().copied())
    }
}

/// [`compile`] of lent zones.
pub fn compile_lent(zones: &[Lent], warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    phases::start();
    for z in zones {
        signatures_out_of_date(z, now(), warnings);
    }
    phases::mark("signatures out of date");
    let c = Compiler::build(zones, |zi| zones[zi].records().map(|r| (r, r.rdata.as_slice())))?;
    finish(c, warnings)
}

/// [`compile`] of zones the caller is done with (`responder compile`):
/// their records go once the compiler has what it needs of them, before
/// it writes the table. It keeps their RDATA, copied into one block
/// (`RdataCopy`, a seventh of the records' memory at a million names),
/// and its own nodes' names; the records and the table being written
/// were never held at once. The same bytes as [`compile`].
pub fn compile_owned(zones: Vec<Zone>, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    phases::start();
    let copy;
    let c = {
        let lent: Vec<Lent> = zones.iter().map(Lent::whole).collect();
        for z in &lent {
            signatures_out_of_date(z, now(), warnings);
        }
        copy = RdataCopy::of(&lent);
        phases::mark("signatures out of date, rdata copied");
        Compiler::build(&lent, |zi| copy.records(zi, &lent[zi]))?
    };
    drop(zones);
    phases::mark("compile: drop the zones");
    finish(c, warnings)
}

/// Writes the table and seals it. What is left of the compiler (its
/// heap blocks) is freed on another core while the checksum is taken
/// here: both are serial, neither needs the other.
fn finish(mut c: Compiler<'_>, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    let mut table = c.emit(warnings)?;
    phases::mark("emit: tail");
    std::thread::scope(|s| {
        s.spawn(move || drop(c));
        seal(&mut table);
        phases::mark("compile: seal (checksum)");
    });
    phases::mark("compile: drop the compiler");
    Ok(table)
}

fn now() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32
}

/// Every record's RDATA, zone after zone in the order of [`Lent::records`],
/// in one block: what the compiler borrows when the records go first.
struct RdataCopy {
    bytes: Vec<u8>,
    /// Where each zone's begins.
    starts: Vec<usize>,
}

impl RdataCopy {
    fn of(zones: &[Lent]) -> RdataCopy {
        let total = zones.iter().flat_map(|z| z.records()).map(|r| r.rdata.len()).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut starts = Vec::with_capacity(zones.len());
        for z in zones {
            starts.push(bytes.len());
            for r in z.records() {
                bytes.extend_from_slice(&r.rdata);
            }
        }
        RdataCopy { bytes, starts }
    }

    /// Zone `zi`'s records (`z`, the zone it was made from), each with its
    /// RDATA as copied.
    fn records<'y, 'a>(&'a self, zi: usize, z: &'y Lent<'y>) -> WithCopy<'a, impl Iterator<Item = &'y Record> + 'y> {
        WithCopy { records: z.records(), bytes: &self.bytes, at: self.starts[zi] }
    }
}

struct WithCopy<'a, I> {
    records: I,
    bytes: &'a [u8],
    at: usize,
}

impl<'a, 'y, I: Iterator<Item = &'y Record>> Iterator for WithCopy<'a, I> {
    type Item = (&'y Record, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.records.next()?;
        let rdata = &self.bytes[self.at..self.at + r.rdata.len()];
        self.at += r.rdata.len();
        Some((r, rdata))
    }
}

impl<'z> Compiler<'z> {
    /// `records(zi)` gives zone `zi`'s records, each with the RDATA the
    /// compiler is to borrow (the record's own, or a copy's): nothing else
    /// of them is kept, so the records may go once this returns.
    fn build<'y, I>(zones: &'y [Lent<'y>], records: impl Fn(usize) -> I) -> Result<Compiler<'z>, CompileError>
    where
        I: Iterator<Item = (&'y Record, &'z [u8])>,
    {
        let mut c = Compiler {
            signed: false,
            nsec_chain: Vec::new(),
            nsec3: Vec::new(),
            zones: Vec::new(),
            nodes: Vec::new(),
            index: NameIndex::default(),
            parent_glue: FastMap::default(),
            nsec3_hashes: Vec::new(),
            files: Vec::new(),
        };
        let mut files = Files::default();
        // Deepest zone wins: process parents first so children can claim names.
        let mut order: Vec<usize> = (0..zones.len()).collect();
        order.sort_by_key(|&i| zones[i].origin.label_count());
        let mut apexes: FastMap<Vec<u8>, usize> = FastMap::default();
        for &zi in &order {
            let z = &zones[zi];
            let key = z.origin.to_lowercase().wire().to_vec();
            if apexes.contains_key(&key) {
                return Err(CompileError::DuplicateZone(z.origin.to_string()));
            }
            let (soa, soa_rdata) = records(zi)
                .find(|(r, _)| r.rtype == RType::SOA && r.owner == *z.origin)
                .ok_or_else(|| CompileError::NoSoa(z.origin.to_string()))?;
            let minimum = soa_minimum(soa_rdata).unwrap_or(soa.ttl);
            apexes.insert(key, c.zones.len());
            let mut negative_soa = Rrset::new(RType::SOA, soa.ttl.min(minimum), files.at(&soa.location));
            negative_soa.rdatas.push(soa_rdata);
            // Its signatures get the same negative TTL, as Knot serves them.
            for (r, rd) in records(zi) {
                if r.rtype == RType::RRSIG && r.owner == *z.origin && covered(rd) == Some(RType::SOA) {
                    negative_soa.add_sig(r.ttl.min(minimum), rd);
                }
            }
            c.zones.push(ZoneInfo { apex: Name::clone(z.origin), apex_node: 0, negative_soa, expired: z.expired });
        }
        // Which served zone is deepest for a name: walk up to the first apex.
        let owner_zone = |name: &Name| -> Option<usize> {
            let mut buf = [0u8; 255];
            let lower = key(name, &mut buf);
            let mut pos = 0;
            loop {
                if let Some(&z) = apexes.get(&lower[pos..]) {
                    return Some(z);
                }
                match lower[pos] {
                    0 => return None,
                    len => pos += 1 + len as usize,
                }
            }
        };
        phases::mark("build: zones");
        let mut pending_sigs: Vec<(usize, u32, &'z [u8])> = Vec::new();
        for (zi_sorted, &zi) in order.iter().enumerate() {
            // The last owner's deepest zone and node: a zone file's records
            // come grouped by owner (four or five each in a signed zone),
            // and these two lookups were most of this loop's time.
            let mut last: Option<(&'y Name, Option<usize>, Option<usize>)> = None;
            for (r, rd) in records(zi) {
                let same = last.filter(|l| l.0.wire() == r.owner.wire());
                let deepest = match same {
                    Some((_, d, _)) => d,
                    None => owner_zone(&r.owner),
                };
                last = Some((&r.owner, deepest, same.and_then(|l| l.2)));
                if deepest != Some(zi_sorted) {
                    // Occluded by a served child. Only the parent's DS at the
                    // child apex stays: DS is answered from the parent side.
                    let is_ds = r.rtype == RType::DS;
                    let is_ds_sig = r.rtype == RType::RRSIG && covered(rd) == Some(RType::DS);
                    if (is_ds || is_ds_sig) && deepest.is_some_and(|d| c.zones[d].apex == r.owner) {
                        let n = c.node(&r.owner, deepest.unwrap_or(0));
                        let entry =
                            c.nodes[n].rare.get_or_insert_with(Box::default).ds.get_or_insert_with(|| {
                                (zi_sorted, Rrset::new(RType::DS, r.ttl, files.at(&r.location)))
                            });
                        if is_ds_sig {
                            entry.1.add_sig(r.ttl, rd);
                        } else if !entry.1.rdatas.contains(&rd) {
                            if entry.1.rdatas.is_empty() {
                                (entry.1.ttl, entry.1.at) = (r.ttl, files.at(&r.location));
                            }
                            entry.1.rdatas.push(rd);
                        }
                    }
                    if matches!(r.rtype, RType::A | RType::AAAA) && deepest.is_some() {
                        let sets = c.parent_glue.entry(key(&r.owner, &mut [0u8; 255]).to_vec()).or_default();
                        match sets.iter_mut().find(|s| s.rtype == r.rtype) {
                            Some(set) if !set.rdatas.contains(&rd) => set.rdatas.push(rd),
                            Some(_) => {}
                            None => {
                                let mut set = Rrset::new(r.rtype, r.ttl, files.at(&r.location));
                                set.rdatas.push(rd);
                                sets.push(set);
                            }
                        }
                    }
                    let parent_side = |t: RType| r.rtype == t || r.rtype == RType::RRSIG && covered(rd) == Some(t);
                    let (is_ns, is_nsec) = (parent_side(RType::NS), parent_side(RType::NSEC));
                    if (is_ns || is_nsec) && deepest.is_some_and(|d| c.zones[d].apex == r.owner) {
                        let n = c.node(&r.owner, deepest.unwrap_or(0));
                        let cut = c.nodes[n].rare.get_or_insert_with(Box::default).cut.get_or_insert(ParentCut {
                            zone: zi_sorted,
                            ns: None,
                            nsec: None,
                        });
                        let slot = if is_ns { &mut cut.ns } else { &mut cut.nsec };
                        let set = slot.get_or_insert_with(|| {
                            Rrset::new(if is_ns { RType::NS } else { RType::NSEC }, r.ttl, files.at(&r.location))
                        });
                        if r.rtype == RType::RRSIG {
                            set.add_sig(r.ttl, rd);
                        } else if !set.rdatas.contains(&rd) {
                            if set.rdatas.is_empty() {
                                (set.ttl, set.at) = (r.ttl, files.at(&r.location));
                            }
                            set.rdatas.push(rd);
                        }
                    }
                    continue;
                }
                let n = match last.and_then(|l| l.2) {
                    Some(n) => n,
                    None => c.node(&r.owner, zi_sorted),
                };
                last = Some((&r.owner, deepest, Some(n)));
                if r.rtype == RType::RRSIG {
                    // Kept beside the nodes, not in them: most zones have none.
                    pending_sigs.push((n, r.ttl, rd));
                    c.signed = true;
                }
                let node = &mut c.nodes[n];
                match node.rrsets.iter_mut().find(|s| s.rtype == r.rtype) {
                    // Duplicates go once every record is in (`dedup_rdatas`):
                    // a check per record here was quadratic in the RRset.
                    Some(set) => set.rdatas.push(rd),
                    None => {
                        let mut set = Rrset::new(r.rtype, r.ttl, files.at(&r.location));
                        set.rdatas.push(rd);
                        node.rrsets.push(set);
                    }
                }
            }
        }
        phases::mark("build: records to nodes");
        for node in &mut c.nodes {
            for set in &mut node.rrsets {
                dedup_rdatas(&mut set.rdatas);
            }
        }
        phases::mark("build: dedup rdatas");
        // Each RRSIG to the RRset it covers.
        for (n, ttl, rd) in pending_sigs {
            let Some(t) = covered(rd) else { continue };
            if let Some(set) = c.nodes[n].rrsets.iter_mut().find(|s| s.rtype == t) {
                set.add_sig(ttl, rd);
            }
        }
        phases::mark("build: signatures to rrsets");
        c.take_nsec3_out();
        phases::mark("build: nsec3 out");
        c.drop_below_dnames();
        phases::mark("build: below dnames");
        c.add_empty_non_terminals();
        phases::mark("build: empty non-terminals");
        for z in 0..c.zones.len() {
            let apex = c.zones[z].apex.clone();
            c.zones[z].apex_node = c.node(&apex, z);
        }
        c.mark_cuts_and_wildcards();
        phases::mark("build: cuts and wildcards");
        c.order_nsec_chains();
        phases::mark("build: nsec chains");
        for node in &mut c.nodes {
            // CNAME first: it is what ANY gets (RFC 8482 minimal answer).
            node.rrsets.sort_by_key(|s| (s.rtype != RType::CNAME, s.rtype));
        }
        phases::mark("build: sort rrsets");
        c.hash_nsec3_names();
        c.files = files.names;
        phases::mark("build: nsec3 hashes");
        Ok(c)
    }

    fn node(&mut self, name: &Name, zone: usize) -> usize {
        let mut buf = [0u8; 255];
        if let Some(i) = self.lookup(key(name, &mut buf)) {
            return i;
        }
        let i = self.nodes.len();
        self.index.push(key(name, &mut buf));
        self.nodes.push(Node {
            name: name.clone(),
            rrsets: OneOrMany::default(),
            rare: None,
            zone: zone as u32,
            cut: NONE,
        });
        i
    }

    /// The node named `lower` (lowercase wire form).
    fn lookup(&self, lower: &[u8]) -> Option<usize> {
        self.index.get(lower, |i| self.nodes[i].name.wire())
    }

    /// Names below a DNAME are occluded (RFC 6672 §2.4): they are answered by
    /// synthesis, so their own data must not be found.
    fn drop_below_dnames(&mut self) {
        let dnames: Vec<Name> =
            self.nodes.iter().filter(|n| n.rrset(RType::DNAME).is_some()).map(|n| Name::clone(&n.name)).collect();
        if dnames.is_empty() {
            return;
        }
        for n in &mut self.nodes {
            if dnames.iter().any(|d| n.name != *d && n.name.is_subdomain_of(d)) {
                n.rrsets.clear();
                n.rare = None;
            }
        }
        // No wildcard child is marked yet: `rare` is a parent's side.
        let keep: Vec<bool> = self.nodes.iter().map(|n| !n.rrsets.is_empty() || n.rare.is_some()).collect();
        self.retain(&keep);
    }

    /// Keeps the nodes `keep` marks, in place: no second vector of nodes
    /// held beside the first, no name hashed again (`NameIndex::retain`).
    fn retain(&mut self, keep: &[bool]) {
        self.index.retain(keep);
        let mut at = 0;
        self.nodes.retain(|_| {
            at += 1;
            keep[at - 1]
        });
    }

    /// Every name between a node and its apex exists (RFC 4592 §2.2.2): an
    /// empty non-terminal answers NODATA and stops wildcard matching.
    fn add_empty_non_terminals(&mut self) {
        for i in 0..self.nodes.len() {
            let zone = self.nodes[i].zone();
            let apex = self.zones[zone].apex.clone();
            let mut cur = self.nodes[i].name.parent();
            while let Some(p) = cur {
                if !p.is_subdomain_of(&apex) || self.lookup(key(&p, &mut [0u8; 255])).is_some() {
                    break;
                }
                self.node(&p, zone);
                cur = p.parent();
            }
        }
    }

    fn mark_cuts_and_wildcards(&mut self) {
        // Found on all cores (reads only: names, zones, NS sets), then set
        // here in node order.
        let found = super::parallel::map(self.nodes.len(), |i| {
            let zone = self.nodes[i].zone();
            let apex = &self.zones[zone].apex;
            // The topmost NS-owning ancestor-or-self below the apex is the cut.
            let mut cut = None;
            let mut cur = Some(Name::clone(&self.nodes[i].name));
            while let Some(n) = cur {
                if n == *apex {
                    break;
                }
                if let Some(j) = self.lookup(key(&n, &mut [0u8; 255])) {
                    if self.nodes[j].zone() == zone && self.nodes[j].rrset(RType::NS).is_some() {
                        cut = Some(j);
                    }
                }
                cur = n.parent();
            }
            let wildcard_parent = match self.nodes[i].name.is_wildcard() {
                true => self.nodes[i].name.parent().and_then(|parent| self.lookup(key(&parent, &mut [0u8; 255]))),
                false => None,
            };
            // Node numbers as u32, `NONE` for none: 8 bytes a node held
            // here, not 24 (the compile's peak memory is near).
            (cut.map_or(NONE, |c| c as u32), wildcard_parent.map_or(NONE, |p| p as u32))
        });
        for (i, (cut, wildcard_parent)) in found.into_iter().enumerate() {
            self.nodes[i].cut = cut;
            if wildcard_parent != NONE {
                self.nodes[wildcard_parent as usize].rare.get_or_insert_with(Box::default).wildcard_child = i as u32;
            }
        }
    }

    /// Moves NSEC3 records out of the name space into each zone's chain,
    /// sorted by hash, with the salt and iterations they were made with.
    fn take_nsec3_out(&mut self) {
        self.nsec3 = (0..self.zones.len()).map(|_| Nsec3Chain::default()).collect();
        let mut keep = vec![true; self.nodes.len()];
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let Some(at) = node.rrsets.iter().position(|r| r.rtype == RType::NSEC3) else { continue };
            let apex = &self.zones[node.zone()].apex;
            let Some(label) = node.name.labels().next() else { continue };
            let Some(hash) = decode_base32hex(label) else { continue };
            if node.name.parent().as_ref() != Some(apex) {
                continue;
            }
            let set = node.rrsets.remove(at);
            let chain = &mut self.nsec3[node.zone()];
            if chain.entries.is_empty() {
                // Algorithm, flags, iterations, salt length, salt.
                let rd = set.rdatas[0];
                chain.iterations = u16::from_be_bytes([rd[2], rd[3]]);
                chain.salt = rd.get(5..5 + rd[4] as usize).unwrap_or_default().to_vec();
            }
            chain.entries.push(Nsec3Entry { hash, owner: Name::clone(&node.name), set });
            // Its signatures went with it (`set.sigs`).
            for r in node.rrsets.iter_mut().filter(|r| r.rtype == RType::RRSIG) {
                r.rdatas.retain(|rd| covered(rd) != Some(RType::NSEC3));
            }
            node.rrsets.retain(|r| !r.rdatas.is_empty());
            keep[i] = !node.rrsets.is_empty();
        }
        for chain in &mut self.nsec3 {
            chain.sort_and_index();
        }
        // Rebuilding the index costs a million-name compile seconds: only
        // when an NSEC3 owner left.
        if keep.contains(&false) {
            self.retain(&keep);
        }
    }

    /// Fills `nsec3_hashes`: the nodes are final by now.
    fn hash_nsec3_names(&mut self) {
        if self.nsec3.iter().all(|c| c.entries.is_empty()) {
            return;
        }
        let (nodes, chains) = (&self.nodes, &self.nsec3);
        self.nsec3_hashes = super::parallel::map(nodes.len(), |i| {
            let chain = &chains[nodes[i].zone()];
            if chain.entries.is_empty() {
                return [0; HASH_LEN];
            }
            chain.hash(key(&nodes[i].name, &mut [0u8; 255]))
        });
    }

    /// The NSEC3 entry matching or covering `name` (last hash not after
    /// its hash, wrapping), and whether it matches.
    fn nsec3_find(&self, zone: usize, name: &Name) -> Option<(usize, bool)> {
        let chain = &self.nsec3[zone];
        let mut buf = [0u8; 255];
        let lower = key(name, &mut buf);
        let cached = self.lookup(lower).filter(|&i| self.nodes[i].zone() == zone);
        let hash = match cached.and_then(|i| self.nsec3_hashes.get(i)) {
            Some(h) => *h,
            None => chain.hash(lower),
        };
        self.nsec3_find_hash(zone, &hash)
    }

    /// [`Compiler::nsec3_find`] of a name that is no node of `zone`: hashed here.
    fn nsec3_find_unindexed(&self, zone: usize, name: &Name) -> Option<(usize, bool)> {
        let hash = self.nsec3[zone].hash(key(name, &mut [0u8; 255]));
        self.nsec3_find_hash(zone, &hash)
    }

    /// The NSEC3 entry matching or covering `hash`, as [`Compiler::nsec3_find`].
    fn nsec3_find_hash(&self, zone: usize, hash: &[u8; HASH_LEN]) -> Option<(usize, bool)> {
        let chain = &self.nsec3[zone];
        match chain.search(hash) {
            (i, true) => Some((i, true)),
            (0, false) => Some((chain.entries.len().checked_sub(1)?, false)),
            (i, false) => Some((i - 1, false)),
        }
    }

    fn push_nsec3<'a>(&'a self, zone: usize, i: usize, s: &mut Sections<'a>) {
        let e = &self.nsec3[zone].entries[i];
        if !s.denial.iter().any(|d| d.rtype == RType::NSEC3 && d.rdatas == &e.set.rdatas[..]) {
            s.denial.push(self.set(Owner::Name(e.owner.clone()), &e.set));
        }
    }

    /// NSEC3 for a name that exists (NODATA, DS at a delegation): its
    /// matching NSEC3, or where there is none (an opt-out delegation) the
    /// closest provable encloser's and the one covering the next closer
    /// name (RFC 5155 §7.2.3, §7.2.4, §7.2.7).
    fn deny_nsec3<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
        let mut next_closer = name.clone();
        let mut cur = Some(name.clone());
        while let Some(n) = cur {
            if let Some((i, true)) = self.nsec3_find(zone, &n) {
                self.push_nsec3(zone, i, s);
                if n != *name {
                    if let Some((j, _)) = self.nsec3_find(zone, &next_closer) {
                        self.push_nsec3(zone, j, s);
                    }
                }
                return;
            }
            next_closer = n.clone();
            cur = n.parent().filter(|p| p.is_subdomain_of(&self.zones[zone].apex));
        }
    }

    /// Sorts each zone's NSEC owners canonically: a name that is not there
    /// lies between two of them.
    fn order_nsec_chains(&mut self) {
        self.nsec_chain = vec![Vec::new(); self.zones.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if n.rrset(RType::NSEC).is_some() {
                self.nsec_chain[n.zone()].push((canonical_key(&n.name), i));
            }
        }
        for chain in &mut self.nsec_chain {
            chain.sort();
        }
    }

    /// The NSEC that matches or covers `name` in zone `zone`: the last owner
    /// at or before it in canonical order (the apex sorts first).
    fn nsec_covering(&self, zone: usize, name: &Name) -> Option<RrsetRef<'_>> {
        let chain = &self.nsec_chain[zone];
        if chain.is_empty() {
            return None;
        }
        let key = canonical_key(name);
        let at = match chain.binary_search_by(|(k, _)| k.as_slice().cmp(&key)) {
            Ok(i) => i,
            Err(0) => chain.len().checked_sub(1)?,
            Err(i) => i - 1,
        };
        let node = &self.nodes[chain[at].1];
        Some(self.set(Owner::Name(Name::clone(&node.name)), node.rrset(RType::NSEC)?))
    }

    /// Adds the NSEC proving `name`'s absence or that of its type (it may
    /// be the name's own NSEC), once.
    fn deny<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
        if !self.nsec3[zone].entries.is_empty() {
            return self.deny_nsec3(zone, name, s);
        }
        if let Some(nsec) = self.nsec_covering(zone, name) {
            let same = |a: &RrsetRef<'_>| a.rtype == nsec.rtype && a.rdatas == nsec.rdatas;
            if !s.denial.iter().any(same) {
                s.denial.push(nsec);
            }
        }
    }

    /// [`Compiler::deny`] for node `i`'s own name. Its NSEC3 hash is the
    /// one hashed for it already, so its matching NSEC3 is found without
    /// looking its name up (once per node, a probe into the index).
    fn deny_node<'a>(&'a self, i: usize, s: &mut Sections<'a>) {
        let node = &self.nodes[i];
        let zone = node.zone();
        if !self.nsec3[zone].entries.is_empty() {
            // What `deny_nsec3` finds first: the name's own NSEC3.
            if let Some((j, true)) = self.nsec3_hashes.get(i).and_then(|h| self.nsec3_find_hash(zone, h)) {
                self.push_nsec3(zone, j, s);
                return;
            }
        }
        self.deny(zone, &node.name, s);
    }

    /// NXDOMAIN's proofs for a name the compiler knows (a CNAME target):
    /// the NSEC covering it and the one covering the wildcard at its
    /// closest encloser (RFC 4035 §3.1.3.2).
    fn deny_name<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
        let nsec3 = !self.nsec3[zone].entries.is_empty();
        if !nsec3 {
            self.deny(zone, name, s);
        }
        let mut next_closer = name.clone();
        let mut ce = name.parent();
        while let Some(n) = ce {
            if self.lookup(key(&n, &mut [0u8; 255])).is_some() {
                if nsec3 {
                    // Closest encloser proof (RFC 5155 §7.2.2).
                    self.deny_nsec3(zone, &n, s);
                    if let Some((i, _)) = self.nsec3_find(zone, &next_closer) {
                        self.push_nsec3(zone, i, s);
                    }
                }
                if let Ok(wild) = n.prepend(b"*") {
                    match (nsec3, self.nsec3_find(zone, &wild)) {
                        (true, Some((i, _))) => self.push_nsec3(zone, i, s),
                        (true, None) => {}
                        (false, _) => self.deny(zone, &wild, s),
                    }
                }
                return;
            }
            next_closer = n.clone();
            ce = n.parent();
        }
    }

    /// The chain entries an NXDOMAIN or wildcard proof needs when node `i`
    /// is the closest encloser, so that the engine hashes or searches only
    /// for the next closer name (NSEC3) or the query name (NSEC): the entry
    /// covering `*.<name>` (`u32::MAX` when that is longer than a name may
    /// be) and, with NSEC3, the one matching the name. The same searches
    /// the engine would make (`table::denial::Chain::proof`), over the same
    /// order. `None` for a node that is never a closest encloser (at or
    /// below a cut, a DNAME) or a zone without a chain.
    fn encloser_proofs(&self, i: usize) -> Option<(u32, Option<u32>)> {
        let node = &self.nodes[i];
        if node.cut().is_some() || node.rrset(RType::DNAME).is_some() {
            return None;
        }
        let index = |found: Option<usize>| found.map_or(Some(u32::MAX), |i| u32::try_from(i).ok());
        let wild = node.name.prepend(b"*").ok();
        if !self.nsec3[node.zone()].entries.is_empty() {
            // `*.<name>` is a node only as this node's wildcard child:
            // its hash is then the one hashed already, else the index has
            // nothing for it (no probe made to find that out).
            let wild_node = node.wildcard_child().filter(|&w| self.nodes[w].zone() == node.zone());
            let cover = match wild_node.and_then(|w| self.nsec3_hashes.get(w)) {
                Some(h) => index(self.nsec3_find_hash(node.zone(), h).map(|f| f.0))?,
                None => index(wild.and_then(|w| Some(self.nsec3_find_unindexed(node.zone(), &w)?.0)))?,
            };
            let found = match self.nsec3_hashes.get(i) {
                Some(h) => self.nsec3_find_hash(node.zone(), h),
                None => self.nsec3_find(node.zone(), &node.name),
            };
            let matching = u32::try_from(found?.0).ok()?;
            return Some((cover, Some(matching)));
        }
        let chain = &self.nsec_chain[node.zone()];
        if chain.is_empty() {
            return None;
        }
        let cover = wild.and_then(|w| {
            let key = canonical_key(&w);
            match chain.binary_search_by(|(k, _)| k.as_slice().cmp(&key)) {
                Ok(i) => Some(i),
                Err(0) => chain.len().checked_sub(1),
                Err(i) => Some(i - 1),
            }
        });
        Some((index(cover)?, None))
    }

    /// The runtime's lookup, done at compile time for chains and additionals.
    fn find(&self, name: &Name) -> Found {
        let lower = name.to_lowercase();
        if let Some(i) = self.lookup(lower.wire()) {
            return match self.nodes[i].cut() {
                Some(c) => Found::Referral(c),
                None => Found::Node(i),
            };
        }
        let mut cur = lower.parent();
        while let Some(n) = cur {
            if let Some(i) = self.lookup(n.wire()) {
                let node = &self.nodes[i];
                if let Some(c) = node.cut() {
                    return Found::Referral(c);
                }
                if node.rrset(RType::DNAME).is_some() {
                    return Found::Dname;
                }
                return match node.wildcard_child() {
                    Some(w) => Found::Node(w),
                    None => Found::NxDomain(node.zone()),
                };
            }
            cur = n.parent();
        }
        Found::OutOfZone
    }

    /// The answer to `qtype` at node `start` (the query name itself, or a
    /// wildcard standing in for it).
    fn answer(&self, start: usize, qtype: RType) -> Sections<'_> {
        let mut s = Sections {
            aa: true,
            rcode: rcode::NOERROR,
            answer: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            denial: Vec::new(),
        };
        let mut owner = Owner::Query;
        let mut at = start;
        // A wildcard's own name is not the query name, so it cannot close a
        // loop. The start's name is borrowed: a vector and a name copied
        // per template, for the few answers that follow a CNAME.
        let start_name = Some(&self.nodes[start].name).filter(|n| !n.is_wildcard());
        let mut visited: Vec<Name> = Vec::new();
        for _ in 0..MAX_CHAIN {
            let node = &self.nodes[at];
            if qtype == RType::DS && node.cut() == Some(at) {
                // DS belongs to the parent side of a cut (RFC 4035 §3.1.4.1).
                match node.rrset(RType::DS) {
                    Some(ds) => s.answer.push(self.set(owner, ds)),
                    None => {
                        s.authority.push(self.set(
                            Owner::Name(self.zones[node.zone()].apex.clone()),
                            &self.zones[node.zone()].negative_soa,
                        ));
                        // An insecure delegation: its NSEC shows no DS.
                        self.deny_node(at, &mut s);
                    }
                }
                return s;
            }
            if let Some(cut) = node.cut() {
                if s.answer.is_empty() {
                    s.aa = false;
                }
                self.referral(cut, &mut s);
                return s;
            }
            if qtype == RType::DS {
                if let Some((_, ds)) = node.parent_ds() {
                    s.answer.push(self.set(owner, ds));
                    return s;
                }
            }
            if let Some(rr) = node.rrset(qtype) {
                s.answer.push(self.set(owner.clone(), rr));
                self.additional_addresses(rr, &mut s);
                return s;
            }
            let cname = match node.rrset(RType::CNAME) {
                // Asked for the CNAME itself, or for the NSEC or RRSIG at
                // this name: not followed (as Knot answers).
                Some(c) if ![RType::CNAME, RType::NSEC, RType::RRSIG].contains(&qtype) => c,
                _ => {
                    let z = &self.zones[node.zone()];
                    s.authority.push(self.set(Owner::Name(z.apex.clone()), &z.negative_soa));
                    // NODATA: the name's NSEC, or at an empty non-terminal
                    // the one covering it (RFC 4035 §3.1.3.1). A wildcard's
                    // match needs the query name's too, known at run time.
                    self.deny_node(at, &mut s);
                    return s;
                }
            };
            s.answer.push(self.set(owner, cname));
            let Ok(target) = Name::from_wire(cname.rdatas[0]) else { return s };
            match self.find(&target) {
                Found::Node(next) => {
                    // A loop: the answer ends with the CNAME that closes it.
                    if start_name == Some(&target) || visited.contains(&target) {
                        return s;
                    }
                    visited.push(target.clone());
                    at = next;
                    owner = Owner::Name(target);
                }
                Found::Referral(cut) => {
                    self.referral(cut, &mut s);
                    return s;
                }
                Found::NxDomain(z) => {
                    // RFC 6604: the rcode describes the last name in the chain.
                    s.rcode = rcode::NXDOMAIN;
                    let zi = &self.zones[z];
                    s.authority.push(self.set(Owner::Name(zi.apex.clone()), &zi.negative_soa));
                    self.deny_name(z, &target, &mut s);
                    return s;
                }
                Found::Dname | Found::OutOfZone => return s,
            }
        }
        s
    }

    /// NS of the cut in authority, glue in additional: in-domain glue must
    /// fit (RFC 9471), addresses of other served names only if room is left.
    fn referral<'a>(&'a self, cut: usize, s: &mut Sections<'a>) {
        let node = &self.nodes[cut];
        let Some(ns) = node.rrset(RType::NS) else { return };
        s.authority.push(self.set(Owner::Name(Name::clone(&node.name)), ns));
        // A signed referral carries the DS with its RRSIG, an unsigned one
        // the NSEC that proves there is no DS (RFC 4035 §3.1.4).
        match node.rrset(RType::DS) {
            Some(ds) => s.denial.push(self.set(Owner::Name(Name::clone(&node.name)), ds)),
            None => self.deny_node(cut, s),
        }
        self.glue(&node.name, ns, false, s);
    }

    /// The referral the parent gives at node `i`, the apex of a served child
    /// (`Node::parent_cut`): its NS, then its DS or the proof of none (the
    /// parent's NSEC at the name, or its NSEC3), the glue as [`referral`]'s.
    /// The addresses are the parent's glue (as Knot gives them), else those
    /// the table holds.
    fn parent_referral(&self, i: usize) -> Option<Sections<'_>> {
        let node = &self.nodes[i];
        let cut = node.parent_cut()?;
        let ns = cut.ns.as_ref()?;
        let mut s = Sections {
            aa: false,
            rcode: rcode::NOERROR,
            answer: Vec::new(),
            authority: vec![self.set(Owner::Name(Name::clone(&node.name)), ns)],
            additional: Vec::new(),
            denial: Vec::new(),
        };
        match (node.parent_ds(), &cut.nsec) {
            (Some((_, ds)), _) => s.denial.push(self.set(Owner::Name(Name::clone(&node.name)), ds)),
            (None, Some(nsec)) => s.denial.push(self.set(Owner::Name(Name::clone(&node.name)), nsec)),
            (None, None) if !self.nsec3[cut.zone].entries.is_empty() => self.deny_nsec3(cut.zone, &node.name, &mut s),
            (None, None) => {}
        }
        self.glue(&node.name, ns, true, &mut s);
        Some(s)
    }

    /// The addresses of a cut's name servers, for the additional section.
    /// With `parent`, the parent's own glue first where a served child
    /// occludes it (`parent_glue`).
    fn glue<'a>(&'a self, cut: &Name, ns: &'a Rrset<'z>, parent: bool, s: &mut Sections<'a>) {
        for rd in ns.rdatas.iter() {
            let Ok(target) = Name::from_wire(rd) else { continue };
            // In-domain glue must fit (RFC 9471); addresses we hold for
            // other names (sibling glue, our own zones) are added if room is left.
            let in_domain = target.is_subdomain_of(cut);
            if let Some(sets) = self.parent_glue.get(key(&target, &mut [0u8; 255])).filter(|_| parent) {
                for rtype in [RType::A, RType::AAAA] {
                    if let Some(addr) = sets.iter().find(|s| s.rtype == rtype) {
                        s.additional.push((self.set(Owner::Name(target.clone()), addr), in_domain));
                    }
                }
                continue;
            }
            let Some(t) = self.lookup(key(&target, &mut [0u8; 255])) else { continue };
            for rtype in [RType::A, RType::AAAA] {
                if let Some(addr) = self.nodes[t].rrset(rtype) {
                    s.additional.push((self.set(Owner::Name(target.clone()), addr), in_domain));
                }
            }
        }
    }

    /// A and AAAA of the targets of MX, SRV and NS answers, when we serve them.
    fn additional_addresses<'a>(&'a self, rr: &'a Rrset<'z>, s: &mut Sections<'a>) {
        if !matches!(rr.rtype, RType::MX | RType::SRV | RType::NS) {
            return;
        }
        for rd in rr.rdatas.iter() {
            let Some(&(at, len, _)) = crate::zone::embedded_names(rr.rtype, rd).first() else { continue };
            let Ok(target) = Name::from_wire(&rd[at..at + len]) else { continue };
            let Some(t) = self.lookup(key(&target, &mut [0u8; 255])) else { continue };
            let tn = &self.nodes[t];
            if tn.cut().is_some() && rr.rtype != RType::NS {
                continue;
            }
            for rtype in [RType::A, RType::AAAA] {
                if let Some(addr) = tn.rrset(rtype) {
                    if !s
                        .additional
                        .iter()
                        .any(|(a, _)| a.rtype == rtype && matches!(&a.owner, Owner::Name(n) if *n == target))
                    {
                        s.additional.push((self.set(Owner::Name(target.clone()), addr), false));
                    }
                }
            }
        }
    }

    /// Query types that get their own answer at a node; all others share the default.
    fn answer_types(&self, i: usize) -> Vec<RType> {
        let node = &self.nodes[i];
        let mut types: Vec<RType> = Vec::new();
        if node.cut() == Some(i) {
            types.push(RType::DS);
            return types;
        }
        if node.cut().is_some() {
            return types;
        }
        types.extend(node.rrsets.iter().map(|r| r.rtype));
        if node.parent_ds().is_some() && !types.contains(&RType::DS) {
            types.push(RType::DS);
        }
        // A CNAME node answers each type found at the end of its chain differently.
        let mut at = i;
        for _ in 0..MAX_CHAIN {
            let Some(c) = self.nodes[at].rrset(RType::CNAME) else { break };
            let Ok(target) = Name::from_wire(c.rdatas[0]) else { break };
            match self.find(&target) {
                Found::Node(next) if next != i && next != at => {
                    for r in &self.nodes[next].rrsets {
                        if !types.contains(&r.rtype) {
                            types.push(r.rtype);
                        }
                    }
                    at = next;
                }
                _ => break,
            }
        }
        // And NSEC and RRSIG without following it (`answer`): last, so that
        // the types asked most are found first.
        if node.rrset(RType::CNAME).is_some() {
            for t in [RType::NSEC, RType::RRSIG] {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        types
    }

    fn set<'a>(&'a self, owner: Owner, r: &'a Rrset<'_>) -> RrsetRef<'a> {
        RrsetRef {
            owner,
            rtype: r.rtype,
            ttl: r.ttl,
            rdatas: &r.rdatas,
            sigs: r.sigs.as_ref().map_or(&[], |s| &s.rdatas[..]),
            sig_ttl: r.sigs.as_ref().map_or(0, |s| s.ttl),
            location: Place { file: &self.files[r.at.file as usize], line: r.at.line() },
        }
    }

    fn emit(&mut self, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
        let mut out = TableBuf::new().map_err(CompileError::Mapping)?;
        out.resize_zeroed(HEADER_LEN);
        let mut placer = Placer::default();
        let signed = self.signed;
        let mut emit_template = |out: &mut TableBuf, s: &Sections<'_>, ctx: QueryContext<'_>| {
            let mut buf = Vec::new();
            let p = prepare(s, ctx, signed, &mut buf)?;
            placer.place(out, warnings, p, &mut buf)
        };

        // Zone records first: negative templates are relative to the apex.
        let zones_off = out.len();
        out.resize_zeroed(zones_off + self.zones.len() * ZONE_LEN);
        for (zi, z) in self.zones.iter().enumerate() {
            let ctx = QueryContext { name: &z.apex, labels: z.apex.label_count() };
            let (nx_off, nd_off) = if z.expired {
                let failed = emit_template(&mut out, &Sections::servfail(), ctx)?;
                (failed, failed)
            } else {
                let soa = self.set(Owner::Name(z.apex.clone()), &z.negative_soa);
                let nx = Sections {
                    aa: true,
                    rcode: rcode::NXDOMAIN,
                    answer: vec![],
                    authority: vec![soa],
                    additional: vec![],
                    denial: vec![],
                };
                let nx_off = emit_template(&mut out, &nx, ctx)?;
                let soa = self.set(Owner::Name(z.apex.clone()), &z.negative_soa);
                let nodata = Sections {
                    aa: true,
                    rcode: rcode::NOERROR,
                    answer: vec![],
                    authority: vec![soa],
                    additional: vec![],
                    denial: vec![],
                };
                (nx_off, emit_template(&mut out, &nodata, ctx)?)
            };
            let at = zones_off + zi * ZONE_LEN;
            out[at..at + 4].copy_from_slice(&nx_off.to_le_bytes());
            out[at + 4..at + 8].copy_from_slice(&nd_off.to_le_bytes());
        }

        // Nodes, each followed by the templates only it uses.
        let mut node_offsets = vec![0u32; self.nodes.len()];
        // Each NSEC with its RRSIGs: the proofs the engine adds to NXDOMAIN
        // and wildcard answers for DO=1. The owner's apex points at the
        // query name, whose labels the engine lets it share further.
        let mut proofs = vec![0u32; self.nodes.len()];
        for chain in &self.nsec_chain {
            for &(_, i) in chain {
                let node = &self.nodes[i];
                let Some(nsec) = node.rrset(RType::NSEC) else { continue };
                let s = Sections {
                    aa: true,
                    rcode: rcode::NOERROR,
                    answer: vec![],
                    authority: vec![self.set(Owner::Name(Name::clone(&node.name)), nsec)],
                    additional: vec![],
                    denial: vec![],
                };
                let apex = &self.zones[node.zone()].apex;
                let t = s.encode(QueryContext { name: apex, labels: apex.label_count() }, true);
                proofs[i] = u32::try_from(out.len()).map_err(|_| CompileError::TooLarge)?;
                t.serialize(&mut out);
            }
        }
        phases::mark("emit: zones, nsec proofs");
        let mut wildcard_fixups = Vec::new();
        // Searches (and, with NSEC3, a hash of `*.<name>`) per node, none
        // depending on another: on all cores.
        // None without a denial chain: 12 bytes a node not held, and no
        // wildcard name made per node, for an unsigned table.
        let chained = self.nsec3.iter().any(|c| !c.entries.is_empty()) || self.nsec_chain.iter().any(|c| !c.is_empty());
        let enclosers =
            if chained { super::parallel::map(self.nodes.len(), |i| self.encloser_proofs(i)) } else { Vec::new() };
        phases::mark("emit: encloser proofs");
        // Each node's templates are encoded on all cores, this thread
        // included, up to a window of nodes ahead, and placed here in node
        // order (`prepare`) while the next ones are encoded.
        let prepare = |i| self.prepare_node(i);
        super::parallel::pipelined(self.nodes.len(), NODE_BATCH, prepare, |prepared| -> Result<(), CompileError> {
            // With phases on: how much of this loop is getting the next
            // node's templates (waiting, or encoding them here) rather than placing.
            let mut getting = std::time::Duration::ZERO;
            // One vector for every node's (type, offset) pairs, on this serial thread.
            let mut entries = Vec::new();
            for (i, node) in self.nodes.iter().enumerate() {
                let asked = phases::instant();
                let Some(p) = prepared.next() else { break };
                if let Some(t) = asked {
                    getting += t.elapsed();
                }
                let NodeTemplates { mut bytes, types, default, parent_referral, lower } = p;
                let lower = &lower;
                entries.clear();
                for (t, p) in types {
                    entries.push((t, placer.place(&mut out, warnings, p?, &mut bytes)?));
                }
                let default_off = placer.place(&mut out, warnings, default?, &mut bytes)?;
                let parent_referral = match parent_referral {
                    Some(r) => Some(placer.place(&mut out, warnings, r?, &mut bytes)?),
                    None => None,
                };

                let off = u32::try_from(out.len()).map_err(|_| CompileError::TooLarge)?;
                node_offsets[i] = off;
                let dname = if node.cut().is_none() { node.rrset(RType::DNAME) } else { None };
                let mut flags = 0u8;
                if node.cut().is_some() {
                    flags |= FLAG_CUT;
                }
                if dname.is_some() {
                    flags |= FLAG_DNAME;
                }
                if node.wildcard_child().is_some() {
                    flags |= FLAG_WILDCARD_CHILD;
                }
                if parent_referral.is_some() {
                    flags |= FLAG_PARENT_CUT;
                }
                let encloser_proofs = enclosers.get(i).copied().flatten();
                if encloser_proofs.is_some() {
                    flags |= FLAG_DENIAL;
                }
                out.push(lower.wire_len() as u8);
                out.extend_from_slice(lower.wire());
                out.push(flags);
                out.extend_from_slice(&node.zone.to_le_bytes());
                out.extend_from_slice(&default_off.to_le_bytes());
                out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
                for (t, r) in &entries {
                    out.extend_from_slice(&t.to_le_bytes());
                    out.extend_from_slice(&r.to_le_bytes());
                }
                if let Some(w) = node.wildcard_child() {
                    wildcard_fixups.push((out.len(), w));
                    out.extend_from_slice(&[0u8; 4]);
                }
                if let (Some(r), Some(cut)) = (parent_referral, node.parent_cut()) {
                    out.extend_from_slice(&(cut.zone as u32).to_le_bytes());
                    out.extend_from_slice(&r.to_le_bytes());
                }
                if let Some(d) = dname {
                    out.extend_from_slice(&d.ttl.to_le_bytes());
                    out.push(d.rdatas[0].len() as u8);
                    out.extend_from_slice(d.rdatas[0]);
                }
                if let Some((wild, matching)) = encloser_proofs {
                    out.extend_from_slice(&wild.to_le_bytes());
                    if let Some(m) = matching {
                        out.extend_from_slice(&m.to_le_bytes());
                    }
                }
            }
            phases::note("emit: nodes, getting templates (wall)", getting);
            Ok(())
        })?;
        phases::mark("emit: nodes (encode + place)");
        for (at, w) in wildcard_fixups {
            out[at..at + 4].copy_from_slice(&node_offsets[w].to_le_bytes());
        }
        // What a start reads per zone instead of walking every node.
        let expiries = self.earliest_rrsig_expiries();
        for (zi, z) in self.zones.iter().enumerate() {
            let apex = self.lookup(key(&z.apex, &mut [0u8; 255])).map_or(0, |i| node_offsets[i]);
            let at = zones_off + zi * ZONE_LEN;
            out[at + 12..at + 16].copy_from_slice(&apex.to_le_bytes());
            if let Some(e) = expiries[zi] {
                out[at + 16..at + 20].copy_from_slice(&ZONE_HAS_EXPIRY.to_le_bytes());
                out[at + 20..at + 24].copy_from_slice(&e.to_le_bytes());
            }
        }
        // Nothing left to write reads a node, its name or a written
        // template: they go before the table's last parts (the NSEC3
        // proofs, the buckets, an eighth of an unsigned table), which
        // would otherwise be the peak with all of them held.
        phases::mark("emit: wildcard links, expiries");
        drop((placer, enclosers));
        self.nodes = Vec::new();
        self.index = NameIndex::default();
        self.parent_glue = FastMap::default();
        self.nsec3_hashes = Vec::new();
        phases::mark("emit: nodes dropped");
        for (zi, n3) in self.nsec3.iter().enumerate() {
            if n3.entries.is_empty() {
                continue;
            }
            let apex = &self.zones[zi].apex;
            // A run of entries' proofs into one buffer, and where each ends in it.
            let encode = |entries: &[Nsec3Entry<'_>]| {
                let mut bytes = Vec::new();
                let mut ends = Vec::with_capacity(entries.len());
                for e in entries {
                    let s = Sections {
                        aa: true,
                        rcode: rcode::NOERROR,
                        answer: vec![],
                        authority: vec![self.set(Owner::Name(e.owner.clone()), &e.set)],
                        additional: vec![],
                        denial: vec![],
                    };
                    let t = s.encode(QueryContext { name: apex, labels: apex.label_count() }, true);
                    bytes.reserve(t.serialized_len());
                    t.serialize(&mut bytes);
                    ends.push(bytes.len());
                }
                (bytes, ends)
            };
            // Encoded on all cores a batch at a time (so that only a batch's
            // copies are held), a run of entries to a buffer (not a buffer
            // each, allocated on one thread and freed on this one), appended
            // here in chain order.
            let mut proofs = Vec::with_capacity(n3.entries.len());
            for batch in n3.entries.chunks(NSEC3_PROOF_BATCH) {
                for (bytes, ends) in super::parallel::map_runs(batch.len(), NSEC3_PROOF_RUN, |r| encode(&batch[r])) {
                    let base = out.len();
                    let mut start = 0;
                    for end in ends {
                        proofs.push(u32::try_from(base + start).map_err(|_| CompileError::TooLarge)?);
                        start = end;
                    }
                    out.extend_from_slice(&bytes);
                }
            }
            let chain_off = u32::try_from(out.len()).map_err(|_| CompileError::TooLarge)?;
            out.push(CHAIN_NSEC3);
            out.extend_from_slice(&n3.iterations.to_le_bytes());
            out.push(n3.salt.len() as u8);
            out.extend_from_slice(&n3.salt);
            out.extend_from_slice(&(n3.entries.len() as u32).to_le_bytes());
            // The prefix index the engine searches is the compiler's own.
            out.push(n3.bits as u8);
            for start in &n3.starts {
                out.extend_from_slice(&start.to_le_bytes());
            }
            for (e, p) in n3.entries.iter().zip(proofs) {
                out.extend_from_slice(&e.hash);
                out.extend_from_slice(&p.to_le_bytes());
            }
            let at = zones_off + zi * ZONE_LEN + 8;
            out[at..at + 4].copy_from_slice(&chain_off.to_le_bytes());
        }
        for (zi, chain) in self.nsec_chain.iter().enumerate() {
            if chain.is_empty() || !self.nsec3[zi].entries.is_empty() {
                continue;
            }
            let chain_off = u32::try_from(out.len()).map_err(|_| CompileError::TooLarge)?;
            out.push(CHAIN_NSEC);
            out.extend_from_slice(&(chain.len() as u32).to_le_bytes());
            for &(_, i) in chain {
                out.extend_from_slice(&node_offsets[i].to_le_bytes());
                out.extend_from_slice(&proofs[i].to_le_bytes());
            }
            let at = zones_off + zi * ZONE_LEN + 8;
            out[at..at + 4].copy_from_slice(&chain_off.to_le_bytes());
        }

        phases::mark("emit: nsec3 chains, expiries");
        let buckets = super::buckets::append(&mut out, &node_offsets);
        phases::mark("emit: buckets");
        if u32::try_from(out.len()).is_err() {
            return Err(CompileError::TooLarge);
        }

        // `out` began as a zeroed header's worth of bytes.
        let mut header = Header::new_checked_mut(&mut out).ok_or(CompileError::TooLarge)?;
        header.set_identity();
        header.set_bucket_count(buckets.count as u32);
        header.set_max_probe(buckets.max_probe);
        header.set_buckets_off(buckets.off as u32);
        header.set_zone_count(self.zones.len() as u32);
        header.set_zones_off(zones_off as u32);
        // Sealed by the caller (`compile_lent`), beside this compiler's drop.
        Ok(out)
    }
}

/// How many nodes' templates may be encoded ahead of their placing: enough
/// that the encoding threads rarely wait, few enough to hold (some megabytes).
const NODE_BATCH: usize = 8192;

/// Room a node's template bytes start with, unsigned and signed: most
/// nodes' (three or four templates, signed ones in two forms) fit, so the
/// buffer is not grown through several reallocations, and the window's
/// nodes hold a few megabytes more at most.
const NODE_BYTES: [usize; 2] = [512, 2048];

/// How many NSEC3 records' proofs are encoded at once (some megabytes).
const NSEC3_PROOF_BATCH: usize = 1 << 16;

/// How many NSEC3 proofs share a buffer while encoded.
const NSEC3_PROOF_RUN: usize = 64;

/// A node's templates, encoded (`prepare`), not yet placed.
struct NodeTemplates {
    /// All of their bytes, each `Prepared` naming its own.
    bytes: Vec<u8>,
    /// Per type with its own answer.
    types: Vec<(u16, Result<Prepared, CompileError>)>,
    /// Every other type's.
    default: Result<Prepared, CompileError>,
    /// At a served child's apex, the parent's referral.
    parent_referral: Option<Result<Prepared, CompileError>>,
    /// The node's name in lowercase, as its record holds it (made here,
    /// off the serial placing).
    lower: Name,
}

impl Compiler<'_> {
    /// Encodes node `i`'s templates: what the node loop of `emit` places,
    /// in that order. Reads the compiler only, so nodes go in parallel.
    fn prepare_node(&self, i: usize) -> NodeTemplates {
        let node = &self.nodes[i];
        // A wildcard's answers may only point at the part of the query
        // name that every match shares: the wildcard's parent.
        let labels = if node.name.is_wildcard() { node.name.label_count() - 1 } else { node.name.label_count() };
        let ctx = QueryContext { name: &node.name, labels };
        let expired = self.zones[node.zone()].expired;
        let types = if expired { Vec::new() } else { self.answer_types(i) };
        let mut bytes = Vec::with_capacity(NODE_BYTES[usize::from(self.signed)]);
        let types = types.iter().map(|t| (t.0, prepare(&self.answer(i, *t), ctx, self.signed, &mut bytes))).collect();
        let default = if expired {
            prepare(&Sections::servfail(), ctx, self.signed, &mut bytes)
        } else {
            prepare(&self.answer(i, TYPE_NONE), ctx, self.signed, &mut bytes)
        };
        let parent_referral = match self.parent_referral(i) {
            Some(s) if !expired => Some(prepare(&s, ctx, self.signed, &mut bytes)),
            _ => None,
        };
        NodeTemplates { bytes, types, default, parent_referral, lower: node.name.to_lowercase() }
    }

    /// Per zone, the earliest RRSIG expiration (RFC 1982 order) among the
    /// signatures its answers carry: its RRsets', the DS its parent serves
    /// at its apex, its NSEC3 records' and its SOA's; `None` for a zone
    /// with none, or an expired one (it answers SERVFAIL).
    fn earliest_rrsig_expiries(&self) -> Vec<Option<u32>> {
        let mut earliest: Vec<Option<u32>> = vec![None; self.zones.len()];
        let mut see = |zone: usize, set: &Rrset<'_>| {
            for e in set.sigs.iter().flat_map(|s| s.rdatas.iter()).filter_map(|sig| sig.get(8..12)) {
                let e = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                let slot = &mut earliest[zone];
                if slot.is_none_or(|x| (x.wrapping_sub(e) as i32) > 0) {
                    *slot = Some(e);
                }
            }
        };
        for (zi, z) in self.zones.iter().enumerate() {
            see(zi, &z.negative_soa);
            for e in self.nsec3.get(zi).iter().flat_map(|c| &c.entries) {
                see(zi, &e.set);
            }
        }
        for node in &self.nodes {
            for set in &node.rrsets {
                see(node.zone(), set);
            }
            if let Some((_, ds)) = node.parent_ds() {
                see(node.zone(), ds);
            }
        }
        for (slot, z) in earliest.iter_mut().zip(&self.zones) {
            if z.expired {
                *slot = None;
            }
        }
        earliest
    }
}

/// The lowercase wire form of `name`, in `buf`: the index key, without an allocation.
fn key<'b>(name: &Name, buf: &'b mut [u8; 255]) -> &'b [u8] {
    let wire = name.wire();
    let out = &mut buf[..wire.len()];
    for (d, s) in out.iter_mut().zip(wire) {
        *d = s.to_ascii_lowercase();
    }
    out
}

/// Warns, once per zone, of RRSIGs that have expired or are not valid yet
/// at `now` (serial arithmetic, RFC 4034 §3.1.5). The zone is loaded and
/// served anyway, as Knot does: refusing it would take the whole zone down
/// at a reload, while validators reject only the out-of-date RRsets.
fn signatures_out_of_date(z: &Lent, now: u32, warnings: &mut Vec<String>) {
    let after = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
    let mut bad = z.records().filter(|r| r.rtype == RType::RRSIG && r.rdata.len() >= 16).filter_map(|r| {
        let expiration = u32::from_be_bytes([r.rdata[8], r.rdata[9], r.rdata[10], r.rdata[11]]);
        let inception = u32::from_be_bytes([r.rdata[12], r.rdata[13], r.rdata[14], r.rdata[15]]);
        if after(now, expiration) {
            Some((r, "expired", expiration))
        } else if after(inception, now) {
            Some((r, "is not valid until", inception))
        } else {
            None
        }
    });
    let Some((first, what, when)) = bad.next() else { return };
    let more = bad.count();
    let covered = covered(&first.rdata).unwrap_or(RType(0));
    warnings.push(format!(
        "{}: the RRSIG over {} {covered} {what} {} (and {more} more RRSIGs of {} out of date): the zone is \
         served anyway, as Knot does, but validating resolvers will reject those answers",
        first.location,
        first.owner,
        rrsig_time(when),
        z.origin,
    ));
}

/// An RRSIG time as the zone file writes it, YYYYMMDDHHmmSS (UTC).
pub fn rrsig_time(t: u32) -> String {
    let (days, secs) = (t as i64 / 86_400, t as i64 % 86_400);
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A byte string that sorts as `name` does in canonical DNS order (RFC 4034
/// §6.1): labels from the root down, each lowercase octet as `octet + 1`
/// in two bytes, each label closed by two zero bytes, so a label sorts
/// before any longer one it begins, and a name before its descendants.
fn canonical_key(name: &Name) -> Vec<u8> {
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
fn dedup_rdatas(rdatas: &mut Rdatas<'_>) {
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
fn soa_minimum(rdata: &[u8]) -> Option<u32> {
    let m = rdata.get(rdata.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
}

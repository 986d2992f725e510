//! Incremental apply (issue 14): a change set becomes an *overlay*, a small
//! table of the names whose answers it changes, consulted before the base
//! table; names it removed are tombstones. Building one costs time in
//! proportion to the names the change reaches, not to the zone: the
//! [`ZoneIndex`] finds them (and what the compiler must see to answer them),
//! the ordinary compiler compiles that partial zone set, and [`write`]
//! copies the reached nodes out into the overlay. docs/DESIGN.md, "The
//! table's update model", says what is handled and what falls back to a
//! full compile, and why.

mod closure;
mod diff;
mod filter;
mod index;
mod write;

#[cfg(test)]
mod tests;

pub use index::ZoneIndex;

use super::fasthash::{FastMap, FastSet};
use super::format::hash_name;
use super::{Lent, NodeView, Table, TableError};
use crate::zone::{Name, RType, Record};
use closure::{has_witness_label, WITNESS};
use index::{key, parent, Key};

/// The names a change set changed, compiled, and the names it removed.
pub struct Overlay {
    table: Table,
    /// Names the base has and the changed zones do not.
    tombstones: FastMap<Key, ()>,
    /// Every name the overlay decides (its nodes and tombstones), by hash:
    /// a lookup of any other name goes straight to the base.
    filter: filter::Filter,
    /// The zones whose SOA changed in its numbers only since the base was
    /// compiled: every base template that carries the SOA (negative
    /// answers, the apex's) holds the old numbers, which the engine
    /// rewrites after copying (`engine::overlaid`).
    soa: Box<[SoaPatch]>,
}

/// A zone's SOA as it now is, where it differs from the base's only in its
/// fixed-size fields: what the engine writes over each SOA record of that
/// zone in an answer from the overlaid engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaPatch {
    /// The zone's apex, lowercase wire form: the owner of its SOA.
    pub apex: Box<[u8]>,
    /// SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM: the last 20 bytes of RDATA.
    pub fixed: [u8; SOA_FIXED_LEN],
    /// The TTL of the SOA in negative answers, min(TTL, MINIMUM) (RFC 2308 §3).
    pub negative_ttl: u32,
}

/// Bytes of SOA RDATA after the two names.
pub const SOA_FIXED_LEN: usize = 20;

/// One zone's change: records deleted, then records added (an IXFR
/// difference, or the difference of two versions of a zone file). `zone`
/// is the zone's place in the slice the table was compiled from.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub zone: usize,
    pub deletes: Vec<Record>,
    pub adds: Vec<Record>,
}

/// Why a change is not applied incrementally: the caller compiles the
/// whole zone set instead (from [`ZoneIndex::zones`], which holds the
/// change either way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fallback {
    #[error("a zone is signed (its proofs depend on neighbouring names)")]
    Signed,
    #[error("the SOA's names, TTL or count change (every negative answer of the zone carries it)")]
    Soa,
    #[error("a delegation, DS or DNAME changes (answers below it move)")]
    Structure,
    #[error("a name at or below a delegation or DNAME, or glue, changes")]
    BelowCut,
    #[error("a record lies outside the zone, or in a served child zone")]
    OutOfZone,
    #[error("the zone is expired")]
    Expired,
    #[error("the partial compile failed: {0}")]
    Compile(String),
}

impl Overlay {
    fn new(table: Table, tombstones: FastMap<Key, ()>, soa: Box<[SoaPatch]>) -> Result<Overlay, TableError> {
        let mut hashes = Vec::with_capacity(tombstones.len());
        for off in table.bucket_offsets() {
            hashes.push(hash_name(table.node_at(off).ok_or(TableError::Corrupt("overlay node"))?.name()));
        }
        hashes.extend(tombstones.keys().map(|k| hash_name(k)));
        Ok(Overlay { filter: filter::Filter::new(&hashes), table, tombstones, soa })
    }

    /// The node for a lowercase name: the overlay's, none for a tombstone,
    /// else the base's. The table returned is the one the node's offsets
    /// (responses, wildcard child, zone records) are read in.
    #[inline]
    pub fn find<'t>(&'t self, base: &'t Table, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)> {
        if self.filter.may_hold(hash) {
            if let Some(node) = self.table.find_hashed(name, hash) {
                return Some((&self.table, node));
            }
            if !self.tombstones.is_empty() && self.tombstones.contains_key(name) {
                return None;
            }
        }
        base.find_hashed(name, hash).map(|n| (base, n))
    }

    /// Names compiled into the overlay, and names it removes.
    pub fn len(&self) -> (usize, usize) {
        (self.table.bucket_offsets().count(), self.tombstones.len())
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The zones whose SOA numbers changed since the base was compiled.
    #[inline(always)]
    pub fn soa_patches(&self) -> &[SoaPatch] {
        &self.soa
    }

    /// Bytes held: the overlay's table, its tombstones and its filter.
    pub fn bytes(&self) -> usize {
        self.table.as_bytes().len() + self.tombstones.keys().map(|k| k.len() + 16).sum::<usize>() + self.filter.bytes()
    }
}

/// The tables a query is answered from. The engine picks the
/// implementation once per answer, from whether its engine has an overlay,
/// and the answer path is compiled once for each: with [`BaseOnly`] it is
/// the base table's code and nothing else.
pub trait Layers<'t>: Copy {
    /// The table compiled from the zone files (or the last full compile).
    fn base(self) -> &'t Table;

    /// The node for a lowercase name whose hash is known, and the table
    /// its offsets are read in.
    fn find_hashed(self, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)>;

    #[inline(always)]
    fn find(self, name: &[u8]) -> Option<(&'t Table, NodeView<'t>)> {
        self.find_hashed(name, hash_name(name))
    }
}

/// The base table alone: no change applied since it was compiled.
#[derive(Clone, Copy)]
pub struct BaseOnly<'t>(pub &'t Table);

impl<'t> Layers<'t> for BaseOnly<'t> {
    #[inline(always)]
    fn base(self) -> &'t Table {
        self.0
    }

    #[inline(always)]
    fn find_hashed(self, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)> {
        self.0.find_hashed(name, hash).map(|n| (self.0, n))
    }
}

/// The base with an overlay over it.
#[derive(Clone, Copy)]
pub struct Overlaid<'t> {
    pub base: &'t Table,
    pub overlay: &'t Overlay,
}

impl<'t> Layers<'t> for Overlaid<'t> {
    #[inline(always)]
    fn base(self) -> &'t Table {
        self.base
    }

    #[inline(always)]
    fn find_hashed(self, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)> {
        self.overlay.find(self.base, name, hash)
    }
}

/// What one apply did, for the log and the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Names whose node was compiled anew (including empty non-terminals
    /// and names that refer to a changed one).
    pub compiled: usize,
    /// Names removed.
    pub removed: usize,
    /// Names the partial compile was given.
    pub context: usize,
}

/// Applies `change` to `index` (always: on a fallback the index holds the
/// changed zones all the same) and builds the overlay that, over the base
/// table `index` was built for (and `prev`, the overlay already applied
/// over it), answers as a compile of the changed zones would.
pub fn apply(
    index: &mut ZoneIndex,
    base: &Table,
    prev: Option<&Overlay>,
    change: &Change,
) -> Result<(Overlay, Applied), Fallback> {
    let checked = refuse(index, change);
    let (seeds, roots) = mutate(index, change);
    let soa = checked?;
    let affected = closure::affected(index, &seeds, &roots);
    let context = closure::context(index, &affected).map_err(|e| Fallback::Compile(e.into()))?;
    let mut witnesses = Vec::new();
    let partial = partial_zones(index, &context, &mut witnesses);
    let mut warnings = Vec::new();
    let table = Table::compile_lent_noting(&partial, &mut warnings).map_err(|e| Fallback::Compile(e.to_string()))?;
    drop(partial);
    let mut patches: Vec<SoaPatch> = prev.map(|p| p.soa.to_vec()).unwrap_or_default();
    if let Some(new) = soa {
        patches.retain(|p| p.apex != new.apex);
        patches.push(new);
    }
    build(index, base, prev, &table, &affected, context.len(), patches.into())
        .map_err(|e| Fallback::Compile(e.to_string()))
}

/// The reasons to fall back, read before the change is made (the change's
/// own records tell what it touches); else the zone's SOA patch, if its
/// SOA changes.
fn refuse(ix: &ZoneIndex, change: &Change) -> Result<Option<SoaPatch>, Fallback> {
    if ix.signed {
        return Err(Fallback::Signed);
    }
    let Some(meta) = ix.zones.get(change.zone) else { return Err(Fallback::OutOfZone) };
    if meta.expired {
        return Err(Fallback::Expired);
    }
    let soa = soa_patch(meta, change)?;
    for r in change.deletes.iter().chain(&change.adds) {
        let k = key(&r.owner);
        if index::is_dnssec(r.rtype) {
            return Err(Fallback::Signed);
        }
        if r.rtype == RType::SOA {
            // Checked whole by `soa_patch`.
            continue;
        }
        if matches!(r.rtype, RType::DS | RType::DNAME) || (r.rtype == RType::NS && k != meta.apex) {
            return Err(Fallback::Structure);
        }
        if ix.zone_of(&k) != Some(change.zone) || has_witness_label(&k) {
            return Err(Fallback::OutOfZone);
        }
        // At or below a cut or a DNAME (glue, occluded names), or named
        // by a delegation (glue elsewhere in the zone).
        let mut cur: Option<&[u8]> = Some(&k);
        while let Some(n) = cur.filter(|n| **n != *meta.apex) {
            if ix.entry(n).is_some_and(|e| e.has(RType::NS) || e.has(RType::DNAME)) {
                return Err(Fallback::BelowCut);
            }
            cur = parent(n);
        }
        let glue = |r: &index::Ref| r.rtype == RType::NS && !ix.is_apex(&r.source);
        if ix.refs.get(&k).is_some_and(|refs| refs.iter().any(glue)) {
            return Err(Fallback::BelowCut);
        }
    }
    Ok(soa)
}

/// A change of the SOA's numbers alone (one SOA deleted, one added, at the
/// apex, with the same TTL, class and names: what an IXFR or a serial bump
/// in a file carries) becomes a patch; any other SOA change falls back,
/// as the names and the TTL are not fixed-size.
fn soa_patch(meta: &index::ZoneMeta, change: &Change) -> Result<Option<SoaPatch>, Fallback> {
    fn soa(rs: &[Record]) -> Vec<&Record> {
        rs.iter().filter(|r| r.rtype == RType::SOA).collect()
    }
    let (old, new) = (soa(&change.deletes), soa(&change.adds));
    let (o, n) = match (old.as_slice(), new.as_slice()) {
        ([], []) => return Ok(None),
        ([o], [n]) => (*o, *n),
        _ => return Err(Fallback::Soa),
    };
    let names_len = n.rdata.len().checked_sub(SOA_FIXED_LEN).ok_or(Fallback::Soa)?;
    let same_shape = key(&o.owner) == meta.apex
        && key(&n.owner) == meta.apex
        && (o.ttl, o.class) == (n.ttl, n.class)
        && o.rdata.len() == n.rdata.len()
        && o.rdata[..names_len] == n.rdata[..names_len];
    if !same_shape {
        return Err(Fallback::Soa);
    }
    let fixed: [u8; SOA_FIXED_LEN] = n.rdata[names_len..].try_into().map_err(|_| Fallback::Soa)?;
    let minimum = u32::from_be_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
    Ok(Some(SoaPatch { apex: meta.apex.clone(), fixed, negative_ttl: n.ttl.min(minimum) }))
}

/// Makes the change in the index. Returns the seeds of the affected set
/// (changed owners, names that began or ceased to exist, parents of
/// changed wildcards) and the roots below which targets may now resolve
/// differently (names that began or ceased to exist, those parents).
fn mutate(ix: &mut ZoneIndex, change: &Change) -> (Vec<Key>, Vec<Key>) {
    let mut seeds = Vec::new();
    let mut roots = Vec::new();
    let note = |k: Key, born: Vec<Key>, seeds: &mut Vec<Key>, roots: &mut Vec<Key>| {
        if k.get(..2) == Some(b"\x01*") {
            if let Some(p) = parent(&k) {
                roots.push(p.into());
            }
        }
        seeds.push(k);
        roots.extend(born.iter().cloned());
        seeds.extend(born);
    };
    for r in &change.deletes {
        if let Some(gone) = ix.delete(change.zone, r) {
            note(key(&r.owner), gone, &mut seeds, &mut roots);
        }
    }
    for r in &change.adds {
        let born = ix.add(change.zone, r.clone());
        note(key(&r.owner), born, &mut seeds, &mut roots);
    }
    (seeds, roots)
}

/// The partial zone set: every zone (in the compile's order, so zone
/// indices agree with the base), lending the records of the context's
/// names from the index, and a witness below each empty non-terminal
/// among them (made here: `witnesses` holds them, one list per zone).
fn partial_zones<'a>(ix: &'a ZoneIndex, context: &[&[u8]], witnesses: &'a mut Vec<Vec<Record>>) -> Vec<Lent<'a>> {
    let mut picked: Vec<Vec<&'a Record>> = ix.zones.iter().map(|_| Vec::new()).collect();
    *witnesses = ix.zones.iter().map(|_| Vec::new()).collect();
    for &k in context {
        let Some(e) = ix.entry(k) else { continue };
        if let Some(zi) = e.zone {
            picked[zi].extend(e.records.iter());
        }
        for (zi, r) in &e.parent_ds {
            picked[*zi].push(r);
        }
        if e.records.is_empty() && e.parent_ds.is_empty() {
            let Some(zi) = ix.zone_of(k) else { continue };
            let mut w = WITNESS.to_vec();
            w.extend_from_slice(k);
            let Ok(owner) = Name::from_wire(&w) else { continue };
            let location = crate::zone::Location { file: "(overlay witness)".into(), line: 0 };
            witnesses[zi].push(Record { owner, rtype: RType::TXT, class: 1, ttl: 0, rdata: vec![0].into(), location });
        }
    }
    let witnesses: &'a Vec<Vec<Record>> = witnesses;
    ix.zones
        .iter()
        .zip(witnesses)
        .zip(picked)
        .map(|((z, w), picked)| Lent { origin: &z.origin, expired: z.expired, slice: w, picked })
        .collect()
}

/// The overlay: the affected names that exist, from the partial compile;
/// the previous overlay's other names as they were; tombstones for the
/// affected names that no longer exist, and the previous ones still gone.
fn build(
    ix: &ZoneIndex,
    base: &Table,
    prev: Option<&Overlay>,
    partial: &Table,
    affected: &[&[u8]],
    context: usize,
    soa: Box<[SoaPatch]>,
) -> Result<(Overlay, Applied), TableError> {
    let mut w = write::Writer::new(partial)?;
    let mut tombstones: FastMap<Key, ()> = FastMap::default();
    let mut stats = Applied { context, ..Applied::default() };
    let reached: FastSet<&[u8]> = affected.iter().copied().collect();
    for &k in affected {
        if ix.exists(k) {
            let node =
                partial.find(k).ok_or(TableError::Corrupt("an affected name missing from the partial compile"))?;
            w.node(partial, &node)?;
            stats.compiled += 1;
        } else {
            tombstones.insert(k.into(), ());
            stats.removed += 1;
        }
    }
    if let Some(prev) = prev {
        for off in prev.table.bucket_offsets() {
            let node = prev.table.node_at(off).ok_or(TableError::Corrupt("overlay node"))?;
            if !reached.contains(node.name()) {
                w.node(&prev.table, &node)?;
            }
        }
        for k in prev.tombstones.keys() {
            if !reached.contains(&**k) {
                tombstones.insert(k.clone(), ());
            }
        }
    }
    // A wildcard child the change did not reach, named by its parent that
    // it did: as it was (the previous overlay's were copied just above).
    loop {
        let missing = w.missing_wildcards();
        if missing.is_empty() {
            break;
        }
        for name in missing {
            let hash = hash_name(&name);
            let found = match prev {
                Some(o) => o.find(base, &name, hash),
                None => base.find_hashed(&name, hash).map(|n| (base, n)),
            };
            let (t, node) = found.ok_or(TableError::Corrupt("a wildcard child missing"))?;
            w.node(t, &node)?;
        }
    }
    Ok((Overlay::new(w.finish()?, tombstones, soa)?, stats))
}

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
mod index;
mod write;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

pub use index::ZoneIndex;

use super::fasthash::FastMap;
use super::format::hash_name;
use super::{NodeView, Table, TableError};
use crate::zone::{Name, RType, Record, Zone};
use closure::{has_witness_label, WITNESS};
use index::{key, parent, Key};

/// The names a change set changed, compiled, and the names it removed.
pub struct Overlay {
    table: Table,
    /// Names the base has and the changed zones do not.
    tombstones: FastMap<Key, ()>,
}

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
    #[error("the SOA changes (every negative answer of the zone carries it)")]
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
    /// The node for a lowercase name: the overlay's, none for a tombstone,
    /// else the base's. The table returned is the one the node's offsets
    /// (responses, wildcard child, zone records) are read in.
    #[inline]
    pub fn find<'t>(&'t self, base: &'t Table, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)> {
        if let Some(node) = self.table.find_hashed(name, hash) {
            return Some((&self.table, node));
        }
        if !self.tombstones.is_empty() && self.tombstones.contains_key(name) {
            return None;
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

    /// Bytes held: the overlay's table and its tombstones.
    pub fn bytes(&self) -> usize {
        self.table.as_bytes().len() + self.tombstones.keys().map(|k| k.len() + 16).sum::<usize>()
    }
}

/// The tables a query is answered from: the base, and the overlay over it
/// when changes were applied since the base was compiled.
#[derive(Clone, Copy)]
pub struct Layers<'t> {
    pub base: &'t Table,
    pub overlay: Option<&'t Overlay>,
}

impl<'t> Layers<'t> {
    /// The node for a lowercase name whose hash is known, and its table.
    /// With no overlay this is the base's lookup and one branch.
    #[inline(always)]
    pub fn find_hashed(self, name: &[u8], hash: u64) -> Option<(&'t Table, NodeView<'t>)> {
        match self.overlay {
            None => self.base.find_hashed(name, hash).map(|n| (self.base, n)),
            Some(o) => o.find(self.base, name, hash),
        }
    }

    #[inline(always)]
    pub fn find(self, name: &[u8]) -> Option<(&'t Table, NodeView<'t>)> {
        self.find_hashed(name, hash_name(name))
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
    let refusal = refuse(index, change);
    let (seeds, roots) = mutate(index, change);
    if let Some(why) = refusal {
        return Err(why);
    }
    let affected = closure::affected(index, &seeds, &roots);
    let context = closure::context(index, &affected).map_err(|e| Fallback::Compile(e.into()))?;
    let partial = partial_zones(index, &context);
    let mut warnings = Vec::new();
    let table = Table::compile_noting(&partial, &mut warnings).map_err(|e| Fallback::Compile(e.to_string()))?;
    build(index, Layers { base, overlay: prev }, &table, &affected, context.len())
        .map_err(|e| Fallback::Compile(e.to_string()))
}

/// The reasons to fall back, read before the change is made (the change's
/// own records tell what it touches).
fn refuse(ix: &ZoneIndex, change: &Change) -> Option<Fallback> {
    if ix.signed {
        return Some(Fallback::Signed);
    }
    let meta = ix.zones.get(change.zone)?;
    if meta.expired {
        return Some(Fallback::Expired);
    }
    for r in change.deletes.iter().chain(&change.adds) {
        let k = key(&r.owner);
        if index::is_dnssec(r.rtype) {
            return Some(Fallback::Signed);
        }
        if r.rtype == RType::SOA {
            return Some(Fallback::Soa);
        }
        if matches!(r.rtype, RType::DS | RType::DNAME) || (r.rtype == RType::NS && k != meta.apex) {
            return Some(Fallback::Structure);
        }
        if ix.zone_of(&k) != Some(change.zone) || has_witness_label(&k) {
            return Some(Fallback::OutOfZone);
        }
        // At or below a cut or a DNAME (glue, occluded names), or named
        // by a delegation (glue elsewhere in the zone).
        let mut cur: Option<&[u8]> = Some(&k);
        while let Some(n) = cur.filter(|n| **n != *meta.apex) {
            if ix.entry(n).is_some_and(|e| e.has(RType::NS) || e.has(RType::DNAME)) {
                return Some(Fallback::BelowCut);
            }
            cur = parent(n);
        }
        let glue = |r: &index::Ref| r.rtype == RType::NS && !ix.is_apex(&r.source);
        if ix.refs.get(&k).is_some_and(|refs| refs.iter().any(glue)) {
            return Some(Fallback::BelowCut);
        }
    }
    None
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
/// indices agree with the base), holding the records of the context's
/// names, and a witness below each empty non-terminal among them.
fn partial_zones(ix: &ZoneIndex, context: &[Key]) -> Vec<Zone> {
    let mut zones: Vec<Zone> = ix
        .zones
        .iter()
        .map(|z| Zone { origin: z.origin.clone(), records: Vec::new(), warnings: Vec::new(), expired: z.expired })
        .collect();
    for k in context {
        let Some(e) = ix.entry(k) else { continue };
        if let Some(zi) = e.zone {
            zones[zi].records.extend(e.records.iter().cloned());
        }
        for (zi, r) in &e.parent_ds {
            zones[*zi].records.push(r.clone());
        }
        if e.records.is_empty() && e.parent_ds.is_empty() {
            let Some(zi) = ix.zone_of(k) else { continue };
            let mut w = WITNESS.to_vec();
            w.extend_from_slice(k);
            let Ok(owner) = Name::from_wire(&w) else { continue };
            let location = crate::zone::Location { file: "(overlay witness)".into(), line: 0 };
            zones[zi].records.push(Record { owner, rtype: RType::TXT, class: 1, ttl: 0, rdata: vec![0], location });
        }
    }
    zones
}

/// The overlay: the affected names that exist, from the partial compile;
/// the previous overlay's other names as they were; tombstones for the
/// affected names that no longer exist, and the previous ones still gone.
fn build(
    ix: &ZoneIndex,
    layers: Layers<'_>,
    partial: &Table,
    affected: &[Key],
    context: usize,
) -> Result<(Overlay, Applied), TableError> {
    let mut w = write::Writer::new(partial)?;
    let mut tombstones: FastMap<Key, ()> = FastMap::default();
    let mut stats = Applied { context, ..Applied::default() };
    let reached: HashSet<&[u8]> = affected.iter().map(|k| &**k).collect();
    for k in affected {
        if ix.exists(k) {
            let node =
                partial.find(k).ok_or(TableError::Corrupt("an affected name missing from the partial compile"))?;
            w.node(partial, &node)?;
            stats.compiled += 1;
        } else {
            tombstones.insert(k.clone(), ());
            stats.removed += 1;
        }
    }
    if let Some(prev) = layers.overlay {
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
            let (t, node) = layers.find(&name).ok_or(TableError::Corrupt("a wildcard child missing"))?;
            w.node(t, &node)?;
        }
    }
    Ok((Overlay { table: w.finish()?, tombstones }, stats))
}

//! Writes an overlay's table: chosen nodes copied out of other tables (the
//! partial compile, the previous overlay) with the templates they use, in
//! the table format, so the engine reads an overlay node exactly as a base
//! one. Templates are relocatable (see `format`): copied as bytes, only the
//! offsets that point between records are rewritten.

use super::index::Key;
use crate::table::fasthash::FastMap;
use crate::table::format::*;
use crate::table::header::{seal, Header};
use crate::table::{NodeView, Table, TableError};

pub(super) struct Writer {
    out: Vec<u8>,
    /// (source table, offset there) → offset here.
    copied: FastMap<(usize, u32), u32>,
    /// Each node written, and where its wildcard child's offset goes.
    nodes: Vec<u32>,
    fixups: Vec<(usize, Key)>,
    by_name: FastMap<Key, u32>,
    zone_count: usize,
    zones_off: usize,
}

fn corrupt(what: &'static str) -> TableError {
    TableError::Corrupt(what)
}

fn id(t: &Table) -> usize {
    t.as_bytes().as_ptr() as usize
}

impl Writer {
    /// Starts a table whose zone records (NXDOMAIN and NODATA templates)
    /// are `zones`'s: those of a compile of the changed zones.
    pub fn new(zones: &Table) -> Result<Writer, TableError> {
        let mut w = Writer {
            out: vec![0u8; HEADER_LEN],
            copied: FastMap::default(),
            nodes: Vec::new(),
            fixups: Vec::new(),
            by_name: FastMap::default(),
            zone_count: zones.zone_count(),
            zones_off: HEADER_LEN,
        };
        w.out.resize(HEADER_LEN + w.zone_count * ZONE_LEN, 0);
        for zi in 0..w.zone_count {
            let z = zones.zone(zi as u32).ok_or(corrupt("zone record"))?;
            if z.nsec_chain != 0 {
                return Err(corrupt("a denial chain in an overlay"));
            }
            let nx = w.response(zones, z.nxdomain)?;
            let nd = w.response(zones, z.nodata)?;
            let at = HEADER_LEN + zi * ZONE_LEN;
            w.out[at..at + 4].copy_from_slice(&nx.to_le_bytes());
            w.out[at + 4..at + 8].copy_from_slice(&nd.to_le_bytes());
        }
        Ok(w)
    }

    fn offset(&self) -> Result<u32, TableError> {
        u32::try_from(self.out.len()).map_err(|_| corrupt("overlay over 4 GiB"))
    }

    /// Copies the response at `off` in `src` (and its DO=1 variant), once.
    fn response(&mut self, src: &Table, off: u32) -> Result<u32, TableError> {
        if let Some(&o) = self.copied.get(&(id(src), off)) {
            return Ok(o);
        }
        let r = src.response(off).ok_or(corrupt("response"))?;
        let mut len = RESPONSE_FIXED_LEN + r.body.len() + r.patches.len();
        let mut chunks = 0;
        for c in r.chunks() {
            len += CHUNK_FIXED_LEN + c.bytes.len() + c.patches.len();
            chunks += 1;
        }
        if chunks != r.chunk_count() {
            return Err(corrupt("chunks"));
        }
        let signed = if r.signed != 0 { self.response(src, r.signed)? } else { 0 };
        let start = off as usize;
        let bytes = src.as_bytes().get(start..start + len).ok_or(corrupt("response length"))?;
        let at = self.offset()?;
        self.out.extend_from_slice(bytes);
        let s = at as usize + RESPONSE_FIXED_LEN - 4;
        self.out[s..s + 4].copy_from_slice(&signed.to_le_bytes());
        self.copied.insert((id(src), off), at);
        Ok(at)
    }

    /// Copies a node of `src` with its templates; its wildcard child (by
    /// name) must be copied too before [`Writer::finish`].
    pub fn node(&mut self, src: &Table, node: &NodeView<'_>) -> Result<(), TableError> {
        // A served child's apex keeps its parent's referral for the DNAME
        // chase; the overlay does not carry it, so such a change compiles whole.
        if node.parent_cut().is_some() {
            return Err(corrupt("a served child's apex (its parent's referral) cannot go in an overlay"));
        }
        let default = self.response(src, node.default_response())?;
        let mut types = Vec::new();
        for (t, r) in node.types() {
            types.push((t, self.response(src, r)?));
        }
        let wildcard = match node.wildcard_child() {
            Some(w) => Some(Key::from(src.node_at(w).ok_or(corrupt("wildcard child"))?.name())),
            None => None,
        };
        let dname = node.dname();
        let mut flags = 0;
        if node.is_cut() {
            flags |= FLAG_CUT;
        }
        if dname.is_some() {
            flags |= FLAG_DNAME;
        }
        if wildcard.is_some() {
            flags |= FLAG_WILDCARD_CHILD;
        }
        let at = self.offset()?;
        let name = node.name();
        self.out.push(name.len() as u8);
        self.out.extend_from_slice(name);
        self.out.push(flags);
        self.out.extend_from_slice(&node.zone().to_le_bytes());
        self.out.extend_from_slice(&default.to_le_bytes());
        self.out.extend_from_slice(&(types.len() as u16).to_le_bytes());
        for (t, r) in types {
            self.out.extend_from_slice(&t.to_le_bytes());
            self.out.extend_from_slice(&r.to_le_bytes());
        }
        if let Some(w) = wildcard {
            self.fixups.push((self.out.len(), w));
            self.out.extend_from_slice(&[0u8; 4]);
        }
        if let Some(d) = dname {
            self.out.extend_from_slice(&d.ttl.to_le_bytes());
            self.out.push(d.target.len() as u8);
            self.out.extend_from_slice(d.target);
        }
        self.nodes.push(at);
        self.by_name.insert(name.into(), at);
        Ok(())
    }

    /// Wildcard children named by the nodes written but not written.
    pub fn missing_wildcards(&self) -> Vec<Key> {
        self.fixups.iter().filter(|(_, n)| !self.by_name.contains_key(n)).map(|(_, n)| n.clone()).collect()
    }

    /// Links wildcard children, lays out the buckets as the compiler does
    /// (`table::buckets`) and seals the table.
    pub fn finish(mut self) -> Result<Table, TableError> {
        for (at, name) in std::mem::take(&mut self.fixups) {
            let off = *self.by_name.get(&name).ok_or(corrupt("wildcard child left out of the overlay"))?;
            self.out[at..at + 4].copy_from_slice(&off.to_le_bytes());
        }
        let mut out = self.out;
        let buckets = crate::table::buckets::append(&mut out, &self.nodes);
        if u32::try_from(out.len()).is_err() {
            return Err(corrupt("overlay over 4 GiB"));
        }
        let mut header = Header::new_checked_mut(&mut out).ok_or(corrupt("header"))?;
        header.set_identity();
        header.set_bucket_count(buckets.count as u32);
        header.set_max_probe(buckets.max_probe);
        header.set_buckets_off(buckets.off as u32);
        header.set_zone_count(self.zone_count as u32);
        header.set_zones_off(self.zones_off as u32);
        seal(&mut out);
        Table::from_bytes(out)
    }
}

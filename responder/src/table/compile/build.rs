//! Zones to nodes: every record to its name's node, the names between
//! them, cuts, wildcards and NSEC chains marked.

use super::*;

/// A build under way: the compiler, and what it keeps while the zones'
/// records go into nodes, zone after zone, run after run
/// ([`Build::add`]).
pub(super) struct Build<'z> {
    c: Compiler<'z>,
    files: Files,
    /// The zones in the order they are filled: parents first, so that
    /// children can claim names (deepest zone wins).
    order: Vec<usize>,
    /// Each zone's lowercase apex, to its place in `c.zones` (its place
    /// in `order`).
    apexes: FastMap<Vec<u8>, usize>,
    /// RRSIGs, by node: kept beside the nodes until every RRset is in.
    pending_sigs: Vec<(usize, u32, &'z [u8])>,
}

impl<'z> Compiler<'z> {
    /// `records(zi)` gives zone `zi`'s records, each with the RDATA the
    /// compiler is to borrow (the record's own, or a copy's): nothing else
    /// of them is kept, so the records may go once this returns.
    pub(super) fn build<'y, I>(
        zones: &'y [Lent<'y>],
        records: impl Fn(usize) -> I,
    ) -> Result<Compiler<'z>, CompileError>
    where
        I: Iterator<Item = (&'y Record, &'z [u8])>,
    {
        let mut b = Build::start(zones, &records)?;
        for (zi_sorted, zi) in b.order().into_iter().enumerate() {
            b.add(zi_sorted, records(zi));
        }
        Ok(b.finish())
    }
}

impl<'z> Build<'z> {
    /// Finds each zone's SOA and the signatures of its apex SOA (the
    /// negative answer's), reading `records(zi)`: the records are only
    /// read here, and go into nodes by [`Build::add`].
    pub(super) fn start<'y, I>(zones: &'y [Lent<'y>], records: impl Fn(usize) -> I) -> Result<Build<'z>, CompileError>
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
        phases::mark("build: zones");
        Ok(Build { c, files, order, apexes, pending_sigs: Vec::new() })
    }

    /// The zones, by their number in what [`Build::start`] read, in the
    /// order their records are to be added.
    pub(super) fn order(&self) -> Vec<usize> {
        self.order.clone()
    }

    /// Which served zone is deepest for a name: walk up to the first apex.
    fn owner_zone(apexes: &FastMap<Vec<u8>, usize>, name: &Name) -> Option<usize> {
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
    }

    /// Puts records of the `zi_sorted`th zone of [`Build::order`] into
    /// nodes: all of them, or a run of them, the runs added in file order
    /// (RRset TTLs and RDATA order come from it). Nothing of a record is
    /// kept but the RDATA it comes with: a run may go once it is added.
    pub(super) fn add<'y>(&mut self, zi_sorted: usize, records: impl Iterator<Item = (&'y Record, &'z [u8])>) {
        let Build { c, files, apexes, pending_sigs, .. } = self;
        // The last owner's deepest zone and node: a zone file's records
        // come grouped by owner (four or five each in a signed zone),
        // and these two lookups were most of this loop's time. Only a
        // shortcut: a run that starts afresh finds the same zone and node.
        let mut last: Option<(&'y Name, Option<usize>, Option<usize>)> = None;
        for (r, rd) in records {
            let same = last.filter(|l| l.0.wire() == r.owner.wire());
            let deepest = match same {
                Some((_, d, _)) => d,
                None => Self::owner_zone(apexes, &r.owner),
            };
            last = Some((&r.owner, deepest, same.and_then(|l| l.2)));
            if deepest != Some(zi_sorted) {
                // Occluded by a served child. Only the parent's DS at the
                // child apex stays: DS is answered from the parent side.
                let is_ds = r.rtype == RType::DS;
                let is_ds_sig = r.rtype == RType::RRSIG && covered(rd) == Some(RType::DS);
                if (is_ds || is_ds_sig) && deepest.is_some_and(|d| c.zones[d].apex == r.owner) {
                    let n = c.node(&r.owner, deepest.unwrap_or(0));
                    let entry = c.nodes[n]
                        .rare
                        .get_or_insert_with(Box::default)
                        .ds
                        .get_or_insert_with(|| (zi_sorted, Rrset::new(RType::DS, r.ttl, files.at(&r.location))));
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

    /// Every record is in: the rest of the build works on nodes.
    pub(super) fn finish(self) -> Compiler<'z> {
        phases::mark("build: records to nodes");
        let Build { mut c, files, pending_sigs, .. } = self;
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
        c
    }
}

impl<'z> Compiler<'z> {
    pub(super) fn node(&mut self, name: &Name, zone: usize) -> usize {
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
    pub(super) fn lookup(&self, lower: &[u8]) -> Option<usize> {
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
    pub(super) fn retain(&mut self, keep: &[bool]) {
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
        let found = crate::table::parallel::map(self.nodes.len(), |i| {
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
}

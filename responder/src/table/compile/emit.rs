//! The table written: zones, nodes each followed by their templates
//! (encoded on all cores, placed here in order), chains and buckets.

use super::*;

impl<'z> Compiler<'z> {
    pub(super) fn emit(&mut self, mut out: TableBuf, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
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
                // NXDOMAIN and NODATA: the apex SOA in the authority section.
                let negative = |rcode| Sections {
                    aa: true,
                    rcode,
                    answer: vec![],
                    authority: vec![self.set(Owner::Name(z.apex.clone()), &z.negative_soa)],
                    additional: vec![],
                    denial: vec![],
                };
                let nx_off = emit_template(&mut out, &negative(rcode::NXDOMAIN), ctx)?;
                (nx_off, emit_template(&mut out, &negative(rcode::NOERROR), ctx)?)
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
        let enclosers = if chained {
            crate::table::parallel::map(self.nodes.len(), |i| self.encloser_proofs(i))
        } else {
            Vec::new()
        };
        phases::mark("emit: encloser proofs");
        // Each node's templates are encoded on all cores, this thread
        // included, up to a window of nodes ahead, and placed here in node
        // order (`prepare`) while the next ones are encoded.
        let prepare = |i| self.prepare_node(i);
        crate::table::parallel::pipelined(
            self.nodes.len(),
            NODE_BATCH,
            prepare,
            |prepared| -> Result<(), CompileError> {
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
                    // A table in a file that could not grow: no use going on.
                    if let Some(e) = out.take_error() {
                        return Err(CompileError::Write(e));
                    }
                }
                phases::note("emit: nodes, getting templates (wall)", getting);
                Ok(())
            },
        )?;
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
                for (bytes, ends) in
                    crate::table::parallel::map_runs(batch.len(), NSEC3_PROOF_RUN, |r| encode(&batch[r]))
                {
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
        let buckets = crate::table::buckets::append(&mut out, &node_offsets);
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
    pub(super) bytes: Vec<u8>,
    /// Per type with its own answer.
    pub(super) types: Vec<(u16, Result<Prepared, CompileError>)>,
    /// Every other type's.
    pub(super) default: Result<Prepared, CompileError>,
    /// At a served child's apex, the parent's referral.
    pub(super) parent_referral: Option<Result<Prepared, CompileError>>,
    /// The node's name in lowercase, as its record holds it (made here,
    /// off the serial placing).
    pub(super) lower: Name,
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

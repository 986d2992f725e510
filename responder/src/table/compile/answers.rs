//! What each query type gets at a node: CNAME chains, wildcards,
//! referrals with glue, negative answers, additional addresses.

use super::*;

impl<'z> Compiler<'z> {
    /// The runtime's lookup, done at compile time for chains and additionals.
    pub(super) fn find(&self, name: &Name) -> Found {
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
    pub(super) fn answer(&self, start: usize, qtype: RType) -> Sections<'_> {
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
    pub(super) fn referral<'a>(&'a self, cut: usize, s: &mut Sections<'a>) {
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
    pub(super) fn parent_referral(&self, i: usize) -> Option<Sections<'_>> {
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
    pub(super) fn glue<'a>(&'a self, cut: &Name, ns: &'a Rrset<'z>, parent: bool, s: &mut Sections<'a>) {
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
    pub(super) fn answer_types(&self, i: usize) -> Vec<RType> {
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

    pub(super) fn set<'a>(&'a self, owner: Owner, r: &'a Rrset<'_>) -> RrsetRef<'a> {
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
}

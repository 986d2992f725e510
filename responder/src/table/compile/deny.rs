//! Denial of existence: the NSEC or NSEC3 records a negative or wildcard
//! answer carries, and the closest encloser proofs placed per node.

use super::*;

impl<'z> Compiler<'z> {
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
    pub(super) fn deny<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
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
    pub(super) fn deny_node<'a>(&'a self, i: usize, s: &mut Sections<'a>) {
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
    pub(super) fn deny_name<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
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
    pub(super) fn encloser_proofs(&self, i: usize) -> Option<(u32, Option<u32>)> {
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
}

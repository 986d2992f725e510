//! NSEC3 chains: taken out of the name space, hashed, searched, and the
//! records a denial of existence adds from them.

use super::*;

#[derive(Default)]
pub(super) struct Nsec3Chain<'z> {
    pub(super) salt: Vec<u8>,
    pub(super) iterations: u16,
    pub(super) entries: Vec<Nsec3Entry<'z>>,
    /// The entries' hashes alone, in the same order, and where each
    /// `index_bits`-bit prefix's run starts in them (one more slot at
    /// the end): a search is one or two misses to memory, not a binary
    /// search's twenty over the entries (a million-name compile searched
    /// three times per node; seconds of its time).
    pub(super) hashes: Vec<[u8; HASH_LEN]>,
    pub(super) starts: Vec<u32>,
    pub(super) bits: u32,
}

impl Nsec3Chain<'_> {
    /// Sorts the entries and indexes their hashes.
    fn sort_and_index(&mut self) {
        self.entries.sort_by_key(|e| e.hash);
        self.hashes = self.entries.iter().map(|e| e.hash).collect();
        self.bits = crate::table::denial::index_bits(self.hashes.len());
        let mut next = 0;
        self.starts = (0..=1usize << self.bits)
            .map(|slot| {
                while next < self.hashes.len() && crate::table::denial::index_slot(&self.hashes[next], self.bits) < slot
                {
                    next += 1;
                }
                next as u32
            })
            .collect();
    }

    /// The NSEC3 hash of a lowercase name in wire form, with this chain's
    /// salt and iterations.
    pub(super) fn hash(&self, lower: &[u8]) -> [u8; HASH_LEN] {
        nsec3_hash(lower, &self.salt, self.iterations)
    }

    /// How many hashes sort before `hash`, and whether the one there is it.
    fn search(&self, hash: &[u8; HASH_LEN]) -> (usize, bool) {
        let slot = crate::table::denial::index_slot(hash, self.bits);
        let (from, to) = match (self.starts.get(slot), self.starts.get(slot + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            // Not indexed (no entries): the whole of it.
            _ => (0, self.hashes.len()),
        };
        let at = from + self.hashes[from..to].partition_point(|h| h < hash);
        (at, self.hashes.get(at) == Some(hash))
    }
}

pub(super) struct Nsec3Entry<'z> {
    pub(super) hash: [u8; HASH_LEN],
    pub(super) owner: Name,
    pub(super) set: Rrset<'z>,
}

impl<'z> Compiler<'z> {
    /// Moves NSEC3 records out of the name space into each zone's chain,
    /// sorted by hash, with the salt and iterations they were made with.
    pub(super) fn take_nsec3_out(&mut self) {
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
    pub(super) fn hash_nsec3_names(&mut self) {
        if self.nsec3.iter().all(|c| c.entries.is_empty()) {
            return;
        }
        let (nodes, chains) = (&self.nodes, &self.nsec3);
        self.nsec3_hashes = crate::table::parallel::map(nodes.len(), |i| {
            let chain = &chains[nodes[i].zone()];
            if chain.entries.is_empty() {
                return [0; HASH_LEN];
            }
            chain.hash(key(&nodes[i].name, &mut [0u8; 255]))
        });
    }

    /// The NSEC3 entry matching or covering `name` (last hash not after
    /// its hash, wrapping), and whether it matches.
    pub(super) fn nsec3_find(&self, zone: usize, name: &Name) -> Option<(usize, bool)> {
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
    pub(super) fn nsec3_find_unindexed(&self, zone: usize, name: &Name) -> Option<(usize, bool)> {
        let hash = self.nsec3[zone].hash(key(name, &mut [0u8; 255]));
        self.nsec3_find_hash(zone, &hash)
    }

    /// The NSEC3 entry matching or covering `hash`, as [`Compiler::nsec3_find`].
    pub(super) fn nsec3_find_hash(&self, zone: usize, hash: &[u8; HASH_LEN]) -> Option<(usize, bool)> {
        let chain = &self.nsec3[zone];
        match chain.search(hash) {
            (i, true) => Some((i, true)),
            (0, false) => Some((chain.entries.len().checked_sub(1)?, false)),
            (i, false) => Some((i - 1, false)),
        }
    }

    pub(super) fn push_nsec3<'a>(&'a self, zone: usize, i: usize, s: &mut Sections<'a>) {
        let e = &self.nsec3[zone].entries[i];
        if !s.denial.iter().any(|d| d.rtype == RType::NSEC3 && d.rdatas == &e.set.rdatas[..]) {
            s.denial.push(self.set(Owner::Name(e.owner.clone()), &e.set));
        }
    }

    /// NSEC3 for a name that exists (NODATA, DS at a delegation): its
    /// matching NSEC3, or where there is none (an opt-out delegation) the
    /// closest provable encloser's and the one covering the next closer
    /// name (RFC 5155 §7.2.3, §7.2.4, §7.2.7).
    pub(super) fn deny_nsec3<'a>(&'a self, zone: usize, name: &Name, s: &mut Sections<'a>) {
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
}

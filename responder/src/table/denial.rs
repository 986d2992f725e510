//! Finding the NSEC that proves a name absent (RFC 4035 §3.1.3): the last
//! owner at or before the name in canonical order (RFC 4034 §6.1), by
//! binary search over the zone's chain. Run only for DO=1 answers that the
//! compiler cannot finish (NXDOMAIN, wildcards): no allocation, at most
//! log2(owners) name comparisons.

use super::format::*;
use super::view::{NodeView, ResponseView};
use super::Table;
use std::cmp::Ordering;

/// Most labels a wire name of 255 bytes can have.
const MAX_LABELS: usize = 128;

/// Where each label of a wire name starts, and how many there are; `None`
/// for bytes that are not a name.
fn label_starts(name: &[u8], starts: &mut [u8; MAX_LABELS]) -> Option<usize> {
    let mut pos = 0;
    let mut n = 0;
    loop {
        let len = *name.get(pos)? as usize;
        if len == 0 {
            return Some(n);
        }
        *starts.get_mut(n)? = pos as u8;
        n += 1;
        pos += 1 + len;
    }
}

/// Canonical order of two lowercase wire names: labels compared from the
/// root down as octet strings (a label before any longer one it begins),
/// then the name with fewer labels first.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let (mut sa, mut sb) = ([0u8; MAX_LABELS], [0u8; MAX_LABELS]);
    let (na, nb) = (label_starts(a, &mut sa)?, label_starts(b, &mut sb)?);
    fn label(name: &[u8], start: u8) -> &[u8] {
        let s = start as usize;
        name.get(s + 1..s + 1 + name[s] as usize).unwrap_or_default()
    }
    for i in 1..=na.min(nb) {
        match label(a, sa[na - i]).cmp(label(b, sb[nb - i])) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(na.cmp(&nb))
}

/// An NSEC proof: the node owning it and its records.
#[derive(Clone, Copy)]
pub struct Proof<'t> {
    pub node: u32,
    pub response: ResponseView<'t>,
}

impl Table {
    /// The NSEC of zone `zone` that matches or covers the lowercase wire
    /// name `name`; `None` for a zone without NSEC or a corrupt chain.
    pub fn nsec_proof(&self, zone: u16, name: &[u8]) -> Option<Proof<'_>> {
        let chain = self.zone(zone)?.nsec_chain as usize;
        if chain == 0 {
            return None;
        }
        let b = self.as_bytes();
        let count = u32_at(b, chain)? as usize;
        let entry = |i: usize| {
            let at = chain + 4 + i * CHAIN_ENTRY_LEN;
            Some((u32_at(b, at)?, u32_at(b, at + 4)?))
        };
        // The last entry whose owner is not after `name`; before the first
        // (the apex, which sorts first), the chain wraps to the last.
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let owner = NodeView::name_at(b, entry(mid)?.0 as usize)?;
            match canonical_cmp(owner, name)? {
                Ordering::Greater => hi = mid,
                _ => lo = mid + 1,
            }
        }
        let (node, response) = entry(lo.checked_sub(1).unwrap_or(count.checked_sub(1)?))?;
        Some(Proof { node, response: self.response(response)? })
    }

    /// Every (node, proof response) of a zone's chain, for validation.
    pub(super) fn nsec_chain(&self, zone: u16) -> Option<Vec<(u32, u32)>> {
        let chain = self.zone(zone)?.nsec_chain as usize;
        if chain == 0 {
            return Some(Vec::new());
        }
        let b = self.as_bytes();
        let count = u32_at(b, chain)? as usize;
        (0..count)
            .map(|i| {
                let at = chain + 4 + i * CHAIN_ENTRY_LEN;
                Some((u32_at(b, at)?, u32_at(b, at + 4)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        crate::zone::Name::parse(s, None).unwrap().unwrap().wire().to_vec()
    }

    #[test]
    fn canonical_order_is_rfc_4034s_example() {
        // RFC 4034 §6.1, in order.
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "z.a.example.",
            "zabc.a.example.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let wires: Vec<Vec<u8>> = names.iter().map(|n| wire(n)).collect();
        for i in 0..wires.len() {
            for j in 0..wires.len() {
                assert_eq!(canonical_cmp(&wires[i], &wires[j]), Some(i.cmp(&j)), "{} vs {}", names[i], names[j]);
            }
        }
        assert_eq!(canonical_cmp(b"\x05abc", b"\x00"), None, "not a name");
    }
}

//! The tier-0 workload (`--t0-hits PCT`): a share of the queries are keys
//! the responder's XDP program answers itself under `serve --xdp-answers
//! apex+delegations` (`responder/src/xdp/tier0/compile.rs`): the apex's
//! SOA and NS, and at a delegation its NS, DS, A and AAAA. kxdpgun's
//! queries have the shape tier 0 takes (one question, nothing or a plain
//! OPT in additional), in any of its three EDNS shapes, so the key decides.

use testkit::workload::{kind_of, Kind, Lcg};

use crate::bench::workload::{answer, Expected, REFERRAL};

/// Delegations are asked among the names below this index only. Tier 0
/// holds at most half its map (32,768 entries) a generation, filled in the
/// order of the names' wire form, where a shorter first label comes first:
/// names up to `h9999` (500 delegations, 12 entries each) are held in any
/// zone, beyond them a 100,000-name zone's are only in part.
pub const DELEGATION_POOL: usize = 10_000;

/// One tier-0 key as a query: the labels before the origin (with their
/// dot), the type, the answer and how many RRsets it has.
pub struct Key {
    pub label: String,
    pub rtype: &'static str,
    pub expected: (Expected, u16),
}

/// Which of `count` queries are tier-0 keys: exactly `count * pct / 100`
/// of them, at places drawn from `seed` (not evenly spaced, so that the
/// correctness gate's evenly spaced sample meets both kinds).
pub fn positions(count: usize, pct: u32, seed: u64) -> Vec<bool> {
    let hits = count * pct.min(100) as usize / 100;
    let mut order: Vec<usize> = (0..count).collect();
    let mut rng = Lcg::new(seed ^ 0x7132_0b17);
    // Fisher–Yates: the first `hits` places of a random order.
    for i in (1..count).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut hit = vec![false; count];
    for &at in &order[..hits] {
        hit[at] = true;
    }
    hit
}

/// A tier-0 key of a zone of `names` names: one in ten the apex's SOA or
/// NS, the rest a delegation's NS (twice as often), DS, A or AAAA, as a
/// TLD's servers are asked. Without delegations in the pool, the apex.
pub fn key(names: usize, rng: &mut Lcg) -> Key {
    let delegations = names.min(DELEGATION_POOL) / 20;
    let roll = rng.below(10);
    if roll == 0 || delegations == 0 {
        return if rng.below(2) == 0 {
            Key { label: String::new(), rtype: "SOA", expected: (answer(1), 1) }
        } else {
            // ns1 and ns2: two records, one RRset.
            Key { label: String::new(), rtype: "NS", expected: (answer(2), 1) }
        };
    }
    let i = rng.below(delegations as u64) as usize * 20 + 19;
    debug_assert!(matches!(kind_of(i), Kind::Delegation));
    let (rtype, expected) = match rng.below(5) {
        0 | 1 => ("NS", REFERRAL),
        2 => ("A", REFERRAL),
        3 => ("AAAA", REFERRAL),
        // The parent answers DS itself: none here, so NODATA.
        _ => ("DS", answer(0)),
    };
    Key { label: format!("h{i}."), rtype, expected: (expected, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_of_hits_is_exact_and_spread() {
        for pct in [0, 50, 80, 95, 100] {
            let hits = positions(20_000, pct, 1);
            assert_eq!(hits.iter().filter(|h| **h).count(), 20_000 * pct as usize / 100, "{pct}%");
        }
        let hits = positions(1000, 50, 1);
        let every_second = hits.iter().step_by(2).filter(|h| **h).count();
        assert!((150..350).contains(&every_second), "not a regular pattern: {every_second}");
        assert_eq!(positions(1000, 50, 1), hits, "the same seed, the same places");
        assert!(positions(0, 80, 1).is_empty());
    }

    #[test]
    fn keys_are_the_apex_or_delegations_in_the_pool() {
        let mut rng = Lcg::new(3);
        let keys: Vec<Key> = (0..2000).map(|_| key(100_000, &mut rng)).collect();
        let apex = keys.iter().filter(|k| k.label.is_empty()).count();
        assert!((120..280).contains(&apex), "about a tenth at the apex: {apex}");
        for k in keys.iter().filter(|k| !k.label.is_empty()) {
            let i: usize = k.label.trim_start_matches('h').trim_end_matches('.').parse().unwrap();
            assert!(i < DELEGATION_POOL && matches!(kind_of(i), Kind::Delegation), "{}", k.label);
            assert!(["NS", "DS", "A", "AAAA"].contains(&k.rtype));
        }
        for rtype in ["SOA", "NS", "DS", "A", "AAAA"] {
            assert!(keys.iter().any(|k| k.rtype == rtype), "{rtype}");
        }
        let mut rng = Lcg::new(3);
        assert!((0..50).all(|_| key(10, &mut rng).label.is_empty()), "a zone without delegations: the apex");
    }
}

//! The difference between two versions of a zone (RFC 1995 §4): the
//! records removed and added, between the old SOA and the new, and the
//! condensation of a run of differences into one.

use std::collections::HashSet;

use super::rr::Rr;

/// From the zone with SOA `from` to the zone with SOA `to`; neither list
/// holds the apex SOA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub from: Rr,
    pub to: Rr,
    pub removed: Vec<Rr>,
    pub added: Vec<Rr>,
}

impl Diff {
    /// `old` and `new` are the zone's records without the apex SOA.
    pub fn between(from: Rr, old: &[Rr], to: Rr, new: &[Rr]) -> Diff {
        let old_set: HashSet<&[u8]> = old.iter().map(|r| &r[..]).collect();
        let new_set: HashSet<&[u8]> = new.iter().map(|r| &r[..]).collect();
        let removed = old.iter().filter(|r| !new_set.contains(&r[..])).cloned().collect();
        let added = new.iter().filter(|r| !old_set.contains(&r[..])).cloned().collect();
        Diff { from, to, removed, added }
    }

    /// The bytes the difference holds, for the journal's bound.
    pub fn bytes(&self) -> usize {
        self.removed.iter().chain(&self.added).map(|r| r.len()).sum::<usize>() + self.from.len() + self.to.len()
    }

    /// One difference for a run of consecutive ones (each `to` is the next
    /// one's `from`), as a condensed IXFR sends it: a record added then
    /// removed again appears in neither list, one removed then added back
    /// in neither either. `None` for an empty run.
    pub fn condense(run: &[&Diff]) -> Option<Diff> {
        let (first, last) = (run.first()?, run.last()?);
        let mut removed: Vec<Rr> = Vec::new();
        let mut added: Vec<Rr> = Vec::new();
        let (mut removed_set, mut added_set): (HashSet<Rr>, HashSet<Rr>) = (HashSet::new(), HashSet::new());
        for diff in run {
            for r in &diff.removed {
                if !added_set.remove(r) {
                    removed_set.insert(r.clone());
                    removed.push(r.clone());
                }
            }
            for r in &diff.added {
                if !removed_set.remove(r) {
                    added_set.insert(r.clone());
                    added.push(r.clone());
                }
            }
        }
        // The sets say what survived; the lists keep the order first seen.
        removed.retain(|r| removed_set.remove(r));
        added.retain(|r| added_set.remove(r));
        Some(Diff { from: first.from.clone(), to: last.to.clone(), removed, added })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(s: &str) -> Rr {
        s.as_bytes().into()
    }

    fn names(list: &[Rr]) -> Vec<&str> {
        list.iter().map(|r| std::str::from_utf8(r).unwrap()).collect()
    }

    #[test]
    fn a_difference_lists_what_went_and_what_came() {
        let d = Diff::between(rr("soa1"), &[rr("a"), rr("b"), rr("c")], rr("soa2"), &[rr("b"), rr("c"), rr("d")]);
        assert_eq!((names(&d.removed), names(&d.added)), (vec!["a"], vec!["d"]));
        assert_eq!(d.bytes(), 2 + 8);
        let same = Diff::between(rr("soa1"), &[rr("a")], rr("soa2"), &[rr("a")]);
        assert!(same.removed.is_empty() && same.added.is_empty());
    }

    #[test]
    fn condensing_cancels_what_came_and_went_within_the_run() {
        // 1→2: -a +x; 2→3: -x +a +y; 3→4: -b -y +z.
        let d1 = Diff { from: rr("1"), to: rr("2"), removed: vec![rr("a")], added: vec![rr("x")] };
        let d2 = Diff { from: rr("2"), to: rr("3"), removed: vec![rr("x")], added: vec![rr("a"), rr("y")] };
        let d3 = Diff { from: rr("3"), to: rr("4"), removed: vec![rr("b"), rr("y")], added: vec![rr("z")] };
        let c = Diff::condense(&[&d1, &d2, &d3]).unwrap();
        assert_eq!((&c.from[..], &c.to[..]), (&b"1"[..], &b"4"[..]));
        assert_eq!((names(&c.removed), names(&c.added)), (vec!["b"], vec!["z"]));
        // The same as the difference between the end versions.
        let direct = Diff::between(rr("1"), &[rr("a"), rr("b")], rr("4"), &[rr("a"), rr("z")]);
        assert_eq!(c, direct);
        assert_eq!(Diff::condense(&[&d2]).unwrap(), d2);
        assert!(Diff::condense(&[]).is_none());
    }
}

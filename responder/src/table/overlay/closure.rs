//! Which names a change reaches, and what the compiler must see to answer
//! them as a compile of the whole zone set would.
//!
//! *Affected* names are those whose node (flags or any template) may
//! differ after the change: they go into the overlay, or become
//! tombstones. *Context* names are what the compiler consults while
//! answering them: their ancestors (cuts, DNAMEs), wildcard children, the
//! chain of CNAME targets with each target's closest encloser, MX/SRV/NS
//! targets (additional addresses, glue), and every zone's apex.

use std::ops::Bound;

use super::index::{parent, refers, target, tree_key_into, Key, ZoneIndex};
use crate::table::fasthash::FastSet;
use crate::zone::RType;

/// A label no zone uses in practice: a name below an empty non-terminal
/// given to the compiler so that the non-terminal exists in a partial zone
/// (a name holding this label is refused by [`super::apply`]).
pub(super) const WITNESS: &[u8] = b"\x0d\xffrspd-witness";

pub(super) fn has_witness_label(lower: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&len) = lower.get(at).filter(|&&l| l != 0) {
        if lower.get(at..at + 1 + len as usize) == Some(WITNESS) {
            return true;
        }
        at += 1 + len as usize;
    }
    false
}

/// The affected set: `seeds` (changed owners, names that began or ceased
/// to exist), the parents of changed wildcards, then every name whose
/// records name one of those (or, for `roots`, a name below one of them,
/// whose closest encloser may have moved), following CNAMEs back. Keys
/// are borrowed (from the seeds and the index) and hashed with FxHash:
/// a 10,000-change apply visits tens of thousands of them.
pub(super) fn affected<'a>(ix: &'a ZoneIndex, seeds: &'a [Key], roots: &'a [Key]) -> Vec<&'a [u8]> {
    let mut seen: FastSet<&[u8]> = FastSet::default();
    let mut queue: Vec<&[u8]> = Vec::new();
    for s in seeds {
        push(s, &mut seen, &mut queue);
    }
    for r in roots {
        below(ix, r, &mut seen, &mut queue);
    }
    let mut i = 0;
    while let Some(&k) = queue.get(i) {
        i += 1;
        // A wildcard's parent points at it (and names the flag), and the
        // names below that parent may be answered through it.
        if k.get(..2) == Some(b"\x01*") {
            if let Some(p) = parent(k) {
                below(ix, p, &mut seen, &mut queue);
            }
        }
        if let Some(sources) = ix.refs.get(k) {
            for r in sources {
                push(&r.source, &mut seen, &mut queue);
            }
        }
    }
    queue
}

fn push<'a>(k: &'a [u8], seen: &mut FastSet<&'a [u8]>, queue: &mut Vec<&'a [u8]>) {
    if seen.insert(k) {
        queue.push(k);
    }
}

/// `r`, and the targets strictly below it: their closest encloser, or the
/// wildcard that answers them, may have changed.
fn below<'a>(ix: &'a ZoneIndex, r: &'a [u8], seen: &mut FastSet<&'a [u8]>, queue: &mut Vec<&'a [u8]>) {
    push(r, seen, queue);
    let mut low = Vec::with_capacity(r.len());
    tree_key_into(r, &mut low);
    for (tk, t) in ix.targets.range::<[u8], _>((Bound::Included(&low[..]), Bound::Unbounded)) {
        if !tk.starts_with(&low) {
            break;
        }
        if **t != *r {
            push(t, seen, queue);
        }
    }
}

/// The context: the names whose records the compiler is given (all names
/// here exist; an empty non-terminal gets a witness child instead), as
/// the index's own keys.
pub(super) fn context<'a>(ix: &'a ZoneIndex, affected: &[&'a [u8]]) -> Result<Vec<&'a [u8]>, &'static str> {
    let mut ctx = Context { ix, seen: FastSet::default(), followed: FastSet::default(), out: Vec::new() };
    for z in &ix.zones {
        if let Some(apex) = ctx.existing(&z.apex) {
            ctx.include(apex)?;
        }
    }
    for &a in affected {
        let Some(a) = ctx.existing(a) else { continue };
        ctx.include(a)?;
        let mut star = b"\x01*".to_vec();
        star.extend_from_slice(a);
        if let Some(star) = ctx.existing(&star) {
            ctx.include(star)?;
        }
        ctx.follow(a)?;
    }
    Ok(ctx.out)
}

struct Context<'a> {
    ix: &'a ZoneIndex,
    seen: FastSet<&'a [u8]>,
    followed: FastSet<&'a [u8]>,
    out: Vec<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// The index's key for `k`, when the name exists.
    fn existing(&self, k: &[u8]) -> Option<&'a [u8]> {
        let (key, e) = self.ix.names.get_key_value(k)?;
        e.exists().then_some(&**key)
    }

    /// An existing name and its ancestors within its zone; an ancestor
    /// that is a cut brings its NS targets (the referral's glue).
    fn include(&mut self, k: &'a [u8]) -> Result<(), &'static str> {
        if has_witness_label(k) {
            return Err("a name holds the witness label");
        }
        if !self.seen.insert(k) {
            return Ok(());
        }
        self.out.push(k);
        let Some(zone) = self.ix.zone_of(k) else { return Ok(()) };
        let apex = &self.ix.zones[zone].apex;
        let mut cur: &'a [u8] = k;
        let mut glue = Vec::new();
        while *cur != **apex {
            let Some(p) = parent(cur) else { break };
            cur = p;
            if self.seen.insert(cur) {
                self.out.push(cur);
            }
            if let Some(e) = self.ix.entry(cur) {
                if *cur != **apex && e.has(RType::NS) {
                    glue.extend(e.records.iter().filter(|r| r.rtype == RType::NS).filter_map(target));
                }
            }
        }
        if let Some(e) = self.ix.entry(k) {
            if e.has(RType::NS) && *k != **apex {
                glue.extend(e.records.iter().filter(|r| r.rtype == RType::NS).filter_map(target));
            }
        }
        for g in glue {
            if let Some(g) = self.existing(&g) {
                self.include(g)?;
            }
        }
        Ok(())
    }

    /// What `k`'s records lead the compiler to: CNAME targets as the
    /// lookup finds them, MX/SRV/NS targets for their addresses. Each name
    /// once: that bounds loops, and a chain is followed to its end (the
    /// compiler stops after 8 links, within what is given).
    fn follow(&mut self, k: &'a [u8]) -> Result<(), &'static str> {
        if !self.followed.insert(k) {
            return Ok(());
        }
        let Some(e) = self.ix.entry(k) else { return Ok(()) };
        let targets: Vec<(RType, Key)> =
            e.records.iter().filter(|r| refers(r.rtype)).filter_map(|r| Some((r.rtype, target(r)?))).collect();
        for (t, name) in targets {
            if t == RType::CNAME {
                self.chase(&name)?;
            } else if let Some(name) = self.existing(&name) {
                self.include(name)?;
            }
        }
        Ok(())
    }

    /// A CNAME target: the node itself, or its closest encloser and the
    /// wildcard there.
    fn chase(&mut self, k: &[u8]) -> Result<(), &'static str> {
        if has_witness_label(k) {
            return Err("a name holds the witness label");
        }
        if let Some(k) = self.existing(k) {
            self.include(k)?;
            return self.follow(k);
        }
        let mut cur = parent(k);
        while let Some(p) = cur {
            if let Some(p) = self.existing(p) {
                self.include(p)?;
                let mut star = b"\x01*".to_vec();
                star.extend_from_slice(p);
                if let Some(star) = self.existing(&star) {
                    self.include(star)?;
                    self.follow(star)?;
                }
                return Ok(());
            }
            cur = parent(p);
        }
        Ok(())
    }
}

//! Which names a change reaches, and what the compiler must see to answer
//! them as a compile of the whole zone set would.
//!
//! *Affected* names are those whose node (flags or any template) may
//! differ after the change: they go into the overlay, or become
//! tombstones. *Context* names are what the compiler consults while
//! answering them: their ancestors (cuts, DNAMEs), wildcard children, the
//! chain of CNAME targets with each target's closest encloser, MX/SRV/NS
//! targets (additional addresses, glue), and every zone's apex.

use std::collections::HashSet;

use super::index::{parent, refers, target, tree_key, Key, ZoneIndex};
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
/// whose closest encloser may have moved), following CNAMEs back.
pub(super) fn affected(ix: &ZoneIndex, seeds: &[Key], roots: &[Key]) -> Vec<Key> {
    let mut seen: HashSet<Key> = HashSet::new();
    let mut queue: Vec<Key> = Vec::new();
    for s in seeds {
        push(s.clone(), &mut seen, &mut queue);
    }
    for r in roots {
        below(ix, r, &mut seen, &mut queue);
    }
    let mut i = 0;
    while i < queue.len() {
        let k = queue[i].clone();
        i += 1;
        // A wildcard's parent points at it (and names the flag), and the
        // names below that parent may be answered through it.
        if k.get(..2) == Some(b"\x01*") {
            if let Some(p) = parent(&k) {
                below(ix, p, &mut seen, &mut queue);
            }
        }
        if let Some(sources) = ix.refs.get(&k) {
            for r in sources {
                push(r.source.clone(), &mut seen, &mut queue);
            }
        }
    }
    queue
}

fn push(k: Key, seen: &mut HashSet<Key>, queue: &mut Vec<Key>) {
    if seen.insert(k.clone()) {
        queue.push(k);
    }
}

/// `r`, and the targets strictly below it: their closest encloser, or the
/// wildcard that answers them, may have changed.
fn below(ix: &ZoneIndex, r: &[u8], seen: &mut HashSet<Key>, queue: &mut Vec<Key>) {
    push(r.into(), seen, queue);
    let low = tree_key(r);
    for (tk, t) in ix.targets.range(low.clone()..) {
        if !tk.starts_with(&low) {
            break;
        }
        if **t != *r {
            push(t.clone(), seen, queue);
        }
    }
}

/// The context: name → whether to give the compiler its records (all
/// names here exist; an empty non-terminal gets a witness child instead).
pub(super) fn context(ix: &ZoneIndex, affected: &[Key]) -> Result<Vec<Key>, &'static str> {
    let mut ctx = Context { ix, seen: HashSet::new(), followed: HashSet::new(), out: Vec::new() };
    for z in &ix.zones {
        ctx.include(&z.apex)?;
    }
    for a in affected {
        if !ix.exists(a) {
            continue;
        }
        ctx.include(a)?;
        let mut star = b"\x01*".to_vec();
        star.extend_from_slice(a);
        if star.len() <= 255 && ix.exists(&star) {
            ctx.include(&star)?;
        }
        ctx.follow(a)?;
    }
    Ok(ctx.out)
}

struct Context<'a> {
    ix: &'a ZoneIndex,
    seen: HashSet<Key>,
    followed: HashSet<Key>,
    out: Vec<Key>,
}

impl Context<'_> {
    /// An existing name and its ancestors within its zone; an ancestor
    /// that is a cut brings its NS targets (the referral's glue).
    fn include(&mut self, k: &[u8]) -> Result<(), &'static str> {
        if has_witness_label(k) {
            return Err("a name holds the witness label");
        }
        if self.seen.contains(k) {
            return Ok(());
        }
        self.seen.insert(k.into());
        self.out.push(k.into());
        let Some(zone) = self.ix.zone_of(k) else { return Ok(()) };
        let apex = &self.ix.zones[zone].apex;
        let mut cur: Key = k.into();
        let mut glue = Vec::new();
        while *cur != **apex {
            let Some(p) = parent(&cur) else { break };
            cur = p.into();
            if !self.seen.contains(&cur) {
                self.seen.insert(cur.clone());
                self.out.push(cur.clone());
            }
            if let Some(e) = self.ix.entry(&cur) {
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
            if self.ix.exists(&g) {
                self.include(&g)?;
            }
        }
        Ok(())
    }

    /// What `k`'s records lead the compiler to: CNAME targets as the
    /// lookup finds them, MX/SRV/NS targets for their addresses. Each name
    /// once: that bounds loops, and a chain is followed to its end (the
    /// compiler stops after 8 links, within what is given).
    fn follow(&mut self, k: &[u8]) -> Result<(), &'static str> {
        if !self.followed.insert(k.into()) {
            return Ok(());
        }
        let Some(e) = self.ix.entry(k) else { return Ok(()) };
        let targets: Vec<(RType, Key)> =
            e.records.iter().filter(|r| refers(r.rtype)).filter_map(|r| Some((r.rtype, target(r)?))).collect();
        for (t, name) in targets {
            if t == RType::CNAME {
                self.chase(&name)?;
            } else if self.ix.exists(&name) {
                self.include(&name)?;
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
        if self.ix.exists(k) {
            self.include(k)?;
            return self.follow(k);
        }
        let mut cur = parent(k);
        while let Some(p) = cur {
            if self.ix.exists(p) {
                self.include(p)?;
                let mut star = b"\x01*".to_vec();
                star.extend_from_slice(p);
                if self.ix.exists(&star) {
                    self.include(&star)?;
                    self.follow(&star)?;
                }
                return Ok(());
            }
            cur = parent(p);
        }
        Ok(())
    }
}

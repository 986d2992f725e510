//! DNAME substitution (RFC 6672 §3.2), then the substituted name answered
//! as an in-zone CNAME target is: the DNAME RRset (with its RRSIGs for
//! DO=1), a CNAME from the name to the substituted one (unsigned, RFC 6672
//! §5.3.1), then whatever the table answers for the new name: data with its
//! RRSIGs, a CNAME chain, NODATA, NXDOMAIN with its denial proofs, a
//! wildcard answer, a referral, or another DNAME. As Knot does, the chase
//! stays in the DNAME's zone: a target elsewhere ends the answer at the
//! CNAME, as does a query for type CNAME (the synthesised one answers it),
//! but a target in a served child the zone delegates to gets the zone's
//! referral, as Knot, which looks in the DNAME's zone only, finds the cut.
//!
//! The CNAME's RDATA is the new name as Knot writes it: the name's leading
//! labels lowered, then the DNAME target's labels, those it ends with in
//! common with the name being substituted a pointer to them (so the answer
//! spells them as the question does, byte for byte as Knot's). The new name
//! then lies in the message in two pieces; templates for it get their
//! compression pointers from [`Placed`], the offsets of its labels. The question decides the new name, so this is a
//! second table lookup at answer time, on the DNAME path only.

use super::denial;
use super::query::Query;
use super::reply::{Failure, Names, Reply};
use super::resolve::{self, Plan};
use crate::table::format::hash_name;
use crate::table::overlay::Layers;
use crate::table::{NodeView, ResponseView, Table};
use crate::wire::dns::{class, rr_field, write_rr_fixed, RType};
use crate::wire::dns::{rcode, HEADER_LEN, MAX_NAME};

/// Most DNAMEs followed in one answer; the CNAME chain after the last one
/// has its own limit, applied when the table was compiled.
const MAX_HOPS: usize = 8;
/// Most labels of a name, root excluded (a 255-byte name of 1-byte labels).
const MAX_LABELS: usize = 127;
/// Highest offset a compression pointer reaches (RFC 1035 §4.1.4).
const MAX_POINTER: usize = 0x3fff;

/// Answers a query whose name is `skip` labels below `node`'s DNAME.
#[cold]
#[inline(never)]
pub fn answer<'t, L: Layers<'t>>(
    layers: L,
    table: &'t Table,
    query: &Query,
    reply: &mut Reply<'_>,
    skip: usize,
    node: &NodeView<'t>,
) -> Result<(), Failure> {
    let dnssec = query.edns.is_some_and(|e| e.dnssec_ok);
    let mut names = Placed::question(query);
    // The current name, lowered, as a query of its own for the lookups.
    let mut name = Query {
        question: query.question,
        lower: query.lower,
        hash: query.hash,
        flags: query.flags,
        opcode: query.opcode,
        edns: query.edns,
        // The chase stays in the DNAME's zone, already noted for the metrics.
        zone: std::cell::Cell::new(query.zone.get()),
        // The prefetcher hashed the question's names, not the targets'.
        prehashed: super::prehashed::Prehashed::new(),
    };
    let (mut skip, mut node, mut table) = (skip, *node, table);
    for _ in 0..MAX_HOPS {
        let target = node.dname().ok_or(Failure::Corrupt)?.target;
        let ttl = node.dname().ok_or(Failure::Corrupt)?.ttl;
        // The DNAME RRset as a query for it at its owner would get it.
        let owner = Suffix { names: &names, skip };
        let dname = variant(table, node.response_for(RType::DNAME.0), dnssec)?;
        let dname_at = reply.pos;
        append(reply, |reply| reply.template_at(&name, &owner, &dname, &[]))?;
        dname_rdata(reply.buf, dname_at, target.len())?;
        let prefix_len = name.suffix_start(skip);
        let end = prefix_len + target.len();
        if end > MAX_NAME {
            // The substituted name would be too long (RFC 6672 §2.2).
            reply.set_rcode(rcode::YXDOMAIN);
            return Ok(());
        }
        if names.whole() > MAX_POINTER {
            return Err(Failure::Truncated);
        }
        // The new name as Knot writes it: the leading labels lowered, the
        // target as the DNAME spells it, and the labels it ends with that
        // the current name ends with too a pointer to those.
        let mut new = [0u8; MAX_NAME];
        new[..prefix_len].copy_from_slice(&name.lower[..prefix_len]);
        new[prefix_len..end].copy_from_slice(target);
        let mut starts = [0usize; MAX_LABELS + 1];
        let mut labels = 0;
        let mut at = 0;
        while let Some(&len) = new.get(at).filter(|&&l| l != 0) {
            *starts.get_mut(labels).ok_or(Failure::Corrupt)? = at;
            labels += 1;
            at += 1 + len as usize;
        }
        if at + 1 != end {
            return Err(Failure::Corrupt);
        }
        *starts.get_mut(labels).ok_or(Failure::Corrupt)? = at;
        let shared = shared_labels(&new, &starts[..labels], &name);
        // Written out up to the shared labels, or whole with its root.
        let written = if shared > 0 { starts[labels - shared] } else { end };
        let pointer = match shared {
            0 => None,
            n => Some(names.suffix(n).filter(|&p| p <= MAX_POINTER).ok_or(Failure::Truncated)?),
        };
        let rdlength = written + if pointer.is_some() { 2 } else { 0 };
        // The CNAME, owned by the current name.
        let mut rr = [0u8; 2 + rr_field::LEN];
        let [p0, p1, fixed @ ..] = &mut rr;
        [*p0, *p1] = (0xc000 | names.whole() as u16).to_be_bytes();
        write_rr_fixed(fixed, RType::CNAME, class::IN, ttl, rdlength as u16);
        reply.push(&rr, query)?;
        let rdata_at = reply.pos;
        reply.push(&new[..written], query)?;
        if let Some(p) = pointer {
            reply.push(&(0xc000 | p as u16).to_be_bytes(), query)?;
        }
        reply.ancount = reply.ancount.checked_add(1).ok_or(Failure::Corrupt)?;
        // The new name: its labels' places, and its lowered form.
        let mut next = Placed { at: [0; MAX_LABELS + 1], labels };
        for (i, at) in next.at.iter_mut().enumerate().take(labels + 1) {
            *at = if i < labels - shared || shared == 0 {
                (rdata_at + starts[i]) as u16
            } else {
                // The shared labels are the current name's.
                let j = names.labels.checked_sub(labels - i).ok_or(Failure::Corrupt)?;
                *names.at.get(j).ok_or(Failure::Corrupt)?
            };
        }
        for (d, s) in name.lower[prefix_len..end].iter_mut().zip(target) {
            *d = s.to_ascii_lowercase();
        }
        name.question.name_len = end;
        name.question.labels = labels;
        name.hash = hash_name(name.lname());
        names = next;
        // The CNAME asked for is the one synthesised: not followed (Knot).
        if query.question.qtype == RType::CNAME.0 {
            return Ok(());
        }
        match chase(layers, &name, node.zone()) {
            Chase::Follow => {}
            Chase::Stop => return Ok(()),
            Chase::Referral(at, off) => {
                let r = variant(at, off, dnssec)?;
                return append(reply, |reply| reply.template_at(&name, &names, &r, &[]));
            }
        }
        let (next_table, plan) = resolve::plan(layers, &name);
        table = next_table;
        match plan {
            Plan::Template(r) => {
                let r = if dnssec && r.signed != 0 { variant(table, r.signed, false)? } else { r };
                return append(reply, |reply| reply.template_at(&name, &names, &r, &[]));
            }
            Plan::Denial { response, encloser } => {
                return append(reply, |reply| {
                    denial::answer_or_template_at(table, &name, &names, reply, &response, encloser)
                });
            }
            Plan::Dname { skip: s, node: n } => (skip, node) = (s, n),
            Plan::Refused => return Ok(()),
            Plan::Corrupt => return Err(Failure::Corrupt),
        }
    }
    Ok(())
}

/// How many labels the name `new` (label starts `starts`) ends with that
/// `name` ends with too, compared from the root up to the first that
/// differs, whatever their case: what Knot's compression points at.
fn shared_labels(new: &[u8], starts: &[usize], name: &Query) -> usize {
    let all = name.question.labels;
    let mut same = 0;
    while same < starts.len().min(all) {
        let ours = &new[starts[starts.len() - 1 - same]..];
        let theirs = &name.lower[name.suffix_start(all - 1 - same)..];
        let len = 1 + ours[0] as usize;
        if theirs.get(..len).is_none_or(|t| !t.eq_ignore_ascii_case(&ours[..len])) {
            break;
        }
        same += 1;
    }
    same
}

/// The response at `off`, or its DO=1 variant when there is one and `signed`.
fn variant<'t>(table: &'t Table, off: u32, signed: bool) -> Result<ResponseView<'t>, Failure> {
    let r = table.response(off).ok_or(Failure::Corrupt)?;
    if signed && r.signed != 0 {
        return table.response(r.signed).ok_or(Failure::Corrupt);
    }
    Ok(r)
}

/// Writes a template after what the reply already holds: its records are
/// counted on top of the earlier ones, not instead of them.
fn append<'b>(reply: &mut Reply<'b>, write: impl FnOnce(&mut Reply<'b>) -> Result<(), Failure>) -> Result<(), Failure> {
    let (an, ns) = (reply.ancount, reply.nscount);
    write(reply)?;
    reply.ancount = reply.ancount.checked_add(an).ok_or(Failure::Corrupt)?;
    reply.nscount = reply.nscount.checked_add(ns).ok_or(Failure::Corrupt)?;
    Ok(())
}

/// Where the DNAME's RDATA landed: the template's first record is the DNAME
/// (owner a compression pointer), its target uncompressed (RFC 6672 §2.5).
fn dname_rdata(buf: &[u8], at: usize, target_len: usize) -> Result<usize, Failure> {
    let rr = buf.get(at..at + 2 + rr_field::LEN).ok_or(Failure::Corrupt)?;
    let rtype = u16::from_be_bytes([rr[2], rr[3]]);
    let rdlength = u16::from_be_bytes([rr[10], rr[11]]) as usize;
    if rr[0] & 0xc0 != 0xc0 || rtype != RType::DNAME.0 || rdlength != target_len {
        return Err(Failure::Corrupt);
    }
    Ok(at + rr.len())
}

/// Where the chase goes from the substituted name: Knot follows it in the
/// DNAME's zone only, whatever other zones it serves.
enum Chase<'t> {
    /// The name's own node, or its closest encloser's, is in the zone.
    Follow,
    /// The name lies in a served zone below a cut of the DNAME's zone: the
    /// zone's referral (at the cut, or as the child's apex keeps it).
    Referral(&'t Table, u32),
    /// Out of the zone: the answer ends with the CNAME.
    Stop,
}

fn chase<'t, L: Layers<'t>>(layers: L, name: &Query, zone: u32) -> Chase<'t> {
    let mut start = 0;
    // A node of another zone was passed on the way up.
    let mut passed = false;
    for i in 0..=name.question.labels {
        let found = if i == 0 {
            layers.find_hashed(name.lname(), name.hash)
        } else {
            start = name.next_label(start);
            name.lower.get(start..name.question.name_len).and_then(|n| layers.find(n))
        };
        let Some((at, node)) = found else { continue };
        if node.zone() == zone {
            return match (passed, node.is_cut()) {
                (false, _) => Chase::Follow,
                (true, true) => Chase::Referral(at, node.default_response()),
                // Inside a served zone the DNAME's zone does not delegate
                // to: Knot answers from the data the child hides; the RFCs
                // give that data no authority, and the answer ends here.
                (true, false) => Chase::Stop,
            };
        }
        if let Some((_, referral)) = node.parent_cut().filter(|&(z, _)| z == zone) {
            // DS at the cut is the parent's own answer (RFC 4035 §3.1.4.1),
            // which the child's apex keeps when the parent has one.
            let ds_here = i == 0 && name.question.qtype == RType::DS.0;
            return if ds_here { Chase::Follow } else { Chase::Referral(at, referral) };
        }
        passed = true;
    }
    Chase::Stop
}

/// A name written in the message: where each of its labels starts, then
/// where its root (a zero byte, or the end of a pointed-to name) is.
struct Placed {
    at: [u16; MAX_LABELS + 1],
    labels: usize,
}

impl Placed {
    fn question(query: &Query) -> Placed {
        let mut p = Placed { at: [0; MAX_LABELS + 1], labels: query.question.labels.min(MAX_LABELS) };
        let mut start = 0;
        for i in 0..=p.labels {
            p.at[i] = (HEADER_LEN + start) as u16;
            start = query.next_label(start);
        }
        p
    }
}

impl Names for Placed {
    fn whole(&self) -> usize {
        self.at[0] as usize
    }

    fn suffix(&self, labels: usize) -> Option<usize> {
        Some(*self.at.get(self.labels.checked_sub(labels)?)? as usize)
    }
}

/// The suffix of a [`Placed`] name below its `skip` leftmost labels.
struct Suffix<'p> {
    names: &'p Placed,
    skip: usize,
}

impl Names for Suffix<'_> {
    fn whole(&self) -> usize {
        self.names.at.get(self.skip).map_or(0, |&a| a as usize)
    }

    fn suffix(&self, labels: usize) -> Option<usize> {
        if labels + self.skip > self.names.labels {
            return None;
        }
        self.names.suffix(labels)
    }
}

//! DNAME substitution (RFC 6672 §3.2), then the substituted name answered
//! as an in-zone CNAME target is: the DNAME RRset (with its RRSIGs for
//! DO=1), a CNAME from the name to the substituted one (unsigned, RFC 6672
//! §5.3.1), then whatever the table answers for the new name: data with its
//! RRSIGs, a CNAME chain, NODATA, NXDOMAIN with its denial proofs, a
//! wildcard answer, a referral, or another DNAME. As Knot does, the chase
//! stays in the DNAME's zone: a target elsewhere ends the answer at the
//! CNAME, as does a query for type CNAME (the synthesised one answers it).
//!
//! The CNAME's RDATA is the name's own leading labels followed by a pointer
//! to the DNAME target, so the new name lies in the message in two pieces;
//! templates for it get their compression pointers from [`Placed`], the
//! offsets of its labels. The question decides the new name, so this is a
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
pub fn answer<'t>(
    layers: Layers<'t>,
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
        let target_at = dname_rdata(reply.buf, dname_at, target.len())?;
        let prefix_len = name.suffix_start(skip);
        if prefix_len + target.len() > MAX_NAME {
            // The substituted name would be too long (RFC 6672 §2.2).
            reply.set_rcode(rcode::YXDOMAIN);
            return Ok(());
        }
        if target_at > MAX_POINTER || names.whole() > MAX_POINTER {
            return Err(Failure::Truncated);
        }
        // The CNAME, owned by the current name.
        let mut rr = [0u8; 2 + rr_field::LEN];
        let [p0, p1, fixed @ ..] = &mut rr;
        [*p0, *p1] = (0xc000 | names.whole() as u16).to_be_bytes();
        write_rr_fixed(fixed, RType::CNAME, class::IN, ttl, prefix_len as u16 + 2);
        reply.push(&rr, query)?;
        // Its leading labels exactly as they were written, wherever they are.
        let mut prefix = [0u8; MAX_NAME];
        let mut next = Placed { at: [0; MAX_LABELS + 1], labels: 0 };
        let mut len = 0;
        for i in 0..skip {
            let at = names.at[i] as usize;
            let label =
                reply.buf.get(at).and_then(|&l| reply.buf.get(at..at + 1 + l as usize)).ok_or(Failure::Corrupt)?;
            prefix.get_mut(len..len + label.len()).ok_or(Failure::Corrupt)?.copy_from_slice(label);
            next.at[i] = (reply.pos + len) as u16;
            len += label.len();
        }
        if len != prefix_len {
            return Err(Failure::Corrupt);
        }
        reply.push(&prefix[..len], query)?;
        reply.push(&(0xc000 | target_at as u16).to_be_bytes(), query)?;
        reply.ancount = reply.ancount.checked_add(1).ok_or(Failure::Corrupt)?;
        // The new name: its labels' places, and its lowered form.
        next.labels = skip;
        let mut t = 0;
        while let Some(&l) = target.get(t).filter(|&&l| l != 0) {
            *next.at.get_mut(next.labels).ok_or(Failure::Corrupt)? = (target_at + t) as u16;
            next.labels += 1;
            t += 1 + l as usize;
        }
        *next.at.get_mut(next.labels).ok_or(Failure::Corrupt)? = (target_at + t) as u16;
        let end = prefix_len + target.len();
        for (d, s) in name.lower[prefix_len..end].iter_mut().zip(target) {
            *d = s.to_ascii_lowercase();
        }
        name.question.name_len = end;
        name.question.labels = next.labels;
        name.hash = hash_name(name.lname());
        names = next;
        // The CNAME asked for is the one synthesised: not followed (Knot).
        if query.question.qtype == RType::CNAME.0 || zone_of(layers, &name) != Some(node.zone()) {
            return Ok(());
        }
        let (next_table, plan) = resolve::plan(layers, &name);
        table = next_table;
        match plan {
            Plan::Template(r) => {
                let r = if dnssec && r.signed != 0 { variant(table, r.signed, false)? } else { r };
                return append(reply, |reply| reply.template_at(&name, &names, &r, &[]));
            }
            Plan::Denial { response, zone, encloser, wildcard } => {
                return append(reply, |reply| {
                    denial::answer_or_template_at(table, &name, &names, reply, &response, zone, encloser, wildcard)
                });
            }
            Plan::Dname { skip: s, node: n } => (skip, node) = (s, n),
            Plan::Refused => return Ok(()),
            Plan::Corrupt => return Err(Failure::Corrupt),
        }
    }
    Ok(())
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

/// The zone of the node that decides `name`'s answer: the name's own, or
/// its closest encloser's; `None` outside every zone.
fn zone_of(layers: Layers<'_>, name: &Query) -> Option<u16> {
    if let Some((_, node)) = layers.find_hashed(name.lname(), name.hash) {
        return Some(node.zone());
    }
    let mut start = 0;
    for _ in 0..name.question.labels {
        start = name.next_label(start);
        if let Some((_, node)) = layers.find(name.lower.get(start..name.question.name_len)?) {
            return Some(node.zone());
        }
    }
    None
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

//! The message step: a DNS message (no Ethernet, IP or UDP around it)
//! rewritten into its answer in place, from an [`Engine`]: parse the query
//! (`query`), pick the answer (`resolve`, `dname`, CHAOS), write it
//! (`reply`), and ask the policy its fate. The frame step (`frame`) calls
//! this one around its L2–L4 rewrite; kernel sockets and TCP call it
//! directly. Nothing here knows frames.

use super::denial;
use super::dname;
use super::overlaid;
use super::policy::{About, Decision, Policy, Response, ResponseClass, SendAll};
use super::query::{Query, Rejection};
use super::reply::{self, Failure, Reply, Written};
use super::resolve::{self, Plan};
use super::signed;
use super::transport::Transport;
use crate::stats::breakdown::zones::ZoneSlots;
use crate::table::overlay::{BaseOnly, Layers, Overlaid, Overlay};
use crate::table::Table;
use crate::tsig::Keyring;
use crate::wire::dns::{self, rcode};
use crate::wire::dns::{class, RType};
use std::sync::Arc;

/// Serving options that shape answers but are not zone data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The UDP payload size we advertise in OPT and accept at most (RFC 6891).
    pub edns_udp_size: u16,
    /// CHAOS TXT `id.server.` answer; `None` refuses the query.
    pub identity: Option<String>,
    /// CHAOS TXT `hostname.bind.` answer; `None` refuses the query.
    pub hostname: Option<String>,
    /// CHAOS TXT `version.bind.` (and `version.server.`) answer; `None` refuses.
    pub version: Option<String>,
    /// Verify each query frame's UDP checksum in software and drop a wrong
    /// one (the frame path only; the kernel verifies for its sockets). Off by
    /// default: see `frame`.
    pub verify_udp_checksum: bool,
    /// The TSIG keys signed queries may use (`[[key]]`); a query signed
    /// with any other key is answered NOTAUTH/BADKEY (`signed`).
    pub tsig: Keyring,
    /// NSID (RFC 5001) returned to queries that ask; `None`: not returned.
    pub nsid: Option<Vec<u8>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            edns_udp_size: 1232,
            identity: None,
            hostname: None,
            version: None,
            verify_udp_checksum: false,
            tsig: Keyring::default(),
            nsid: None,
        }
    }
}

/// A table with the options it is served with, and the overlay of the
/// changes applied to it since it was compiled (`table::overlay`).
pub struct Engine {
    pub(super) table: Arc<Table>,
    pub(super) overlay: Option<Arc<Overlay>>,
    pub(super) options: Options,
    /// Where each of the table's zones is counted (`stats::breakdown::zones`).
    pub(super) zone_slots: ZoneSlots,
}

impl Engine {
    pub fn new(table: Table, options: Options) -> Engine {
        let zone_slots = ZoneSlots::identity(table.zone_count());
        Engine { table: Arc::new(table), overlay: None, options, zone_slots }
    }

    /// This engine's table and options with `overlay` over the table (none:
    /// the table alone): the engine an incremental apply swaps in. The
    /// table is shared, not copied.
    pub fn with_overlay(&self, overlay: Option<Arc<Overlay>>) -> Engine {
        Engine {
            table: Arc::clone(&self.table),
            overlay,
            options: self.options.clone(),
            zone_slots: self.zone_slots.clone(),
        }
    }

    /// The overlay over the table, if changes were applied to it.
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_deref()
    }

    /// The overlay, shared: the next apply's previous one.
    pub fn overlay_shared(&self) -> Option<Arc<Overlay>> {
        self.overlay.clone()
    }

    /// Counts the table's zones in the slots `slots` gives them.
    pub fn with_zone_slots(mut self, slots: ZoneSlots) -> Engine {
        self.zone_slots = slots;
        self
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// A worker's working memory for the query being answered, kept from one
/// query to the next: a fresh one costs clearing its 256-byte name buffer,
/// which is more than a twentieth of an answer's instructions.
pub struct Scratch {
    pub(super) query: Query,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch { query: Query::new() }
    }
}

/// Rewrites the DNS message `buf[..len]` into its answer, at most
/// `buf.len()` bytes; `None` means send nothing.
#[inline]
pub fn answer_message(engine: &Engine, buf: &mut [u8], len: usize, transport: Transport) -> Option<usize> {
    answer_message_with(engine, &mut Scratch::default(), buf, len, transport, &[], &mut SendAll)
}

/// [`answer_message`] with a worker's own scratch, for a query from
/// `client` (its address bytes, or empty), with `policy` deciding the fate
/// of the response.
#[inline]
pub fn answer_message_with<P: Policy>(
    engine: &Engine,
    scratch: &mut Scratch,
    buf: &mut [u8],
    len: usize,
    transport: Transport,
    client: &[u8],
    policy: &mut P,
) -> Option<usize> {
    answer_written(engine, &mut scratch.query, buf, len, transport, client, policy).map(|w| w.len)
}

/// [`answer_message_with`], also returning the answer's checksum sum, kept
/// as it was written (the frame path's UDP checksum). The policy is told
/// the query's size and the answer as it leaves ([`Policy::finished`]).
#[inline]
pub(super) fn answer_written<P: Policy>(
    engine: &Engine,
    query: &mut Query,
    buf: &mut [u8],
    len: usize,
    transport: Transport,
    client: &[u8],
    policy: &mut P,
) -> Option<Written> {
    let written = answer_unsized(engine, query, buf, len, transport, client, policy);
    policy.finished(len, written.and_then(|w| buf.get(..w.len)));
    written
}

/// [`answer_written`] without `Policy::finished`: for the query inside a
/// signed or NSID query (`signed`, `nsid`), whose outer call tells the
/// policy what finally leaves. Always inlined, so the plain path has the
/// shape it had before sizes were counted.
#[inline(always)]
pub(super) fn answer_unsized<P: Policy>(
    engine: &Engine,
    query: &mut Query,
    buf: &mut [u8],
    len: usize,
    transport: Transport,
    client: &[u8],
    policy: &mut P,
) -> Option<Written> {
    if len > buf.len() {
        return None;
    }
    let decide = |policy: &mut P, rcode: u16, truncated: bool, about: About| {
        policy.decide(&Response { client, transport, rcode, class: ResponseClass::of(rcode), truncated, about })
    };
    // The error answers are rare: their decisions are made out of line, so
    // a counting policy is inlined once, on the answer path.
    let rare = |policy: &mut P, rcode: u16, about: About| {
        decide_rare(
            policy,
            &Response { client, transport, rcode, class: ResponseClass::of(rcode), truncated: false, about },
        )
    };
    match query.parse(&buf[..len]) {
        Ok(()) => {}
        Err(Rejection::Drop) => return None,
        Err(Rejection::FormErr(Some(question_end))) => {
            return signed::answer(engine, query, buf, len, transport, client, policy, question_end);
        }
        Err(Rejection::FormErr(question_end)) => {
            let decision = rare(policy, rcode::FORMERR as u16, About::UNKNOWN);
            return error_reply(buf, question_end, rcode::FORMERR, decision);
        }
    }
    let opts = &engine.options;
    query.zone.set(NO_ZONE);
    let about = |query: &Query| About {
        qtype: query.question.qtype,
        zone: engine.zone_slots.slot(query.zone.get()),
        dnssec_ok: query.edns.is_some_and(|e| e.dnssec_ok),
    };
    if query.opcode != 0 {
        let decision = rare(policy, rcode::NOTIMP as u16, about(query));
        return error_reply(buf, Some(query.question.end), rcode::NOTIMP, decision);
    }
    let limit = match (transport, query.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.udp_size.min(opts.edns_udp_size.max(512)) as usize,
    };
    let query = &*query;
    let mut reply = Reply::new(buf, query, limit);
    if query.edns.is_some_and(|e| e.version > 0) {
        // BADVERS is 16: zero in the header, 1 in the OPT's upper rcode bits.
        match rare(policy, rcode::BADVERS, about(query)) {
            Decision::Drop => return None,
            Decision::Slip => reply.truncate(query),
            Decision::Send => {}
        }
        return Some(reply.finish(query, opts.edns_udp_size, (rcode::BADVERS >> 4) as u8));
    }
    let q = &query.question;
    let qtype = RType(q.qtype);
    // The common case first: class IN and a data type.
    let outcome = if q.qclass == class::IN && !qtype.is_meta() {
        answer_in_engine(engine, query, &mut reply, transport)
    } else if qtype == RType::OPT {
        Err(rcode::FORMERR)
    } else if qtype == RType::AXFR || qtype == RType::IXFR {
        // Zone transfers are not offered: refuse, as servers without a transfer ACL do.
        Err(rcode::REFUSED)
    } else if qtype.is_meta() && qtype != RType::ANY {
        Err(rcode::NOTIMP)
    } else if q.qclass == class::IN {
        answer_in_engine(engine, query, &mut reply, transport)
    } else if q.qclass == class::CH {
        answer_chaos(opts, query, &mut reply)
    } else {
        Err(rcode::REFUSED)
    };
    if let Err(code) = outcome {
        reply.truncate(query);
        reply.flags &= !(dns::flags::TC | dns::flags::AA);
        reply.set_rcode(code);
    }
    let code = reply.flags & dns::flags::RCODE_MASK;
    match decide(policy, code, reply.flags & dns::flags::TC != 0, about(query)) {
        Decision::Send => {}
        Decision::Slip => reply.truncate(query),
        Decision::Drop => return None,
    }
    Some(reply.finish(query, opts.edns_udp_size, 0))
}

/// The DO=1 variant of a template (RRSIGs and proofs) is a response of its
/// own: choosing it is the whole run-time cost of DNSSEC (RFC 4035 §3.1).
/// Out of line so that the DO=0 path keeps its shape.
#[inline(never)]
fn signed_template(table: &Table, query: &Query, reply: &mut Reply<'_>, signed: u32) -> Result<(), Failure> {
    match table.response(signed) {
        Some(signed) => reply.template(query, &signed),
        None => Err(Failure::Corrupt),
    }
}

#[cold]
#[inline(never)]
fn decide_rare<P: Policy>(policy: &mut P, response: &Response<'_>) -> Decision {
    policy.decide(response)
}

/// The table's zone index a response came from, when none did.
const NO_ZONE: u32 = u32::MAX;

/// The answer path compiled for the engine's layers: with no overlay, the
/// base table's code alone (one test of the engine per answer, none per
/// lookup); with one, its own copy, out of line.
#[inline(always)]
fn answer_in_engine(engine: &Engine, query: &Query, reply: &mut Reply<'_>, transport: Transport) -> Result<(), u8> {
    match engine.overlay.as_deref() {
        None => answer_in(BaseOnly(&engine.table), query, reply, transport),
        Some(overlay) => overlaid::answer(Overlaid { base: &engine.table, overlay }, query, reply, transport),
    }
}

pub(super) fn answer_in<'t, L: Layers<'t>>(
    layers: L,
    query: &Query,
    reply: &mut Reply<'_>,
    transport: Transport,
) -> Result<(), u8> {
    let (table, plan) = resolve::plan(layers, query);
    let result = match plan {
        Plan::Template(r) if r.signed != 0 && query.edns.is_some_and(|e| e.dnssec_ok) => {
            signed_template(table, query, reply, r.signed)
        }
        Plan::Template(r) => reply.template(query, &r),
        Plan::Denial { response, encloser } => denial::answer_or_template(table, query, reply, &response, encloser),
        Plan::Dname { skip, node } => dname::answer(layers, table, query, reply, skip, &node),
        Plan::Refused => return Err(rcode::REFUSED),
        Plan::Corrupt => Err(Failure::Corrupt),
    };
    match result {
        Ok(()) => Ok(()),
        // Over TCP nothing bigger can be asked for: an answer that does not
        // fit 65,535 bytes is a server failure, as Knot answers it (TC over
        // TCP would send the client nowhere).
        Err(Failure::Truncated) if transport == Transport::Tcp => Err(rcode::SERVFAIL),
        Err(Failure::Truncated) => {
            reply.truncate(query);
            Ok(())
        }
        Err(Failure::Corrupt) => Err(rcode::SERVFAIL),
    }
}

/// CHAOS TXT identity queries; everything else in class CH is refused.
#[cold]
#[inline(never)]
fn answer_chaos(opts: &Options, query: &Query, reply: &mut Reply<'_>) -> Result<(), u8> {
    let q = &query.question;
    if q.qtype != RType::TXT.0 && q.qtype != RType::ANY.0 {
        return Err(rcode::REFUSED);
    }
    let text = match query.lname() {
        b"\x02id\x06server\x00" => &opts.identity,
        b"\x08hostname\x04bind\x00" => &opts.hostname,
        b"\x07version\x04bind\x00" | b"\x07version\x06server\x00" => &opts.version,
        _ => return Err(rcode::REFUSED),
    };
    let Some(text) = text else { return Err(rcode::REFUSED) };
    let mut rr = [0u8; 12 + 1 + 255];
    let n = reply::chaos_txt(text, &mut rr);
    match reply.push(&rr[..n], query) {
        Ok(()) => {
            reply.ancount = 1;
            reply.flags |= dns::flags::AA;
        }
        Err(_) => reply.truncate(query),
    }
    Ok(())
}

/// A reply with no sections: the question when it could be read, otherwise
/// just the header. A slipped error reply only gains TC: it is already as
/// small as a reply can be.
#[cold]
#[inline(never)]
pub(super) fn error_reply(
    buf: &mut [u8],
    question_end: Option<usize>,
    code: u8,
    decision: Decision,
) -> Option<Written> {
    let f = dns::Header::new_checked(buf).map_or(0, |h| h.flags());
    let mut flags = dns::flags::QR | (f & (dns::flags::OPCODE_MASK | dns::flags::RD | dns::flags::CD)) | code as u16;
    match decision {
        Decision::Send => {}
        Decision::Slip => flags |= dns::flags::TC,
        Decision::Drop => return None,
    }
    let _ = reply::write_header(buf, flags, question_end.is_some() as u16, 0, 0, 0);
    let len = question_end.unwrap_or(dns::HEADER_LEN);
    Some(Written { len, sum: crate::wire::checksum::sum(buf.get(..len)?) })
}

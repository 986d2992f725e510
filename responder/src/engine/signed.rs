//! Queries signed with TSIG (RFC 8945), on every path that answers: the
//! query parser turns a message with a TSIG record down as malformed, and
//! the FORMERR branch, cold, sends it here. A request whose signature
//! checks is answered as if unsigned, with its TSIG taken off and room
//! kept for ours, then signed over the request's MAC. One that fails is
//! answered NOTAUTH with the TSIG error (§5.3.2): BADKEY, BADSIG and
//! BADTRUNC unsigned, BADTIME signed, with the server's time in Other
//! Data. Plain queries never come here (what the call site costs them:
//! BENCHMARKS.md, "Issue 13").
//!
//! The time comes from the system clock (`clock_gettime`, a vDSO call, no
//! system call); tests sign at the real time or, for BADTIME, far from it.

use super::message::{answer_unsized, error_reply, Engine};
use super::policy::{About, Policy, Response, ResponseClass};
use super::query::Query;
use super::reply::Written;
use super::transport::Transport;
use crate::tsig::{self, Failure, Signing};
use crate::wire::checksum;
use crate::wire::dns::{self, field, rcode};

/// Answers `buf[..len]`, a query whose question (ending at `question_end`)
/// was fine but whose other sections were not as a plain query's are.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn answer<P: Policy>(
    engine: &Engine,
    query: &mut Query,
    buf: &mut [u8],
    len: usize,
    transport: Transport,
    client: &[u8],
    policy: &mut P,
    question_end: usize,
) -> Option<Written> {
    // The question was read (the rest of the message was not): its type is
    // known, DO and the zone are not.
    let about = About { qtype: query.question.qtype, ..About::UNKNOWN };
    let decide = |policy: &mut P, code: u8| {
        let rcode = code as u16;
        let class = ResponseClass::of(rcode);
        policy.decide(&Response { client, transport, rcode, class, truncated: false, about })
    };
    let now = tsig::now();
    let rejected = match tsig::verify_request(&engine.options.tsig, &buf[..len], now) {
        Ok(None) => return super::nsid::answer(engine, query, buf, len, transport, client, policy, question_end),
        Ok(Some(request)) => {
            let key = request.key;
            let request_mac = request.verified.mac;
            let inner = request.verified.len;
            // The query without its TSIG, answered as any other query. One
            // TSIG only: a second one under it would bring the answer back
            // here, once per record.
            let ar = dns::Header::new_checked(&buf[..inner])?.arcount();
            buf[field::ARCOUNT].copy_from_slice(&ar.saturating_sub(1).to_be_bytes());
            if !matches!(tsig::record::locate(&buf[..inner]), Ok(None)) {
                return error_reply(buf, Some(question_end), rcode::FORMERR, decide(policy, rcode::FORMERR));
            }
            let written = answer_unsized(engine, query, buf, inner, transport, client, policy)?;
            let room = tsig::record_len(key, 0);
            let len = fit(query, buf, written.len, transport, engine.options.edns_udp_size, room, question_end);
            let how = Signing::new(Some(request_mac.as_slice()), now);
            return finish(tsig::sign_in_place(key, buf, len, &how).map(|(end, _)| end), buf);
        }
        Err(rejected) => rejected,
    };
    let (failure, key) = (rejected.failure, rejected.key);
    let Some(record) = rejected.record else {
        return error_reply(buf, Some(question_end), rcode::FORMERR, decide(policy, rcode::FORMERR));
    };
    // Copied out: the answer is written over the request.
    let key_name = record.key_name;
    let algorithm = record.algorithm;
    let time_signed = record.time_signed;
    let request_mac = tsig::Mac::from_slice(record.mac).unwrap_or(tsig::Mac::EMPTY);
    if failure == Failure::FormErr {
        return error_reply(buf, Some(question_end), rcode::FORMERR, decide(policy, rcode::FORMERR));
    }
    let reply = error_reply(buf, Some(question_end), rcode::NOTAUTH, decide(policy, rcode::NOTAUTH))?;
    let request = tsig::Rejection {
        key_name: key_name.as_slice(),
        algorithm: algorithm.as_slice(),
        time_signed,
        request_mac: request_mac.as_slice(),
    };
    finish(tsig::append_rejection(buf, reply.len, failure, key, &request, now), buf)
}

/// The answer's length once there is room for the TSIG record (`room`
/// bytes) within the client's limit: an answer that would outgrow it is
/// cut back to its question (and OPT), with TC set, as any answer too big
/// for UDP is. Computed after the fact rather than reserved up front, so
/// the plain path keeps its limit arithmetic untouched.
fn fit(query: &Query, buf: &mut [u8], len: usize, transport: Transport, ours: u16, room: usize, qend: usize) -> usize {
    let limit = limit(query, transport, ours, buf.len());
    if len + room <= limit {
        return len;
    }
    let Some(flags) = dns::Header::new_checked(buf).map(|h| h.flags() | dns::flags::TC) else { return len };
    let mut end = qend;
    let mut ar = 0;
    if let Some(edns) = query.edns {
        let opt = dns::opt_alone(ours, if edns.dnssec_ok { 0x8000 } else { 0 });
        if let Some(dst) = buf.get_mut(end..end + opt.len()) {
            dst.copy_from_slice(&opt);
            end += opt.len();
            ar = 1;
        }
    }
    if let Some(mut header) = dns::Header::new_checked_mut(buf) {
        header.set_flags_and_counts(flags, [1, 0, 0, ar]);
    }
    end
}

/// The largest answer the client takes, as `message` computes it for the
/// plain path (kept there inline, where it costs nothing extra).
pub(super) fn limit(query: &Query, transport: Transport, ours: u16, buf_len: usize) -> usize {
    match (transport, query.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.udp_size.min(ours.max(512)) as usize,
    }
    .min(buf_len)
}

/// The signed message's length and its checksum sum, read back: this path
/// is rare enough not to keep the sum while writing.
fn finish(end: Option<usize>, buf: &[u8]) -> Option<Written> {
    let len = end?;
    Some(Written { len, sum: checksum::sum(buf.get(..len)?) })
}

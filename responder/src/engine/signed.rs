//! Queries signed with TSIG (RFC 8945), on every path that answers: the
//! query parser turns a message with a TSIG record down as malformed, and
//! the FORMERR branch, cold, sends it here. A request whose signature
//! checks is answered as if unsigned, with its TSIG taken off and room
//! kept for ours, then signed over the request's MAC. One that fails is
//! answered NOTAUTH with the TSIG error (§5.3.2): BADKEY, BADSIG and
//! BADTRUNC unsigned, BADTIME signed, with the server's time in Other
//! Data. Plain queries never come here, so they pay nothing for it.
//!
//! The time comes from the system clock (`clock_gettime`, a vDSO call, no
//! system call); tests sign at the real time or, for BADTIME, far from it.

use super::message::{answer_within, error_reply, Engine};
use super::policy::{Policy, Response, ResponseClass};
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
    let decide = |policy: &mut P, code: u8| {
        let rcode = code as u16;
        policy.decide(&Response { client, transport, rcode, class: ResponseClass::of(rcode), truncated: false })
    };
    let now = tsig::now();
    let rejected = match tsig::verify_request(&engine.options.tsig, &buf[..len], now) {
        Ok(None) => return error_reply(buf, Some(question_end), rcode::FORMERR, decide(policy, rcode::FORMERR)),
        Ok(Some(request)) => {
            let key = request.key;
            let request_mac = request.verified.mac;
            let inner = request.verified.len;
            // The query without its TSIG, answered as any other query.
            let ar = dns::Header::new_checked(&buf[..inner])?.arcount();
            buf[field::ARCOUNT].copy_from_slice(&ar.saturating_sub(1).to_be_bytes());
            let reserve = tsig::record_len(key, 0);
            let written = answer_within(engine, query, buf, inner, transport, client, policy, reserve)?;
            let how = Signing::new(Some(request_mac.as_slice()), now);
            return finish(tsig::sign_in_place(key, buf, written.len, &how).map(|(end, _)| end), buf);
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
    match (failure, key) {
        (Failure::BadTime, Some(key)) => {
            let other = now.to_be_bytes();
            let how = Signing {
                prior: Some(request_mac.as_slice()),
                timers_only: false,
                time_signed,
                fudge: tsig::FUDGE,
                error: tsig::code::BADTIME,
                other: &other[2..],
            };
            finish(tsig::sign_in_place(key, buf, reply.len, &how).map(|(end, _)| end), buf)
        }
        _ => {
            let end = tsig::append_unsigned(
                buf,
                reply.len,
                key_name.as_slice(),
                algorithm.as_slice(),
                time_signed,
                failure.code(),
            );
            finish(end, buf)
        }
    }
}

/// The signed message's length and its checksum sum, read back: this path
/// is rare enough not to keep the sum while writing.
fn finish(end: Option<usize>, buf: &[u8]) -> Option<Written> {
    let len = end?;
    Some(Written { len, sum: checksum::sum(buf.get(..len)?) })
}

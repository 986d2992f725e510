//! NSID (RFC 5001): the server's identifier, returned in our OPT only when
//! the query's OPT asks for it with an empty NSID option. Like TSIG, it
//! adds nothing to plain queries' path: `query::walk_rest` turns a query carrying
//! an NSID option down as malformed, and the cold FORMERR branch (through
//! `signed`) comes here. The option is taken out of the query, the query
//! answered as usual, and the identifier appended to the answer's OPT,
//! counted in the size limit: an answer it would push past the limit is
//! cut back to its question (TC=1), which still carries the NSID.

use super::message::{answer_unsized, error_reply, Engine};
use super::policy::{About, Policy, Response, ResponseClass};
use super::query::Query;
use super::reply::Written;
use super::transport::Transport;
use crate::wire::checksum;
use crate::wire::dns::{self, option_field, rcode, RType};

/// The NSID option code (RFC 5001 §2.3).
pub const NSID: u16 = 3;

/// Answers a query whose sections did not read as a plain query's: one
/// asking for NSID is answered with it, anything else is FORMERR as before.
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
    let Some(stripped) = strip_nsid(buf, len) else {
        let decision = policy.decide(&Response {
            client,
            transport,
            rcode: rcode::FORMERR as u16,
            class: ResponseClass::of(rcode::FORMERR as u16),
            truncated: false,
            about: About { qtype: query.question.qtype, ..About::UNKNOWN },
        });
        return error_reply(buf, Some(question_end), rcode::FORMERR, decision);
    };
    let written = answer_unsized(engine, query, buf, stripped, transport, client, policy)?;
    let Some(id) = engine.options.nsid.as_deref() else { return Some(written) };
    let limit = super::signed::limit(query, transport, engine.options.edns_udp_size, buf.len());
    let end = append(buf, written.len, id, limit, question_end, query, engine.options.edns_udp_size)?;
    Some(Written { len: end, sum: checksum::sum(buf.get(..end)?) })
}

/// Takes every NSID option out of the query's OPT record, in place;
/// returns the new length, `None` when the message has no NSID option (or
/// does not parse: it is then malformed for other reasons).
fn strip_nsid(buf: &mut [u8], len: usize) -> Option<usize> {
    let m = buf.get(..len)?;
    let header = dns::Header::new_checked(m)?;
    let mut pos = dns::skip_name(m, dns::HEADER_LEN)? + dns::question_field::LEN;
    let total = header.ancount() as usize + header.nscount() as usize + header.arcount() as usize;
    let mut opt = None;
    for _ in 0..total {
        let rr = dns::parse_rr(m, pos)?;
        if rr.rtype == RType::OPT.0 && opt.is_none() {
            opt = Some(rr);
        }
        pos = rr.end;
    }
    let rr = opt?;
    let mut len = len;
    let mut at = rr.rdata;
    let mut end = rr.end;
    let mut found = false;
    while at + option_field::LEN <= end {
        let code = u16::from_be_bytes([buf[at], buf[at + 1]]);
        let olen = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize;
        let next = at + option_field::LEN + olen;
        if next > end {
            return None;
        }
        if code == NSID {
            buf.copy_within(next..len, at);
            let cut = next - at;
            len -= cut;
            end -= cut;
            found = true;
        } else {
            at = next;
        }
    }
    if !found {
        return None;
    }
    let rdlen = (end - rr.rdata) as u16;
    buf[rr.rdata - 2..rr.rdata].copy_from_slice(&rdlen.to_be_bytes());
    Some(len)
}

/// Appends the NSID option to the answer's OPT (its last record, with no
/// options: `Reply::finish` writes it so). An answer without an OPT (an
/// error reply) is left as it is.
fn append(buf: &mut [u8], len: usize, id: &[u8], limit: usize, qend: usize, query: &Query, ours: u16) -> Option<usize> {
    let opt_at = len.checked_sub(dns::OPT_ALONE_LEN)?;
    let is_opt = buf.get(opt_at..len).and_then(|o| o.first_chunk()).and_then(dns::parse_opt_alone).is_some();
    if !is_opt || opt_at < qend {
        return Some(len);
    }
    let option_len = option_field::LEN + id.len();
    let mut opt_at = opt_at;
    if len + option_len > limit {
        // Truncated: the question and a fresh OPT, then the NSID.
        let flags = dns::Header::new_checked(buf)?.flags() | dns::flags::TC;
        let ttl = if query.edns.is_some_and(|e| e.dnssec_ok) { 0x8000 } else { 0 };
        let opt = dns::opt_alone(ours, ttl);
        buf.get_mut(qend..qend + opt.len())?.copy_from_slice(&opt);
        dns::Header::new_checked_mut(buf)?.set_flags_and_counts(flags, [1, 0, 0, 1]);
        opt_at = qend;
    }
    let start = opt_at + dns::OPT_ALONE_LEN;
    let end = start + option_len;
    let dst = buf.get_mut(start..end)?;
    dst[..2].copy_from_slice(&NSID.to_be_bytes());
    dst[2..4].copy_from_slice(&(id.len() as u16).to_be_bytes());
    dst[4..].copy_from_slice(id);
    buf[start - 2..start].copy_from_slice(&(option_len as u16).to_be_bytes());
    Some(end)
}

/// `server.nsid` / `--nsid`: text as its bytes, or hex after `0x` (as
/// Knot's `nsid`). At most 128 octets: it rides in every answer that asks.
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let bytes = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => {
            if hex.is_empty() || hex.len() % 2 != 0 {
                return Err(format!("NSID {text:?}: hex needs an even, nonzero number of digits"));
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| format!("NSID {text:?}: not hex after 0x"))?
        }
        None => text.as_bytes().to_vec(),
    };
    if bytes.is_empty() || bytes.len() > 128 {
        return Err(format!("NSID {text:?}: 1 to 128 octets"));
    }
    Ok(bytes)
}

/// The NSID to serve: `nsid` when given, else the server's `identity` as
/// its bytes (Knot's `server.identity` sets the NSID the same way), else
/// none. An identity too long for an NSID is an error naming both keys.
pub fn configured(nsid: Option<&str>, identity: Option<&str>) -> Result<Option<Vec<u8>>, String> {
    match (nsid, identity) {
        (Some(text), _) => parse(text).map(Some),
        (None, Some("")) => Ok(None),
        (None, Some(identity)) if identity.len() > 128 => Err(format!(
            "identity {identity:?} is the NSID when nsid is not set, and an NSID is at most 128 octets: shorten it or set nsid"
        )),
        (None, Some(identity)) => Ok(Some(identity.as_bytes().to_vec())),
        (None, None) => Ok(None),
    }
}

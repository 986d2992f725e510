//! Signing: a TSIG record appended to a message, its MAC over the digest
//! `digest` describes. In place over a buffer (the engine writes answers
//! where the query was) or onto a `Vec` (clients, transfers).

use super::algorithm::Mac;
use super::digest::{self, Variables};
use super::error::{code, Failure};
use super::key::Key;
use super::record::Fields;
use crate::wire::dns::{self, field};

/// The fudge this server signs with, Knot's and BIND's default (§5.2.3
/// recommends 300 seconds).
pub const FUDGE: u16 = 300;

/// How one message is signed.
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    /// The request's MAC (a response), the previous message's (a stream),
    /// or nothing (a request).
    pub prior: Option<&'a [u8]>,
    /// A stream's second or later message: only the timers are digested.
    pub timers_only: bool,
    pub time_signed: u64,
    pub fudge: u16,
    pub error: u16,
    pub other: &'a [u8],
}

impl Signing<'_> {
    /// A request, or a plain response to `prior`, signed now.
    pub fn new(prior: Option<&[u8]>, time_signed: u64) -> Signing<'_> {
        Signing { prior, timers_only: false, time_signed, fudge: FUDGE, error: 0, other: b"" }
    }
}

/// The TSIG record [`sign_in_place`] will add, in bytes: what an answer
/// must leave room for.
pub fn record_len(key: &Key, other_len: usize) -> usize {
    Fields {
        key_name: key.name(),
        algorithm: key.algorithm().wire_name(),
        time_signed: 0,
        fudge: 0,
        mac: &[0; super::MAX_MAC_LEN][..key.algorithm().output_len()],
        original_id: 0,
        error: 0,
        other: &[0; 6][..other_len.min(6)],
    }
    .wire_len()
}

/// Signs `buf[..len]` with `key`, appending the TSIG record after it and
/// counting it in ARCOUNT. Returns the new length and the MAC; `None` when
/// the record does not fit in `buf` or the message has no header.
pub fn sign_in_place(key: &Key, buf: &mut [u8], len: usize, how: &Signing<'_>) -> Option<(usize, Mac)> {
    let m = buf.get(..len)?;
    let header = dns::Header::new_checked(m)?;
    let (id, ar) = (header.id(), header.arcount());
    let mut h = key.hasher();
    if let Some(prior) = how.prior {
        digest::prior(&mut h, prior);
    }
    digest::message(&mut h, m, id, false);
    let variables = if how.timers_only {
        Variables::Timers { time_signed: how.time_signed, fudge: how.fudge }
    } else {
        Variables::All {
            key_name: key.name(),
            algorithm: key.algorithm().wire_name(),
            time_signed: how.time_signed,
            fudge: how.fudge,
            error: how.error,
            other: how.other,
        }
    };
    digest::variables(&mut h, &variables);
    let mac = h.finish();
    let fields = Fields {
        key_name: key.name(),
        algorithm: key.algorithm().wire_name(),
        time_signed: how.time_signed,
        fudge: how.fudge,
        mac: mac.as_slice(),
        original_id: id,
        error: how.error,
        other: how.other,
    };
    let end = fields.write(buf, len)?;
    buf[field::ARCOUNT].copy_from_slice(&ar.checked_add(1)?.to_be_bytes());
    Some((end, mac))
}

/// [`sign_in_place`] onto the end of `msg`.
pub fn sign_message(key: &Key, msg: &mut Vec<u8>, how: &Signing<'_>) -> Option<Mac> {
    let len = msg.len();
    msg.resize(len + record_len(key, how.other.len()), 0);
    match sign_in_place(key, msg, len, how) {
        Some((end, mac)) => {
            msg.truncate(end);
            Some(mac)
        }
        None => {
            msg.truncate(len);
            None
        }
    }
}

/// Appends an unsigned TSIG record (MAC size 0) reporting `error`: the
/// answer to a request whose key is unknown or whose MAC is wrong (RFC
/// 8945 §5.3.2), naming the key and algorithm as the request did.
pub fn append_unsigned(
    buf: &mut [u8],
    len: usize,
    key_name: &[u8],
    algorithm: &[u8],
    time_signed: u64,
    error: u16,
) -> Option<usize> {
    let header = dns::Header::new_checked(buf.get(..len)?)?;
    let (id, ar) = (header.id(), header.arcount());
    let fields =
        Fields { key_name, algorithm, time_signed, fudge: FUDGE, mac: b"", original_id: id, error, other: b"" };
    let end = fields.write(buf, len)?;
    buf[field::ARCOUNT].copy_from_slice(&ar.checked_add(1)?.to_be_bytes());
    Some(end)
}

/// What a rejected request said of its TSIG, copied out before the error
/// answer is written over it.
pub struct Rejection<'a> {
    pub key_name: &'a [u8],
    pub algorithm: &'a [u8],
    pub time_signed: u64,
    pub request_mac: &'a [u8],
}

/// Appends the TSIG record an error answer to a rejected request carries
/// (RFC 8945 §5.2.3, §5.3.2): BADTIME signed with the key known, our time
/// in Other Data, so the client can see the skew; any other failure (or
/// BADTIME without a key) unsigned, with its error code. The engine's
/// signed queries and the transfer server answer alike through here.
pub fn append_rejection(
    buf: &mut [u8],
    len: usize,
    failure: Failure,
    key: Option<&Key>,
    request: &Rejection<'_>,
    now: u64,
) -> Option<usize> {
    match (failure, key) {
        (Failure::BadTime, Some(key)) => {
            let other = now.to_be_bytes();
            let how = Signing {
                prior: Some(request.request_mac),
                timers_only: false,
                time_signed: request.time_signed,
                fudge: FUDGE,
                error: code::BADTIME,
                other: &other[2..],
            };
            sign_in_place(key, buf, len, &how).map(|(end, _)| end)
        }
        _ => append_unsigned(buf, len, request.key_name, request.algorithm, request.time_signed, failure.code()),
    }
}

/// Signs each message of a multi-message answer (an AXFR stream, RFC 8945
/// §5.3.1): the first over the request's MAC and every variable, each
/// later one over the previous MAC and the timers only.
pub struct StreamSigner {
    key: Key,
    prior: Mac,
    first: bool,
}

impl StreamSigner {
    pub fn new(key: &Key, request_mac: &[u8]) -> StreamSigner {
        StreamSigner { key: key.clone(), prior: Mac::from_slice(request_mac).unwrap_or(Mac::EMPTY), first: true }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The MAC the next message is chained to.
    pub fn prior_mac(&self) -> Mac {
        self.prior
    }

    #[cfg(test)]
    pub(super) fn set_prior_mac(&mut self, mac: Mac) {
        self.prior = mac;
        self.first = false;
    }

    /// Signs the next message, appending its TSIG to `msg`.
    pub fn sign(&mut self, msg: &mut Vec<u8>, time_signed: u64) -> Option<Mac> {
        let how =
            Signing { prior: Some(self.prior.as_slice()), timers_only: !self.first, ..Signing::new(None, time_signed) };
        let mac = sign_message(&self.key, msg, &how)?;
        self.prior = mac;
        self.first = false;
        Some(mac)
    }
}

//! Checking a signed message: the key it names, its MAC (compared in
//! constant time by the `hmac` crate), the truncation allowed, its time
//! (RFC 8945 §5.2, in that order), for a server's request, a client's
//! response, or each message of a transfer stream.

use super::algorithm::{Algorithm, Hasher, Mac};
use super::digest::{self, Variables};
use super::error::Failure;
use super::key::{Key, Keyring};
use super::record::{self, Record};

/// What a message's good TSIG said.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    /// Its MAC: the prior MAC of the answer or of the stream's next message.
    pub mac: Mac,
    pub time_signed: u64,
    pub fudge: u16,
    pub original_id: u16,
    /// The message's length without the TSIG record.
    pub len: usize,
}

/// A request whose key is known and whose MAC checked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'k> {
    pub key: &'k Key,
    pub verified: Verified,
}

/// A signed request turned down, with what the error answer needs.
#[derive(Debug, Clone, Copy)]
pub struct Rejected<'m, 'k> {
    pub failure: Failure,
    /// The TSIG as read; `None` when it did not parse (FORMERR).
    pub record: Option<Record<'m>>,
    /// The key, when it was known (BADTIME answers are signed with it).
    pub key: Option<&'k Key>,
}

/// A server's check of request `m`: `Ok(None)` when it is not signed.
// The rejection carries the record for the error answer; boxing it would
// allocate for every forged query, which the answer path never does.
#[allow(clippy::result_large_err)]
pub fn verify_request<'m, 'k>(
    keys: &'k Keyring,
    m: &'m [u8],
    now: u64,
) -> Result<Option<Request<'k>>, Rejected<'m, 'k>> {
    let record = match record::locate(m) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(None),
        Err(_) => return Err(Rejected { failure: Failure::FormErr, record: None, key: None }),
    };
    let key = keys.find(record.key_name.as_slice());
    let reject = |failure| Rejected { failure, record: Some(record), key };
    let Some(key) = key else { return Err(reject(Failure::BadKey)) };
    check(key, m, &record, None, false, now).map(|verified| Some(Request { key, verified })).map_err(reject)
}

/// A client's check of response `m` to a request signed with `key` whose
/// MAC was `request_mac` (`None`: `m` is itself a request).
pub fn verify_message(key: &Key, m: &[u8], request_mac: Option<&[u8]>, now: u64) -> Result<Verified, Failure> {
    let record = match record::locate(m) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(Failure::Unsigned),
        Err(_) => return Err(Failure::FormErr),
    };
    if record.key_name.as_slice() != key.name() {
        return Err(peer_error(&record).unwrap_or(Failure::BadKey));
    }
    check(key, m, &record, request_mac, false, now)
}

/// The error a peer put in an unsigned TSIG (its BADKEY or BADSIG answer).
fn peer_error(record: &Record<'_>) -> Option<Failure> {
    (record.error != 0 && record.mac.is_empty()).then_some(Failure::Peer(record.error))
}

fn check(
    key: &Key,
    m: &[u8],
    record: &Record<'_>,
    prior: Option<&[u8]>,
    timers_only: bool,
    now: u64,
) -> Result<Verified, Failure> {
    if Algorithm::from_wire_name(record.algorithm.as_slice()) != Some(key.algorithm()) {
        return Err(peer_error(record).unwrap_or(Failure::BadKey));
    }
    let alg = key.algorithm();
    if record.mac.len() > alg.output_len() {
        return Err(Failure::FormErr);
    }
    if record.mac.len() < alg.min_mac_len() {
        return Err(peer_error(record).unwrap_or(Failure::BadTrunc));
    }
    let mut h = key.hasher();
    digest_received(&mut h, m, record, prior, timers_only);
    if !h.verify(record.mac) {
        return Err(Failure::BadSig);
    }
    if now.abs_diff(record.time_signed) > record.fudge as u64 {
        return Err(Failure::BadTime);
    }
    if record.error != 0 {
        return Err(Failure::Peer(record.error));
    }
    Ok(Verified {
        // Checked above: no longer than the longest MAC.
        mac: Mac::from_slice(record.mac).unwrap_or(Mac::EMPTY),
        time_signed: record.time_signed,
        fudge: record.fudge,
        original_id: record.original_id,
        len: record.start,
    })
}

fn digest_received(h: &mut Hasher, m: &[u8], record: &Record<'_>, prior: Option<&[u8]>, timers_only: bool) {
    if let Some(prior) = prior {
        digest::prior(h, prior);
    }
    digest::message(h, &m[..record.start], record.original_id, true);
    let variables = if timers_only {
        Variables::Timers { time_signed: record.time_signed, fudge: record.fudge }
    } else {
        Variables::All {
            key_name: record.key_name.as_slice(),
            algorithm: record.algorithm.as_slice(),
            time_signed: record.time_signed,
            fudge: record.fudge,
            error: record.error,
            other: record.other,
        }
    };
    digest::variables(h, &variables);
}

/// How many messages of a stream may go unsigned in a row (RFC 8945
/// §5.3.1: a TSIG at least every 100 messages).
pub const MAX_UNSIGNED_RUN: usize = 99;

/// Checks each message of a signed multi-message answer (an AXFR or IXFR
/// stream) in order: the first must be signed; later ones may go unsigned
/// for up to [`MAX_UNSIGNED_RUN`] messages, and are then covered by the
/// next signed one. Call [`Self::finish`] after the last message.
pub struct StreamVerifier {
    key: Key,
    prior: Mac,
    first: bool,
    /// The digest of the unsigned messages since the last signed one.
    pending: Option<Hasher>,
    unsigned_run: usize,
}

impl StreamVerifier {
    pub fn new(key: &Key, request_mac: &[u8]) -> StreamVerifier {
        StreamVerifier {
            key: key.clone(),
            prior: Mac::from_slice(request_mac).unwrap_or(Mac::EMPTY),
            first: true,
            pending: None,
            unsigned_run: 0,
        }
    }

    /// Checks the next message; `Ok(true)` if it was signed.
    pub fn verify(&mut self, m: &[u8], now: u64) -> Result<bool, Failure> {
        let record = match record::locate(m) {
            Ok(r) => r,
            Err(_) => return Err(Failure::FormErr),
        };
        let Some(record) = record else {
            if self.first || self.unsigned_run >= MAX_UNSIGNED_RUN {
                return Err(Failure::Unsigned);
            }
            let prior = self.prior;
            let h = self.pending.get_or_insert_with(|| {
                let mut h = self.key.hasher();
                digest::prior(&mut h, prior.as_slice());
                h
            });
            h.update(m);
            self.unsigned_run += 1;
            return Ok(false);
        };
        if record.key_name.as_slice() != self.key.name() {
            return Err(peer_error(&record).unwrap_or(Failure::BadKey));
        }
        let verified = if self.first {
            check(&self.key, m, &record, Some(self.prior.as_slice()), false, now)?
        } else {
            let alg = self.key.algorithm();
            if Algorithm::from_wire_name(record.algorithm.as_slice()) != Some(alg) {
                return Err(Failure::BadKey);
            }
            if record.mac.len() > alg.output_len() || record.mac.len() < alg.min_mac_len() {
                return Err(Failure::BadTrunc);
            }
            let mut h = match self.pending.take() {
                Some(h) => h,
                None => {
                    let mut h = self.key.hasher();
                    digest::prior(&mut h, self.prior.as_slice());
                    h
                }
            };
            digest_received(&mut h, m, &record, None, true);
            if !h.verify(record.mac) {
                return Err(Failure::BadSig);
            }
            if now.abs_diff(record.time_signed) > record.fudge as u64 {
                return Err(Failure::BadTime);
            }
            Verified {
                mac: Mac::from_slice(record.mac).unwrap_or(Mac::EMPTY),
                time_signed: record.time_signed,
                fudge: record.fudge,
                original_id: record.original_id,
                len: record.start,
            }
        };
        self.prior = verified.mac;
        self.first = false;
        self.pending = None;
        self.unsigned_run = 0;
        Ok(true)
    }

    /// After the last message: it must have been signed.
    pub fn finish(&self) -> Result<(), Failure> {
        if self.first || self.unsigned_run > 0 {
            Err(Failure::Unsigned)
        } else {
            Ok(())
        }
    }
}

//! The one-message answers to a transfer request: an error (REFUSED,
//! SERVFAIL, FORMERR; NOTAUTH with the TSIG error when the signature does
//! not check, RFC 8945 §5.3.2), written over the request and signed when
//! the request's key was good.

use crate::tsig::record::WireName;
use crate::tsig::{self, Failure, Key, Mac, Rejected, Signing};
use crate::wire::dns::{self, flags, rcode};

/// The request's header and question with QR, the request's RD, `code`,
/// and nothing else; its length.
pub fn bare(buf: &mut [u8], question_end: usize, code: u8) -> Option<usize> {
    let mut header = dns::Header::new_checked_mut(buf.get_mut(..question_end)?)?;
    let rd = header.flags() & flags::RD;
    header.set_flags_and_counts(flags::QR | rd | u16::from(code), [1, 0, 0, 0]);
    Some(question_end)
}

/// [`bare`], signed over the request's MAC when it was signed.
pub fn error(buf: &mut [u8], question_end: usize, code: u8, signing: Option<(&Key, Mac)>) -> Option<usize> {
    let len = bare(buf, question_end, code)?;
    match signing {
        Some((key, mac)) => {
            let how = Signing::new(Some(mac.as_slice()), tsig::now());
            tsig::sign_in_place(key, buf, len, &how).map(|(end, _)| end)
        }
        None => Some(len),
    }
}

/// What an answer to a badly signed request needs, copied out of the
/// request it is written over.
pub struct TsigError {
    failure: Failure,
    key: Option<Key>,
    /// Key name, algorithm, time signed and MAC as the request had them;
    /// `None` when its TSIG did not parse.
    record: Option<(WireName, WireName, u64, Mac)>,
}

impl TsigError {
    pub fn of(rejected: &Rejected<'_, '_>) -> TsigError {
        TsigError {
            failure: rejected.failure,
            key: rejected.key.cloned(),
            record: rejected
                .record
                .as_ref()
                .map(|r| (r.key_name, r.algorithm, r.time_signed, Mac::from_slice(r.mac).unwrap_or(Mac::EMPTY))),
        }
    }

    pub fn failure(&self) -> Failure {
        self.failure
    }
}

/// The answer to a request whose TSIG did not check: FORMERR for a TSIG
/// that does not parse, else NOTAUTH with the error, unsigned but for
/// BADTIME (signed, with our time in Other Data), as the engine answers
/// signed queries.
pub fn rejected(buf: &mut [u8], question_end: usize, rejected: &TsigError, now: u64) -> Option<usize> {
    let Some((key_name, algorithm, time_signed, request_mac)) = rejected.record else {
        return bare(buf, question_end, rcode::FORMERR);
    };
    if rejected.failure == Failure::FormErr {
        return bare(buf, question_end, rcode::FORMERR);
    }
    let len = bare(buf, question_end, rcode::NOTAUTH)?;
    let request = tsig::Rejection {
        key_name: key_name.as_slice(),
        algorithm: algorithm.as_slice(),
        time_signed,
        request_mac: request_mac.as_slice(),
    };
    tsig::append_rejection(buf, len, rejected.failure, rejected.key.as_ref(), &request, now)
}

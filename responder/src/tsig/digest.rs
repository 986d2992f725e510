//! What a MAC covers (RFC 8945 §4.3): the prior MAC (a request's, for its
//! response; the previous message's, in a stream), the message as it was
//! before its TSIG was added (Original ID in place, ARCOUNT without the
//! TSIG), then the TSIG variables, or only its timers for the second and
//! later messages of a stream (§5.3.1).

use super::algorithm::Hasher;
use crate::wire::dns::{self, class, field};

/// What goes in after the message.
#[derive(Debug, Clone, Copy)]
pub enum Variables<'a> {
    /// Every variable (§4.3.3): a single message, or a stream's first.
    All { key_name: &'a [u8], algorithm: &'a [u8], time_signed: u64, fudge: u16, error: u16, other: &'a [u8] },
    /// Time Signed and Fudge only (§4.3.1): a stream's later messages.
    Timers { time_signed: u64, fudge: u16 },
}

/// The MAC a message is given or checked against (its length first).
pub fn prior(h: &mut Hasher, mac: &[u8]) {
    h.update(&(mac.len() as u16).to_be_bytes());
    h.update(mac);
}

/// `m` is the message without its TSIG; `header_ar_has_tsig` says whether
/// its ARCOUNT still counts the TSIG (a received message) or not (one about
/// to be signed). The header is digested with `original_id` as its ID.
pub fn message(h: &mut Hasher, m: &[u8], original_id: u16, header_ar_has_tsig: bool) {
    let Some(header) = m.first_chunk::<{ dns::HEADER_LEN }>() else {
        h.update(m);
        return;
    };
    let mut header = *header;
    header[field::ID].copy_from_slice(&original_id.to_be_bytes());
    if header_ar_has_tsig {
        let ar = u16::from_be_bytes([header[field::ARCOUNT.start], header[field::ARCOUNT.start + 1]]);
        header[field::ARCOUNT].copy_from_slice(&ar.saturating_sub(1).to_be_bytes());
    }
    h.update(&header);
    h.update(&m[dns::HEADER_LEN..]);
}

pub fn variables(h: &mut Hasher, v: &Variables<'_>) {
    match *v {
        Variables::All { key_name, algorithm, time_signed, fudge, error, other } => {
            h.update(key_name);
            h.update(&class::ANY.to_be_bytes());
            h.update(&0u32.to_be_bytes());
            h.update(algorithm);
            h.update(&time_signed.to_be_bytes()[2..]);
            h.update(&fudge.to_be_bytes());
            h.update(&error.to_be_bytes());
            h.update(&(other.len() as u16).to_be_bytes());
            h.update(other);
        }
        Variables::Timers { time_signed, fudge } => {
            h.update(&time_signed.to_be_bytes()[2..]);
            h.update(&fudge.to_be_bytes());
        }
    }
}

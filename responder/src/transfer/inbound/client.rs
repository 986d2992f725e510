//! One exchange with one primary over TCP: an SOA check, or a transfer.
//! Every step is bounded: the connect, each read, and the whole transfer.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::config::Primary;
use super::message::{self, WireRecord};
use super::stream::{read_message, Assembler, Received};
use crate::tsig;
use crate::wire::dns::RType;
use crate::zone::Name;

/// How long each part of an exchange may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect: Duration,
    /// Between two messages of one answer.
    pub read: Duration,
    /// The whole answer.
    pub total: Duration,
    /// Bytes of answer accepted (the zone size limit).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect: Duration::from_secs(3),
            read: Duration::from_secs(10),
            total: Duration::from_secs(300),
            max_bytes: crate::zone::DEFAULT_MAX_BYTES,
        }
    }
}

/// Why an exchange with a primary (or what it sent) failed: the `result`
/// of a transfer in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answered REFUSED: the primary does not let us transfer the zone.
    Refused,
    /// TSIG: the answer did not verify, or the primary answered NOTAUTH
    /// (ours did not verify there).
    Tsig,
    /// Another error rcode (SERVFAIL, NOTIMP, FORMERR…).
    Rcode,
    /// No connection, or no answer, within the limits.
    Timeout,
    /// The connection was refused or broke.
    Unreachable,
    /// The primary closed the connection mid-answer.
    Closed,
    /// An answer that breaks the protocol (ID, record sequence, records
    /// outside the zone, unreadable).
    Malformed,
    /// More than the zone size limit.
    TooLarge,
    /// A zone that does not load or compile, differences that do not
    /// apply to our copy, or a copy that could not be served.
    Rejected,
}

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::Refused => "refused",
            Failure::Tsig => "tsig",
            Failure::Rcode => "error_rcode",
            Failure::Timeout => "timeout",
            Failure::Unreachable => "unreachable",
            Failure::Closed => "closed",
            Failure::Malformed => "malformed",
            Failure::TooLarge => "too_large",
            Failure::Rejected => "rejected",
        }
    }

    /// The failure an error rcode in an answer means.
    fn of_rcode(code: u8) -> Failure {
        match code {
            crate::wire::dns::rcode::REFUSED => Failure::Refused,
            crate::wire::dns::rcode::NOTAUTH => Failure::Tsig,
            _ => Failure::Rcode,
        }
    }

    fn of_io(e: &std::io::Error) -> Failure {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Failure::Closed,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::Timeout,
            _ => Failure::Unreachable,
        }
    }
}

/// A failed exchange: what the log and `ctl zone-status` say, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub failure: Failure,
    pub text: String,
}

impl Error {
    pub fn new(failure: Failure, text: impl Into<String>) -> Error {
        Error { failure, text: text.into() }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.text
    }
}

/// Asks `primary` for `qtype` (SOA, AXFR, or IXFR from `current`) of `zone`.
pub fn ask(
    primary: &Primary,
    zone: &Name,
    qtype: RType,
    current: Option<&WireRecord>,
    limits: &Limits,
) -> Result<Received, Error> {
    let started = Instant::now();
    let id = random_id();
    let ours = current.and_then(|soa| soa.soa_serial());
    let mut query = message::query(id, zone, qtype, current);
    // Signed with the primary's key, every answer message must then verify
    // against the chain of MACs that starts with the query's (RFC 8945 §5.3.1).
    let mut verifier = match &primary.key {
        Some(key) => {
            let mac = tsig::sign_message(key, &mut query, &tsig::Signing::new(None, tsig::now()))
                .ok_or_else(|| Error::new(Failure::Tsig, "the signed query does not fit a message"))?;
            Some(tsig::StreamVerifier::new(key, mac.as_slice()))
        }
        None => None,
    };
    let io = |what: &str, e: std::io::Error| Error::new(Failure::of_io(&e), format!("{what}: {e}"));
    let mut stream =
        TcpStream::connect_timeout(&primary.address, limits.connect).map_err(|e| io("cannot connect", e))?;
    stream.set_read_timeout(Some(limits.read)).map_err(|e| io("socket", e))?;
    stream.set_write_timeout(Some(limits.read)).map_err(|e| io("socket", e))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(&query);
    stream.write_all(&framed).map_err(|e| io("cannot send the query", e))?;
    let mut assembler = Assembler::new(zone, id, qtype, ours, limits.max_bytes);
    let mut bytes: u64 = 0;
    loop {
        if started.elapsed() > limits.total {
            return Err(Error::new(Failure::Timeout, format!("{qtype} took longer than {:?}", limits.total)));
        }
        let msg = read_message(&mut stream).map_err(|e| {
            let text = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => format!("{qtype}: the primary closed the connection mid-answer"),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    format!("{qtype}: no answer within {:?}", limits.read)
                }
                _ => format!("{qtype}: {e}"),
            };
            Error::new(Failure::of_io(&e), text)
        })?;
        bytes += msg.len() as u64;
        // An error rcode says why, whatever else is wrong with the answer.
        let rcode = if msg.get(..2) == Some(&id.to_be_bytes()[..]) { msg.get(3).map_or(0, |b| b & 0x0f) } else { 0 };
        if let Some(verifier) = &mut verifier {
            verifier.verify(&msg, tsig::now()).map_err(|f| {
                let failure = if rcode == 0 { Failure::Tsig } else { Failure::of_rcode(rcode) };
                Error::new(failure, tsig_error(qtype, &msg, f))
            })?;
        }
        let pushed = assembler.push(&msg).map_err(|e| {
            let failure = match rcode {
                0 if bytes > limits.max_bytes => Failure::TooLarge,
                0 => Failure::Malformed,
                code => Failure::of_rcode(code),
            };
            Error::new(failure, format!("{qtype}: {e}"))
        })?;
        if let Some(received) = pushed {
            if let Some(verifier) = &verifier {
                verifier.finish().map_err(|f| {
                    Error::new(Failure::Tsig, format!("{qtype}: TSIG: the last message is not signed ({f})"))
                })?;
            }
            return Ok(received);
        }
    }
}

/// `IXFR: TSIG BADKEY (the primary answered NOTAUTH)`: what went wrong,
/// and the rcode when the primary refused rather than signed badly.
fn tsig_error(qtype: RType, msg: &[u8], failure: tsig::Failure) -> String {
    let rcode = msg.get(3).map(|b| b & 0x0f).unwrap_or(0);
    if rcode != 0 {
        format!("{qtype}: TSIG {failure} (the primary answered {})", super::stream::rcode_name(rcode))
    } else {
        format!("{qtype}: TSIG {failure}")
    }
}

/// A query ID nobody on the path can guess, from the standard library's
/// per-process random hash keys.
fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::message::AXFR;
    use crate::transfer::inbound::stream::tests::{a, answer, name, soa};
    use std::io::Read;
    use std::net::TcpListener;

    /// A one-shot primary on loopback: reads the query, checks its TSIG with
    /// `key`, answers with `messages` signed as a stream by `signer_key`.
    fn primary(key: tsig::Key, signer_key: tsig::Key, sign_last: bool) -> (Primary, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let query = read_message(&mut stream).unwrap();
            let verified = tsig::verify_message(&key, &query, None, tsig::now()).expect("a signed query");
            let id = u16::from_be_bytes([query[0], query[1]]);
            let mut signer = tsig::StreamSigner::new(&signer_key, verified.mac.as_slice());
            let messages = [answer(id, AXFR, &[soa(4), a("a.example.test.", 1)]), answer(id, AXFR, &[soa(4)])];
            for (i, mut m) in messages.into_iter().enumerate() {
                if sign_last || i == 0 {
                    signer.sign(&mut m, tsig::now()).unwrap();
                }
                let mut framed = (m.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&m);
                let _ = stream.write_all(&framed);
            }
            let _ = stream.read(&mut [0u8; 1]);
        });
        (Primary { id: None, address, key: Some(key_for_query()) }, thread)
    }

    fn key_for_query() -> tsig::Key {
        tsig::Key::from_text("xfr", "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0").unwrap()
    }

    fn limits() -> Limits {
        Limits { read: Duration::from_secs(5), total: Duration::from_secs(10), ..Limits::default() }
    }

    #[test]
    fn a_signed_transfer_verifies_message_by_message() {
        let (p, t) = primary(key_for_query(), key_for_query(), true);
        let got = ask(&p, &name("example.test."), AXFR, None, &limits()).unwrap();
        assert!(matches!(got, Received::Full { serial: 4, .. }), "{got:?}");
        t.join().unwrap();
    }

    #[test]
    fn an_answer_signed_with_another_key_or_left_unsigned_at_the_end_is_refused() {
        let other = tsig::Key::from_text("xfr", "hmac-sha256", "b3RoZXItb3RoZXItb3RoZXItb3RoZXI=").unwrap();
        let (p, t) = primary(key_for_query(), other, true);
        let error = ask(&p, &name("example.test."), AXFR, None, &limits()).unwrap_err();
        assert!(error.text.contains("TSIG") && error.failure == Failure::Tsig, "{error:?}");
        t.join().unwrap();
        let (p, t) = primary(key_for_query(), key_for_query(), false);
        let error = ask(&p, &name("example.test."), AXFR, None, &limits()).unwrap_err();
        assert!(error.text.contains("the last message is not signed") && error.failure == Failure::Tsig, "{error:?}");
        t.join().unwrap();
    }

    /// What the metrics count a failure as: a primary that refuses, one
    /// that cuts its answer short, a port nobody listens on.
    #[test]
    fn a_refusal_a_cut_answer_and_a_closed_port_are_told_apart() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            for cut in [false, true] {
                let (mut stream, _) = listener.accept().unwrap();
                let query = read_message(&mut stream).unwrap();
                let id = u16::from_be_bytes([query[0], query[1]]);
                let mut m = answer(id, AXFR, &[soa(4), a("a.example.test.", 1)]);
                if !cut {
                    m[3] |= crate::wire::dns::rcode::REFUSED;
                }
                let mut framed = (m.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&m);
                let sent = if cut { framed.len() / 2 } else { framed.len() };
                let _ = stream.write_all(&framed[..sent]);
            }
        });
        let p = Primary { id: None, address, key: None };
        let zone = name("example.test.");
        let refused = ask(&p, &zone, AXFR, None, &limits()).unwrap_err();
        assert_eq!(refused.failure, Failure::Refused, "{refused:?}");
        let cut = ask(&p, &zone, AXFR, None, &limits()).unwrap_err();
        assert_eq!(cut.failure, Failure::Closed, "{cut:?}");
        thread.join().unwrap();
        let closed = ask(&p, &zone, AXFR, None, &limits()).unwrap_err();
        assert_eq!(closed.failure, Failure::Unreachable, "{closed:?}");
    }
}

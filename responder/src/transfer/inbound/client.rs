//! One exchange with one primary over TCP: an SOA check, or a transfer.
//! Every step is bounded: the connect, each read, and the whole transfer.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::config::Primary;
use super::message::{self, WireRecord};
use super::stream::{read_message, Assembler, Received};
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

/// Asks `primary` for `qtype` (SOA, AXFR, or IXFR from `current`) of `zone`.
pub fn ask(
    primary: &Primary,
    zone: &Name,
    qtype: RType,
    current: Option<&WireRecord>,
    limits: &Limits,
) -> Result<Received, String> {
    if let Some(key) = &primary.key {
        // The config refuses keys until TSIG signing is in; this is the
        // one place that will sign the query and verify each answer.
        return Err(format!("TSIG key {key:?} cannot be used: this build does not sign transfers"));
    }
    let started = Instant::now();
    let id = random_id();
    let ours = current.and_then(|soa| soa.soa_serial());
    let query = message::query(id, zone, qtype, current);
    let mut stream =
        TcpStream::connect_timeout(&primary.address, limits.connect).map_err(|e| format!("cannot connect: {e}"))?;
    stream.set_read_timeout(Some(limits.read)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(limits.read)).map_err(|e| e.to_string())?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(&query);
    stream.write_all(&framed).map_err(|e| format!("cannot send the query: {e}"))?;
    let mut assembler = Assembler::new(zone, id, qtype, ours, limits.max_bytes);
    loop {
        if started.elapsed() > limits.total {
            return Err(format!("{qtype} took longer than {:?}", limits.total));
        }
        let msg = read_message(&mut stream).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => format!("{qtype}: the primary closed the connection mid-answer"),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("{qtype}: no answer within {:?}", limits.read)
            }
            _ => format!("{qtype}: {e}"),
        })?;
        if let Some(received) = assembler.push(&msg).map_err(|e| format!("{qtype}: {e}"))? {
            return Ok(received);
        }
    }
}

/// A query ID nobody on the path can guess, from the standard library's
/// per-process random hash keys.
fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u16
}

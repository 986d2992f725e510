//! An AXFR or IXFR answer as a stream of messages (RFC 5936 §2.2, RFC 1995
//! §4): records packed in order into messages of up to [`TARGET`] bytes,
//! each signed when the request was (RFC 8945 §5.3.1: every message, the
//! simplest of what the RFC allows and what every client checks).
//!
//! The records are shared with the journal (`Arc`s), so a stream costs a
//! cursor and one message's buffer, whatever the zone's size.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::server::{MessageStream, Step};
use crate::transfer::journal::{Diff, Plan, Rr, Version};
use crate::tsig::{Key, StreamSigner};
use crate::wire::dns::flags;

/// Records are added to a message while it stays under this size: small
/// enough to keep one message's work short on the TCP thread, large
/// enough that headers and MACs are a small part of the transfer.
pub const TARGET: usize = 16 * 1024;

/// The largest message, TSIG included (the TCP length prefix).
const MAX_MESSAGE: usize = u16::MAX as usize;

/// One run of records: a single one, or a shared list.
#[derive(Debug)]
enum Part {
    One(Rr),
    Version(Arc<Version>),
    List(Arc<Vec<Rr>>),
}

impl Part {
    fn get(&self, i: usize) -> Option<&Rr> {
        match self {
            Part::One(rr) => (i == 0).then_some(rr),
            Part::Version(v) => v.records.get(i),
            Part::List(list) => list.get(i),
        }
    }
}

/// The records of `plan`, in the order they are sent.
fn parts(plan: Plan) -> Vec<Part> {
    match plan {
        Plan::UpToDate(v) => vec![Part::One(v.soa.clone())],
        Plan::Full(v) => vec![Part::One(v.soa.clone()), Part::Version(Arc::clone(&v)), Part::One(v.soa.clone())],
        Plan::Incremental(v, Diff { from, to, removed, added }) => vec![
            Part::One(v.soa.clone()),
            Part::One(from),
            Part::List(Arc::new(removed)),
            Part::One(to),
            Part::List(Arc::new(added)),
            Part::One(v.soa.clone()),
        ],
    }
}

/// Held by each stream under way: the count of transfers the limit is
/// checked against, released when the stream is dropped.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// A slot if fewer than `limit` are taken.
    pub fn take(count: &Arc<AtomicUsize>, limit: usize) -> Option<Slot> {
        count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < limit).then_some(n + 1)).ok()?;
        Some(Slot(Arc::clone(count)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Who the stream goes to, for its log line and its count.
#[derive(Debug, Clone)]
pub struct Peer {
    pub kind: &'static str,
    /// `kind` as the metrics' label: axfr, ixfr, ixfr_as_axfr…
    pub label: &'static str,
    /// Counted once, as the stream ends: served or aborted.
    pub counters: Arc<crate::stats::OutboundCounters>,
    pub zone: String,
    pub serial: u32,
    pub client: IpAddr,
    pub key: Option<String>,
}

pub struct Stream {
    id: u16,
    /// The question as the request had it, echoed in the first message.
    question: Vec<u8>,
    parts: Vec<Part>,
    part: usize,
    index: usize,
    signer: Option<StreamSigner>,
    message: Vec<u8>,
    messages: usize,
    records: usize,
    deadline: Instant,
    peer: Peer,
    finished: bool,
    /// Cut short (too long, a record or MAC that does not fit).
    failed: bool,
    _slot: Slot,
}

impl Stream {
    /// `question` is the request's question section (name, type, class);
    /// `signing` the key and the request's MAC when it was signed.
    pub fn new(
        id: u16,
        question: &[u8],
        plan: Plan,
        signing: Option<(&Key, &[u8])>,
        timeout: Duration,
        peer: Peer,
        slot: Slot,
    ) -> Stream {
        Stream {
            id,
            question: question.to_vec(),
            parts: parts(plan),
            part: 0,
            index: 0,
            signer: signing.map(|(key, mac)| StreamSigner::new(key, mac)),
            message: Vec::with_capacity(TARGET + 512),
            messages: 0,
            records: 0,
            deadline: Instant::now() + timeout,
            peer,
            finished: false,
            failed: false,
            _slot: slot,
        }
    }

    fn next_record(&self) -> Option<&Rr> {
        let mut part = self.part;
        let mut index = self.index;
        loop {
            let p = self.parts.get(part)?;
            if let Some(rr) = p.get(index) {
                return Some(rr);
            }
            part += 1;
            index = 0;
        }
    }

    fn advance(&mut self) {
        loop {
            let Some(p) = self.parts.get(self.part) else { return };
            if p.get(self.index).is_some() {
                self.index += 1;
                return;
            }
            self.part += 1;
            self.index = 0;
        }
    }

    /// The next message in `self.message`; `Ok(false)` when there is none.
    fn build(&mut self) -> Result<bool, &'static str> {
        if self.next_record().is_none() {
            return Ok(false);
        }
        let room = self.signer.as_ref().map_or(0, |s| crate::tsig::record_len(s.key(), 0));
        let first = self.messages == 0;
        self.message.clear();
        self.message.extend_from_slice(&self.id.to_be_bytes());
        self.message.extend_from_slice(&(flags::QR | flags::AA).to_be_bytes());
        self.message.extend_from_slice(&[0, u8::from(first), 0, 0, 0, 0, 0, 0]);
        if first {
            self.message.extend_from_slice(&self.question);
        }
        let mut count: u16 = 0;
        while let Some(rr) = self.next_record() {
            let len = self.message.len() + rr.len();
            let fits = if count == 0 { len + room <= MAX_MESSAGE } else { len <= TARGET && count < u16::MAX };
            if !fits {
                if count == 0 {
                    return Err("a record too large for a message");
                }
                break;
            }
            let rr = Arc::clone(rr);
            self.message.extend_from_slice(&rr);
            count += 1;
            self.advance();
        }
        self.message[6..8].copy_from_slice(&count.to_be_bytes());
        if let Some(signer) = &mut self.signer {
            signer.sign(&mut self.message, crate::tsig::now()).ok_or("the TSIG does not fit")?;
        }
        self.messages += 1;
        self.records += usize::from(count);
        Ok(true)
    }

    /// Writes the next message into `buf`.
    pub fn step(&mut self, buf: &mut [u8]) -> Step {
        if Instant::now() > self.deadline {
            tracing::warn!(zone = %self.peer.zone, client = %self.peer.client, "{} out cut short: it took too long", self.peer.kind);
            self.finished = true;
            self.failed = true;
            return Step::Abort;
        }
        match self.build() {
            Ok(true) => match buf.get_mut(..self.message.len()) {
                Some(dst) => {
                    dst.copy_from_slice(&self.message);
                    Step::Message(self.message.len())
                }
                None => {
                    self.failed = true;
                    Step::Abort
                }
            },
            Ok(false) => {
                if !self.finished {
                    self.finished = true;
                    let p = &self.peer;
                    tracing::info!(
                        "{} out: zone {} serial {} to {}{}: {} records in {} messages",
                        p.kind,
                        p.zone,
                        p.serial,
                        p.client,
                        p.key.as_ref().map(|k| format!(" (key {k})")).unwrap_or_default(),
                        self.records,
                        self.messages
                    );
                }
                Step::Done
            }
            Err(why) => {
                tracing::warn!(zone = %self.peer.zone, client = %self.peer.client, "{} out failed: {why}", self.peer.kind);
                self.finished = true;
                self.failed = true;
                Step::Abort
            }
        }
    }
}

impl MessageStream for Stream {
    fn next(&mut self, buf: &mut [u8]) -> Step {
        self.step(buf)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let complete = self.next_record().is_none();
        if !self.finished && !complete {
            tracing::info!(zone = %self.peer.zone, client = %self.peer.client, "{} out: the connection closed before the end", self.peer.kind);
        }
        // Its last message built: served (over UDP the only one, and the
        // stream ends without a last step).
        let result = if complete && !self.failed { "served" } else { "aborted" };
        self.peer.counters.transfers.add((self.peer.zone.clone(), self.peer.label, result));
    }
}

//! One DNS-over-TCP connection (RFC 7766 framing) as a non-blocking state
//! machine, independent of the event loop so it can be tested with scripted
//! streams.
//!
//! Each message carries a 2-byte big-endian length prefix. Queries are
//! answered in arrival order as soon as they are complete, so pipelined
//! queries are fine. Answers queue in an output buffer; while it holds more
//! than [`OUTPUT_HIGH_WATER`] bytes the connection stops reading, so a client
//! that never reads its answers is throttled by TCP flow control instead of
//! growing our memory, and is closed once idle. A multi-message answer (a
//! zone transfer) is pulled from its [`MessageStream`] a message at a time
//! under the same high-water mark, and no later query is answered before
//! it ends.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::time::Instant;

use super::super::config::TcpLimits;
use super::super::{MessageStream, Session, Step};
use crate::engine::Transport;

const LENGTH_PREFIX: usize = 2;

/// Queued answer bytes above which no more queries are read. With one
/// answer of at most 64 KiB on top, this bounds output per connection.
pub(super) const OUTPUT_HIGH_WATER: usize = 32 * 1024;

/// Initial input room: most queries are far smaller, and a connection that
/// announces a bigger one grows its buffer to that size only.
const INITIAL_INPUT: usize = 512;

/// A byte stream the connection can serve: a socket, or a test double.
pub(super) trait Stream: Read + Write {
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Stream for mio::net::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// Why a connection ended.
#[derive(Debug)]
pub(super) enum Closed {
    /// The client closed its side and has every answer due.
    PeerDone,
    /// The query cap was reached, the answers sent, and the client closed.
    CapReached,
    /// A length prefix of zero or above the size limit: the framing is lost.
    BadLength(usize),
    /// Nothing useful happened for the idle timeout.
    Idle,
    /// The table was full: closed to make room for another client.
    Evicted,
    /// A multi-message answer could not be completed.
    StreamAborted,
    Io(io::Error),
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Closed::PeerDone => f.write_str("client closed"),
            Closed::CapReached => f.write_str("query limit reached"),
            Closed::BadLength(length) => write!(f, "unacceptable length prefix {length}"),
            Closed::Idle => f.write_str("idle"),
            Closed::Evicted => f.write_str("evicted to make room for another client"),
            Closed::StreamAborted => f.write_str("multi-message answer cut short"),
            Closed::Io(error) => write!(f, "{error}"),
        }
    }
}

/// Whether the connection lives on after [`Connection::drive`].
#[derive(Debug)]
pub(super) enum Status {
    Open,
    Closed(Closed),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading queries and writing answers.
    Serving,
    /// Query cap reached, all answers written, FIN sent. Input is read and
    /// discarded until the client closes too: closing with unread input
    /// would send a reset, which can destroy answers not yet delivered.
    Draining,
}

pub(super) struct Connection<S> {
    /// The client's address as the engine's policy takes it (4 or 16
    /// bytes): counted by IP family; rate limiting passes TCP through.
    client: [u8; 16],
    client_len: usize,
    stream: S,
    /// `input[..input_len]` is received and not yet answered.
    input: Vec<u8>,
    input_len: usize,
    /// `output[output_pos..]` is answered and not yet written.
    output: Vec<u8>,
    output_pos: usize,
    queries: usize,
    peer_closed: bool,
    phase: Phase,
    /// Last time a query completed or the answers drained.
    last_progress: Instant,
    /// Client and server addresses, kept only for a capturing session.
    addresses: Option<(SocketAddr, SocketAddr)>,
    /// The rest of a multi-message answer being sent.
    more: Option<Box<dyn MessageStream>>,
}

impl<S: Stream> Connection<S> {
    pub(super) fn new(stream: S, peer: IpAddr, now: Instant) -> Connection<S> {
        let mut client = [0u8; 16];
        let client_len = match peer {
            IpAddr::V4(v4) => {
                client[..4].copy_from_slice(&v4.octets());
                4
            }
            IpAddr::V6(v6) => {
                client.copy_from_slice(&v6.octets());
                16
            }
        };
        Connection {
            stream,
            client,
            client_len,
            input: Vec::new(),
            input_len: 0,
            output: Vec::new(),
            output_pos: 0,
            queries: 0,
            peer_closed: false,
            phase: Phase::Serving,
            last_progress: now,
            addresses: None,
            more: None,
        }
    }

    /// Remembers the connection's client and server addresses, to tell a
    /// capturing session where each query came from.
    pub(super) fn set_addresses(&mut self, client: SocketAddr, server: SocketAddr) {
        self.addresses = Some((client, server));
    }

    pub(super) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The last time a query completed or the answers drained. Bytes
    /// trickling in or out do not count, so stalled or slow-reading
    /// clients expire.
    pub(super) fn last_progress(&self) -> Instant {
        self.last_progress
    }

    /// True if nothing useful has happened for `timeout`.
    #[cfg(test)]
    pub(super) fn is_idle(&self, now: Instant, timeout: std::time::Duration) -> bool {
        now.saturating_duration_since(self.last_progress) >= timeout
    }

    /// Makes all the progress the socket allows without blocking: writes
    /// queued answers, answers complete queries, reads more. `scratch` is
    /// the answer buffer (at least 64 KiB), shared by all connections.
    pub(super) fn drive(
        &mut self,
        session: &mut dyn Session,
        scratch: &mut [u8],
        limits: &TcpLimits,
        now: Instant,
    ) -> Status {
        match self.make_progress(session, scratch, limits, now) {
            Ok(Some(closed)) => Status::Closed(closed),
            Ok(None) => Status::Open,
            Err(error) => Status::Closed(Closed::Io(error)),
        }
    }

    fn make_progress(
        &mut self,
        session: &mut dyn Session,
        scratch: &mut [u8],
        limits: &TcpLimits,
        now: Instant,
    ) -> io::Result<Option<Closed>> {
        if self.phase == Phase::Draining {
            return self.discard_input();
        }
        // Edge-triggered readiness: keep going until the socket would
        // block or there is nothing left we may do.
        loop {
            self.flush(now)?;
            if self.more.is_some() {
                match self.pump(scratch) {
                    Err(closed) => return Ok(Some(closed)),
                    Ok(true) => continue,
                    // Output at its high water: wait for the socket.
                    Ok(false) if self.more.is_some() => break,
                    Ok(false) => {}
                }
            }
            match self.answer_complete_queries(session, scratch, limits, now) {
                Err(closed) => return Ok(Some(closed)),
                // Input was consumed, so this cannot loop for ever; write
                // the fresh answers before reading more.
                Ok(true) => continue,
                Ok(false) => {}
            }
            if !self.wants_input(limits) {
                break;
            }
            self.make_input_room(limits);
            match self.stream.read(&mut self.input[self.input_len..]) {
                Ok(0) => self.peer_closed = true,
                Ok(read) => self.input_len += read,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if self.has_queued_output() || self.more.is_some() {
            return Ok(None);
        }
        if self.peer_closed {
            // A partial query left at end of stream can never complete.
            return Ok(Some(Closed::PeerDone));
        }
        if cap_reached(self.queries, limits) {
            self.stream.shutdown_write()?;
            self.phase = Phase::Draining;
            self.last_progress = now;
            return self.discard_input();
        }
        Ok(None)
    }

    /// Writes queued answers until done or the socket would block.
    fn flush(&mut self, now: Instant) -> io::Result<()> {
        while self.has_queued_output() {
            match self.stream.write(&self.output[self.output_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => self.output_pos += written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if !self.output.is_empty() {
            self.output.clear();
            self.output_pos = 0;
            self.last_progress = now;
        }
        Ok(())
    }

    /// Queues the stream's next messages while output is below its high
    /// water; whether any was queued.
    fn pump(&mut self, scratch: &mut [u8]) -> Result<bool, Closed> {
        let mut queued = false;
        while self.queued_output() < OUTPUT_HIGH_WATER {
            let Some(more) = self.more.as_mut() else { break };
            match more.next(scratch) {
                Step::Message(len) => {
                    self.queue_answer(scratch, len);
                    queued = true;
                }
                Step::Done => self.more = None,
                Step::Abort => {
                    self.more = None;
                    return Err(Closed::StreamAborted);
                }
            }
        }
        Ok(queued)
    }

    /// Answers every complete query in the input, in order, while output
    /// room and the query cap allow. Returns whether any query was taken.
    fn answer_complete_queries(
        &mut self,
        session: &mut dyn Session,
        scratch: &mut [u8],
        limits: &TcpLimits,
        now: Instant,
    ) -> Result<bool, Closed> {
        let mut start = 0;
        while self.more.is_none() && self.queued_output() < OUTPUT_HIGH_WATER && !cap_reached(self.queries, limits) {
            let received = &self.input[start..self.input_len];
            let Some(length) = frame_length(received) else {
                break;
            };
            if length == 0 || length > limits.max_message {
                return Err(Closed::BadLength(length));
            }
            let Some(query) = received.get(LENGTH_PREFIX..LENGTH_PREFIX + length) else {
                break; // not all here yet
            };
            let Some(room) = scratch.get_mut(..length) else {
                return Err(Closed::BadLength(length)); // scratch smaller than the limit: a caller bug
            };
            room.copy_from_slice(query);
            start += LENGTH_PREFIX + length;
            self.queries += 1;
            self.last_progress = now;
            if let Some((client, server)) = self.addresses {
                session.peer(client, server);
            }
            let client = &self.client[..self.client_len];
            if let Some(answer_len) = session.answer(scratch, length, Transport::Tcp, client) {
                self.queue_answer(scratch, answer_len);
            }
            self.more = session.take_stream();
        }
        if start > 0 {
            self.input.copy_within(start..self.input_len, 0);
            self.input_len -= start;
        }
        Ok(start > 0)
    }

    fn queue_answer(&mut self, scratch: &[u8], answer_len: usize) {
        let Some(answer) = scratch.get(..answer_len).filter(|answer| !answer.is_empty()) else {
            return;
        };
        let Ok(prefix) = u16::try_from(answer.len()) else {
            return; // cannot be framed; the answerer broke its contract
        };
        if self.output_pos > 0 {
            self.output.drain(..self.output_pos);
            self.output_pos = 0;
        }
        self.output.extend_from_slice(&prefix.to_be_bytes());
        self.output.extend_from_slice(answer);
    }

    fn wants_input(&self, limits: &TcpLimits) -> bool {
        self.more.is_none()
            && !self.peer_closed
            && !cap_reached(self.queries, limits)
            && self.queued_output() < OUTPUT_HIGH_WATER
    }

    /// Ensures the buffer has room past `input_len`: enough for the whole
    /// frame being received (its length already checked), at least a prefix.
    fn make_input_room(&mut self, limits: &TcpLimits) {
        let pending = &self.input[..self.input_len];
        let frame = frame_length(pending).map_or(LENGTH_PREFIX, |length| LENGTH_PREFIX + length);
        let wanted = frame.max(INITIAL_INPUT).min(LENGTH_PREFIX + limits.max_message).max(self.input_len + 1);
        if self.input.len() < wanted {
            self.input.resize(wanted, 0);
        }
    }

    /// After FIN: swallow whatever the client still sends until it closes.
    fn discard_input(&mut self) -> io::Result<Option<Closed>> {
        let mut sink = [0u8; 512];
        loop {
            match self.stream.read(&mut sink) {
                Ok(0) => return Ok(Some(Closed::CapReached)),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    fn queued_output(&self) -> usize {
        self.output.len() - self.output_pos
    }

    fn has_queued_output(&self) -> bool {
        self.queued_output() > 0
    }
}

fn cap_reached(queries: usize, limits: &TcpLimits) -> bool {
    limits.max_queries_per_connection != 0 && queries >= limits.max_queries_per_connection
}

/// The length prefix at the start of `bytes`, if both its bytes are there.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [high, low, ..] => Some(usize::from(u16::from_be_bytes([*high, *low]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

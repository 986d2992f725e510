//! The connection state machine against scripted streams: every partial
//! read and write, stall and close the event loop could see.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

/// Answers with the query reversed and 'A' appended, so answers differ from
/// queries in content and length and their order is visible.
#[derive(Default)]
struct Reverser {
    calls: AtomicUsize,
}

impl Session for Reverser {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, _client: &[u8]) -> Option<usize> {
        assert_eq!(transport, Transport::Tcp);
        self.calls.fetch_add(1, Ordering::Relaxed);
        if buf[..len].starts_with(b"silent") {
            return None;
        }
        buf[..len].reverse();
        buf[len] = b'A';
        Some(len + 1)
    }
}

fn expected_answer(query: &[u8]) -> Vec<u8> {
    let mut answer: Vec<u8> = query.iter().rev().copied().collect();
    answer.push(b'A');
    frame(&answer)
}

fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    framed
}

enum Incoming {
    Bytes(Vec<u8>),
    Stall,
    Eof,
}

/// A stream that delivers `incoming` one read at a time (a `Stall` is one
/// `WouldBlock`; after the script, everything would block) and accepts at
/// most `write_chunk` bytes per write and `write_budget` in all.
struct Scripted {
    incoming: VecDeque<Incoming>,
    eof: bool,
    written: Vec<u8>,
    write_chunk: usize,
    write_budget: usize,
    write_shut: Cell<bool>,
}

impl Scripted {
    fn new(incoming: impl IntoIterator<Item = Incoming>) -> Scripted {
        Scripted {
            incoming: incoming.into_iter().collect(),
            eof: false,
            written: Vec::new(),
            write_chunk: usize::MAX,
            write_budget: usize::MAX,
            write_shut: Cell::new(false),
        }
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        match self.incoming.pop_front() {
            Some(Incoming::Bytes(mut bytes)) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                if n < bytes.len() {
                    self.incoming.push_front(Incoming::Bytes(bytes.split_off(n)));
                }
                Ok(n)
            }
            Some(Incoming::Eof) => {
                self.eof = true;
                Ok(0)
            }
            Some(Incoming::Stall) | None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        assert!(!self.write_shut.get(), "write after shutdown");
        let n = buf.len().min(self.write_chunk).min(self.write_budget);
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.write_budget -= n;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Scripted {
    fn shutdown_write(&self) -> io::Result<()> {
        self.write_shut.set(true);
        Ok(())
    }
}

struct Harness {
    connection: Connection<Scripted>,
    answerer: Reverser,
    scratch: Vec<u8>,
    limits: TcpLimits,
    start: Instant,
}

impl Harness {
    fn new(stream: Scripted) -> Harness {
        let start = Instant::now();
        Harness {
            connection: Connection::new(stream, std::net::Ipv4Addr::new(198, 18, 0, 2).into(), start),
            answerer: Reverser::default(),
            scratch: vec![0; 65535],
            limits: TcpLimits::default(),
            start,
        }
    }

    fn drive_at(&mut self, after: Duration) -> Status {
        self.connection.drive(&mut self.answerer, &mut self.scratch, &self.limits, self.start + after)
    }

    fn drive(&mut self) -> Status {
        self.drive_at(Duration::ZERO)
    }

    fn stream(&mut self) -> &mut Scripted {
        self.connection.stream_mut()
    }

    fn calls(&self) -> usize {
        self.answerer.calls.load(Ordering::Relaxed)
    }
}

fn assert_open(status: Status) {
    assert!(matches!(status, Status::Open), "expected open, got {status:?}");
}

#[test]
fn answers_a_single_query() {
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(frame(b"hello"))]));
    assert_open(harness.drive());
    assert_eq!(harness.stream().written, expected_answer(b"hello"));
}

#[test]
fn answers_pipelined_queries_in_order() {
    let queries: [&[u8]; 3] = [b"first", b"second!", b"3"];
    let all: Vec<u8> = queries.iter().flat_map(|q| frame(q)).collect();
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(all)]));
    assert_open(harness.drive());
    let expected: Vec<u8> = queries.iter().flat_map(|q| expected_answer(q)).collect();
    assert_eq!(harness.stream().written, expected);
}

#[test]
fn assembles_a_query_from_one_byte_reads_across_events() {
    let bytes = frame(b"split query");
    let mut harness = Harness::new(Scripted::new([]));
    for (index, byte) in bytes.iter().enumerate() {
        assert!(harness.stream().written.is_empty(), "answered early, after {index} bytes");
        harness.stream().incoming.push_back(Incoming::Bytes(vec![*byte]));
        assert_open(harness.drive());
    }
    assert_eq!(harness.stream().written, expected_answer(b"split query"));
    assert_eq!(harness.calls(), 1);
}

#[test]
fn query_larger_than_the_initial_buffer_is_received_whole() {
    let query = vec![0x5a; 3000];
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(frame(&query))]));
    assert_open(harness.drive());
    assert_eq!(harness.stream().written, expected_answer(&query));
}

#[test]
fn writes_answers_across_partial_writes() {
    let mut stream = Scripted::new([Incoming::Bytes(frame(b"abc")), Incoming::Bytes(frame(b"defg"))]);
    stream.write_chunk = 1;
    let mut harness = Harness::new(stream);
    assert_open(harness.drive());
    let expected = [expected_answer(b"abc"), expected_answer(b"defg")].concat();
    assert_eq!(harness.stream().written, expected);
}

#[test]
fn resumes_writing_when_the_socket_drains() {
    let mut stream = Scripted::new([Incoming::Bytes(frame(b"abcdef"))]);
    stream.write_budget = 3;
    let mut harness = Harness::new(stream);
    assert_open(harness.drive());
    assert_eq!(harness.stream().written.len(), 3);
    harness.stream().write_budget = usize::MAX; // a writable event
    assert_open(harness.drive());
    assert_eq!(harness.stream().written, expected_answer(b"abcdef"));
}

#[test]
fn client_that_never_reads_is_throttled_not_buffered() {
    let query = vec![1u8; 1000];
    let queries = 200; // 200 KB of answers, far above the high-water mark
    let all: Vec<u8> = (0..queries).flat_map(|_| frame(&query)).collect();
    let mut stream = Scripted::new([Incoming::Bytes(all)]);
    stream.write_budget = 0;
    let mut harness = Harness::new(stream);
    assert_open(harness.drive());
    assert!(harness.connection.queued_output() < OUTPUT_HIGH_WATER + 65537);
    assert!(harness.calls() < queries, "stopped answering under backpressure");

    // Once the client reads, everything is answered, in order.
    harness.stream().write_budget = usize::MAX;
    for _ in 0..queries {
        assert_open(harness.drive());
    }
    assert_eq!(harness.calls(), queries);
    let expected: Vec<u8> = (0..queries).flat_map(|_| expected_answer(&query)).collect();
    assert!(harness.stream().written == expected, "answers lost or reordered");
}

#[test]
fn zero_length_prefix_closes() {
    let stream = Scripted::new([Incoming::Bytes(vec![0, 0, 1, 2, 3])]);
    let mut harness = Harness::new(stream);
    assert!(matches!(harness.drive(), Status::Closed(Closed::BadLength(0))));
    assert_eq!(harness.calls(), 0);
}

#[test]
fn length_prefix_above_the_limit_closes_before_the_body_arrives() {
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(vec![0x01, 0x00])]));
    harness.limits.max_message = 255;
    assert!(matches!(harness.drive(), Status::Closed(Closed::BadLength(256))));
}

#[test]
fn query_at_the_limit_is_answered() {
    let query = vec![9u8; 255];
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(frame(&query))]));
    harness.limits.max_message = 255;
    assert_open(harness.drive());
    assert_eq!(harness.stream().written, expected_answer(&query));
}

#[test]
fn unanswered_query_leaves_the_connection_usable() {
    let stream =
        Scripted::new([Incoming::Bytes(frame(b"silent please")), Incoming::Stall, Incoming::Bytes(frame(b"next"))]);
    let mut harness = Harness::new(stream);
    assert_open(harness.drive());
    assert!(harness.stream().written.is_empty());
    assert_open(harness.drive());
    assert_eq!(harness.stream().written, expected_answer(b"next"));
    assert_eq!(harness.calls(), 2);
}

#[test]
fn half_close_gets_every_answer_then_closes() {
    let stream = Scripted::new([Incoming::Bytes([frame(b"one"), frame(b"two")].concat()), Incoming::Eof]);
    let mut harness = Harness::new(stream);
    assert!(matches!(harness.drive(), Status::Closed(Closed::PeerDone)));
    assert_eq!(harness.stream().written, [expected_answer(b"one"), expected_answer(b"two")].concat());
    assert!(!harness.stream().write_shut.get(), "the socket's close sends FIN; no shutdown needed");
}

#[test]
fn half_close_waits_for_blocked_answers() {
    let mut stream = Scripted::new([Incoming::Bytes(frame(b"one")), Incoming::Eof]);
    stream.write_budget = 0;
    let mut harness = Harness::new(stream);
    assert_open(harness.drive());
    harness.stream().write_budget = usize::MAX;
    assert!(matches!(harness.drive(), Status::Closed(Closed::PeerDone)));
    assert_eq!(harness.stream().written, expected_answer(b"one"));
}

#[test]
fn partial_query_at_end_of_stream_is_dropped() {
    let mut partial = frame(b"complete me");
    partial.truncate(5);
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(partial), Incoming::Eof]));
    assert!(matches!(harness.drive(), Status::Closed(Closed::PeerDone)));
    assert_eq!(harness.calls(), 0);
    assert!(harness.stream().written.is_empty());
}

#[test]
fn query_cap_answers_that_many_then_drains_until_the_client_closes() {
    let all = [frame(b"q1"), frame(b"q2"), frame(b"q3")].concat();
    let mut harness =
        Harness::new(Scripted::new([Incoming::Bytes(all), Incoming::Stall, Incoming::Bytes(b"more".to_vec())]));
    harness.limits.max_queries_per_connection = 2;
    assert_open(harness.drive());
    assert_eq!(harness.connection.phase, Phase::Draining);
    assert!(harness.stream().write_shut.get(), "FIN sent after the last answer");
    assert_eq!(harness.stream().written, [expected_answer(b"q1"), expected_answer(b"q2")].concat());
    assert_open(harness.drive()); // swallows "more"
    harness.stream().incoming.push_back(Incoming::Eof);
    assert!(matches!(harness.drive(), Status::Closed(Closed::CapReached)));
    assert_eq!(harness.calls(), 2);
}

#[test]
fn idle_is_measured_from_the_last_complete_query_not_from_trickled_bytes() {
    let timeout = Duration::from_secs(10);
    let mut harness = Harness::new(Scripted::new([Incoming::Bytes(frame(b"done"))]));
    assert_open(harness.drive_at(Duration::from_secs(5)));
    assert!(!harness.connection.is_idle(harness.start + Duration::from_secs(14), timeout));
    assert!(harness.connection.is_idle(harness.start + Duration::from_secs(15), timeout));

    // A length prefix and a trickle of body bytes do not keep it alive.
    let mut harness = Harness::new(Scripted::new([]));
    for (second, byte) in [0x00, 0x20, b'x', b'y'].into_iter().enumerate() {
        harness.stream().incoming.push_back(Incoming::Bytes(vec![byte]));
        assert_open(harness.drive_at(Duration::from_secs(3 * second as u64)));
    }
    assert!(harness.connection.is_idle(harness.start + timeout, timeout));
}

/// Answers "xfr" with message 0 and a stream of `count` more messages of
/// `size` bytes each (byte value = message number), ending with `end`;
/// anything else as the [`Reverser`] does.
struct Streamer {
    count: u8,
    size: usize,
    end: Step,
    pending: Option<Box<dyn MessageStream>>,
    reverser: Reverser,
}

struct Messages {
    next: u8,
    count: u8,
    size: usize,
    end: Step,
}

impl MessageStream for Messages {
    fn next(&mut self, buf: &mut [u8]) -> Step {
        if self.next > self.count {
            return self.end;
        }
        buf[..self.size].fill(self.next);
        self.next += 1;
        Step::Message(self.size)
    }
}

impl Session for Streamer {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize> {
        if &buf[..len] != b"xfr" {
            return self.reverser.answer(buf, len, transport, client);
        }
        self.pending = Some(Box::new(Messages { next: 1, count: self.count, size: self.size, end: self.end }));
        buf[..self.size].fill(0);
        Some(self.size)
    }

    fn take_stream(&mut self) -> Option<Box<dyn MessageStream>> {
        self.pending.take()
    }
}

#[test]
fn a_stream_is_sent_as_the_client_reads_and_later_queries_wait_for_its_end() {
    let size = 10_000;
    let queries = [frame(b"xfr"), frame(b"after")].concat();
    let mut stream = Scripted::new([Incoming::Bytes(queries)]);
    stream.write_budget = 5_000;
    let mut connection = Connection::new(stream, std::net::Ipv4Addr::new(198, 18, 0, 2).into(), Instant::now());
    let mut session = Streamer { count: 20, size, end: Step::Done, pending: None, reverser: Reverser::default() };
    let mut scratch = vec![0; 65535];
    let limits = TcpLimits::default();
    assert_open(connection.drive(&mut session, &mut scratch, &limits, Instant::now()));
    // A slow reader: only what the high water allows is made, not the zone.
    assert!(connection.queued_output() <= OUTPUT_HIGH_WATER + size + 2, "{}", connection.queued_output());
    assert_eq!(session.reverser.calls.load(Ordering::Relaxed), 0, "the next query waits");
    for _ in 0..100 {
        connection.stream_mut().write_budget = 7_000;
        assert_open(connection.drive(&mut session, &mut scratch, &limits, Instant::now()));
    }
    let written = &connection.stream_mut().written;
    let mut expected = Vec::new();
    for n in 0..=20u8 {
        expected.extend_from_slice(&frame(&vec![n; size]));
    }
    expected.extend_from_slice(&expected_answer(b"after"));
    assert_eq!(written.len(), expected.len());
    assert!(written == &expected, "every message in order, then the next answer");
}

#[test]
fn an_aborted_stream_closes_the_connection() {
    let mut stream = Scripted::new([Incoming::Bytes(frame(b"xfr"))]);
    stream.write_budget = usize::MAX;
    let mut connection = Connection::new(stream, std::net::Ipv4Addr::new(198, 18, 0, 2).into(), Instant::now());
    let mut session = Streamer { count: 2, size: 100, end: Step::Abort, pending: None, reverser: Reverser::default() };
    let mut scratch = vec![0; 65535];
    let status = connection.drive(&mut session, &mut scratch, &TcpLimits::default(), Instant::now());
    assert!(matches!(status, Status::Closed(Closed::StreamAborted)), "{status:?}");
}

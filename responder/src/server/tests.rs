//! The whole server over loopback sockets with a fake answerer.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// Never wait longer than this for anything, so a broken server fails the
/// test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(5);

/// Queries with this ID get no answer.
const SILENT_ID: u16 = 0xdead;

/// Echoes the query with the QR bit set and one byte naming the transport
/// appended; records the threads that answered.
#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
    /// Queries announced through `Session::prefetch` before their batch.
    prefetched: AtomicUsize,
    threads: Mutex<HashSet<thread::ThreadId>>,
}

/// Every thread's session answers through the one shared `Echo`.
struct EchoSession(Arc<Echo>);

impl Answerer for Arc<Echo> {
    fn session(&self, _: Transport) -> Box<dyn Session> {
        Box::new(EchoSession(Arc::clone(self)))
    }
}

impl Session for EchoSession {
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, _client: &[u8]) -> Option<usize> {
        self.0.answer(buf, len, transport)
    }

    fn prefetch(&mut self, _query: &[u8]) {
        self.0.prefetched.fetch_add(1, Ordering::Relaxed);
    }
}

impl Echo {
    fn answer(&self, buf: &mut [u8], len: usize, transport: Transport) -> Option<usize> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.threads.lock().unwrap().insert(thread::current().id());
        if len < 12 || buf[..2] == SILENT_ID.to_be_bytes() {
            return None;
        }
        buf[2] |= 0x80;
        buf[len] = transport_mark(transport);
        Some(len + 1)
    }
}

fn transport_mark(transport: Transport) -> u8 {
    match transport {
        Transport::Udp => b'U',
        Transport::Tcp => b'T',
    }
}

fn query(id: u16) -> Vec<u8> {
    let mut query = id.to_be_bytes().to_vec();
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    query.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
    query
}

fn answer_to(query: &[u8], transport: Transport) -> Vec<u8> {
    let mut answer = query.to_vec();
    answer[2] |= 0x80;
    answer.push(transport_mark(transport));
    answer
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    framed
}

fn listen_on(listen: &[&str]) -> ServerConfig {
    let mut config = ServerConfig::new(listen.iter().map(|addr| addr.parse().unwrap()).collect());
    config.udp_workers = 2;
    config
}

fn start(config: ServerConfig) -> (Server, Arc<Echo>) {
    let echo = Arc::new(Echo::default());
    let server = Server::start(config, Arc::new(Arc::clone(&echo)) as Arc<dyn Answerer>).expect("server starts");
    (server, echo)
}

fn udp_client(server: SocketAddr) -> UdpSocket {
    let local: SocketAddr = if server.is_ipv6() { "[::1]:0" } else { "127.0.0.1:0" }.parse().unwrap();
    let client = UdpSocket::bind(local).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    client.connect(server).unwrap();
    client
}

fn tcp_client(server: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&server, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).expect("length prefix");
    let mut message = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut message).expect("message");
    message
}

/// True if the server closed the connection (end of stream or reset)
/// before `PATIENCE` ran out.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => matches!(error.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted),
    }
}

#[test]
fn udp_round_trips_on_ipv4_and_ipv6_across_several_workers() {
    let mut config = listen_on(&["127.0.0.1:0", "[::1]:0"]);
    config.udp_workers = 3;
    let (server, echo) = start(config);
    for &addr in server.local_addrs() {
        assert_ne!(addr.port(), 0);
        // Many client ports, so the kernel's flow hash spreads them.
        for id in 0..24u16 {
            let client = udp_client(addr);
            let query = query(id);
            client.send(&query).unwrap();
            let mut answer = [0u8; 512];
            let len = client.recv(&mut answer).expect("UDP answer");
            assert_eq!(answer[..len], answer_to(&query, Transport::Udp), "{addr} id {id}");
        }
    }
    let workers = echo.threads.lock().unwrap().len();
    assert!(workers > 1, "all 48 flows went to {workers} worker(s) of 6");
    server.shutdown();
}

#[test]
fn udp_worker_survives_silence_and_vanished_clients() {
    let (server, echo) = start(listen_on(&["127.0.0.1:0"]));
    let addr = server.local_addrs()[0];

    let silent = udp_client(addr);
    silent.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    silent.send(&query(SILENT_ID)).unwrap();
    let mut buf = [0u8; 512];
    let error = silent.recv(&mut buf).expect_err("no answer to a silent query");
    assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{error}");

    // Answers to closed ports draw ICMP errors; workers must carry on.
    for id in 0..8 {
        udp_client(addr).send(&query(id)).unwrap();
    }
    let client = udp_client(addr);
    client.send(&query(99)).unwrap();
    let len = client.recv(&mut buf).expect("still answering");
    assert_eq!(buf[..len], answer_to(&query(99), Transport::Udp));
    assert!(echo.calls.load(Ordering::Relaxed) >= 2);
}

/// More queries than several batches hold, sent without waiting: every
/// one answered, in order, each announced for prefetching first; busy
/// polling asked for, which works or only warns (no CAP_NET_ADMIN).
#[test]
fn udp_burst_over_several_batches_is_answered_in_order_with_busy_poll_asked() {
    let mut config = listen_on(&["127.0.0.1:0", "[::1]:0"]);
    config.udp_workers = 1;
    config.busy_poll_usecs = Some(50);
    let (server, echo) = start(config);
    let mut buf = [0u8; 512];
    for &addr in server.local_addrs() {
        let client = udp_client(addr);
        for id in 0..100 {
            client.send(&query(id)).unwrap();
        }
        for id in 0..100 {
            let len = client.recv(&mut buf).expect("answered");
            assert_eq!(buf[..len], answer_to(&query(id), Transport::Udp), "in order");
        }
    }
    assert_eq!(echo.calls.load(Ordering::Relaxed), 200);
    assert_eq!(echo.prefetched.load(Ordering::Relaxed), 200);
}

#[test]
fn tcp_answers_a_single_query_on_ipv4_and_ipv6() {
    let (server, _) = start(listen_on(&["127.0.0.1:0", "[::1]:0"]));
    for &addr in server.local_addrs() {
        let mut stream = tcp_client(addr);
        stream.write_all(&framed(&query(7))).unwrap();
        assert_eq!(read_framed(&mut stream), answer_to(&query(7), Transport::Tcp), "{addr}");
    }
}

#[test]
fn tcp_answers_pipelined_queries_from_one_write_in_order() {
    let (server, _) = start(listen_on(&["127.0.0.1:0"]));
    let mut stream = tcp_client(server.local_addrs()[0]);
    let batch: Vec<u8> = (0..50).flat_map(|id| framed(&query(id))).collect();
    stream.write_all(&batch).unwrap();
    for id in 0..50 {
        assert_eq!(read_framed(&mut stream), answer_to(&query(id), Transport::Tcp), "answer {id}");
    }
}

#[test]
fn tcp_assembles_a_query_sent_one_byte_at_a_time() {
    let (server, echo) = start(listen_on(&["127.0.0.1:0"]));
    let mut stream = tcp_client(server.local_addrs()[0]);
    for byte in framed(&query(3)) {
        stream.write_all(&[byte]).unwrap();
        thread::sleep(Duration::from_millis(1)); // one segment per byte
    }
    assert_eq!(read_framed(&mut stream), answer_to(&query(3), Transport::Tcp));
    assert_eq!(echo.calls.load(Ordering::Relaxed), 1);
}

#[test]
fn tcp_serves_interleaved_connections_independently() {
    let (server, _) = start(listen_on(&["127.0.0.1:0"]));
    let addr = server.local_addrs()[0];
    let (mut slow, mut quick) = (tcp_client(addr), tcp_client(addr));
    let slow_query = framed(&query(1));
    slow.write_all(&slow_query[..5]).unwrap();
    quick.write_all(&framed(&query(2))).unwrap();
    assert_eq!(read_framed(&mut quick), answer_to(&query(2), Transport::Tcp));
    slow.write_all(&slow_query[5..]).unwrap();
    assert_eq!(read_framed(&mut slow), answer_to(&query(1), Transport::Tcp));
}

#[test]
fn tcp_half_close_still_gets_every_answer() {
    let (server, _) = start(listen_on(&["127.0.0.1:0"]));
    let mut stream = tcp_client(server.local_addrs()[0]);
    stream.write_all(&[framed(&query(1)), framed(&query(2))].concat()).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_framed(&mut stream), answer_to(&query(1), Transport::Tcp));
    assert_eq!(read_framed(&mut stream), answer_to(&query(2), Transport::Tcp));
    assert!(closed_by_server(&mut stream));
}

#[test]
fn tcp_idle_and_stalled_connections_are_closed_after_the_timeout() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.idle_timeout = Duration::from_millis(200);
    let (server, _) = start(config);
    let addr = server.local_addrs()[0];

    let mut used = tcp_client(addr);
    used.write_all(&framed(&query(1))).unwrap();
    read_framed(&mut used);
    let mut silent = tcp_client(addr);
    let mut stalled = tcp_client(addr);
    stalled.write_all(&[0x00, 0x40, 0x01]).unwrap(); // a prefix, then nothing

    let since = Instant::now();
    for (name, stream) in [("used", &mut used), ("silent", &mut silent), ("stalled", &mut stalled)] {
        assert!(closed_by_server(stream), "{name} connection left open");
    }
    let waited = since.elapsed();
    assert!(waited >= Duration::from_millis(150), "closed too early: {waited:?}");
    assert!(waited < Duration::from_secs(2), "closed too late: {waited:?}");
}

#[test]
fn tcp_connection_limit_turns_away_the_extra_connection() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.max_connections = 2;
    let (server, _) = start(config);
    let addr = server.local_addrs()[0];

    let mut held = [tcp_client(addr), tcp_client(addr)];
    for stream in &mut held {
        stream.write_all(&framed(&query(1))).unwrap();
        assert_eq!(read_framed(stream), answer_to(&query(1), Transport::Tcp));
    }
    let mut extra = tcp_client(addr);
    assert!(closed_by_server(&mut extra), "third connection served");
    // Its client holds the most already: refused, not given another's slot.
    let counters = tcp_counters_when(&server, |c| c.refused_full >= 1);
    assert_eq!((counters.accepted, counters.refused_full, counters.evicted), (2, 1, 0));

    // Freeing a slot lets a new client in (once the server sees the close).
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut stream = tcp_client(addr);
        stream.write_all(&framed(&query(9))).unwrap();
        let mut prefix = [0u8; 2];
        if stream.read_exact(&mut prefix).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn tcp_zero_or_oversized_length_prefix_closes_the_connection() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.max_message = 512;
    let (server, echo) = start(config);
    let addr = server.local_addrs()[0];

    let mut zero = tcp_client(addr);
    zero.write_all(&[0, 0]).unwrap();
    assert!(closed_by_server(&mut zero), "zero length accepted");

    let mut oversized = tcp_client(addr);
    oversized.write_all(&513u16.to_be_bytes()).unwrap();
    assert!(closed_by_server(&mut oversized), "oversized length accepted");
    assert_eq!(echo.calls.load(Ordering::Relaxed), 0);
}

#[test]
fn tcp_query_cap_answers_that_many_then_closes() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.max_queries_per_connection = 2;
    let (server, _) = start(config);
    let mut stream = tcp_client(server.local_addrs()[0]);
    stream.write_all(&(1..=3).flat_map(|id| framed(&query(id))).collect::<Vec<_>>()).unwrap();
    assert_eq!(read_framed(&mut stream), answer_to(&query(1), Transport::Tcp));
    assert_eq!(read_framed(&mut stream), answer_to(&query(2), Transport::Tcp));
    assert!(closed_by_server(&mut stream), "third query answered");
}

#[test]
fn tcp_unanswered_query_leaves_the_connection_usable() {
    let (server, echo) = start(listen_on(&["127.0.0.1:0"]));
    let mut stream = tcp_client(server.local_addrs()[0]);
    stream.write_all(&[framed(&query(SILENT_ID)), framed(&query(5))].concat()).unwrap();
    assert_eq!(read_framed(&mut stream), answer_to(&query(5), Transport::Tcp));
    assert_eq!(echo.calls.load(Ordering::Relaxed), 2);
}

#[test]
fn shutdown_is_prompt_and_releases_the_ports() {
    let mut config = listen_on(&["127.0.0.1:0", "[::1]:0"]);
    config.udp_workers = 4;
    let (server, _) = start(config);
    let addrs = server.local_addrs().to_vec();
    let mut open = tcp_client(addrs[0]);
    open.write_all(&[0x00]).unwrap(); // a connection mid-query

    thread::sleep(Duration::from_millis(50)); // let every thread block
    let since = Instant::now();
    server.shutdown();
    let took = since.elapsed();
    assert!(took < Duration::from_millis(100), "shutdown took {took:?}");
    assert!(closed_by_server(&mut open));
    for addr in addrs {
        UdpSocket::bind(addr).expect("UDP port released");
        TcpListener::bind(addr).expect("TCP port released");
    }
}

#[test]
fn address_in_use_fails_start_clearly_and_leaves_nothing_bound() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let free_addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();

    let config = listen_on(&[&free_addr.to_string(), &taken_addr.to_string()]);
    let error = Server::start(config, Arc::new(Arc::new(Echo::default()))).err().expect("start fails");
    assert_eq!(error.kind(), ErrorKind::AddrInUse);
    let message = error.to_string();
    assert!(message.contains(&format!("UDP {taken_addr}")), "{message}");

    // The first address was bound before the second failed; it must be free.
    let (server, _) = start(listen_on(&[&free_addr.to_string()]));
    assert_eq!(server.local_addrs(), [free_addr]);
}

#[test]
fn invalid_configuration_is_rejected_before_binding() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.udp_workers = 0;
    let error = Server::start(config, Arc::new(Arc::new(Echo::default()))).err().expect("start fails");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

// --- TCP fairness: one client must not hold every slot ---

/// A TCP connection from `source`, a loopback address standing for a
/// client other than 127.0.0.1 (all of 127/8 is local on Linux).
fn tcp_client_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(source.parse().unwrap(), 0).into()).unwrap();
    socket.connect_timeout(&server.into(), PATIENCE).unwrap();
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// One client holding as many connections as the server lets it, each
/// kept alive by queries from a thread until the flood is dropped.
struct Flood {
    /// Connections the server kept (answered their first query).
    held: usize,
    stop: Arc<AtomicBool>,
    trickle: Option<thread::JoinHandle<()>>,
}

impl Flood {
    /// Opens `count` connections from `source`, one query on each; then a
    /// thread sends one query on a kept connection every `gap`, in turn,
    /// pausing `round_pause` after each round.
    fn start(server: SocketAddr, source: &str, count: usize, gap: Duration, round_pause: Duration) -> Flood {
        let mut held = Vec::new();
        for id in 0..count {
            let mut stream = tcp_client_from(source, server);
            let query = framed(&query(id as u16));
            let mut prefix = [0u8; 2];
            // Refused connections are closed at once: end of stream or reset.
            if stream.write_all(&query).is_ok() && stream.read_exact(&mut prefix).is_ok() {
                let mut answer = vec![0; usize::from(u16::from_be_bytes(prefix))];
                stream.read_exact(&mut answer).unwrap();
                stream.set_nonblocking(true).unwrap();
                held.push(stream);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let held_count = held.len();
        let trickle = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let query = framed(&query(0x7e57));
                while !stop.load(Ordering::Relaxed) {
                    for stream in &mut held {
                        // Answers are never read; a closed or full socket just fails.
                        let _ = stream.write(&query);
                        thread::sleep(gap);
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                    }
                    thread::sleep(round_pause);
                }
            })
        };
        Flood { held: held_count, stop, trickle: Some(trickle) }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(trickle) = self.trickle.take() {
            trickle.join().unwrap(); // its connections close with it
        }
    }
}

/// The TCP table's counters once `settled` holds for them (they are
/// published after each batch of events), or as they are after `PATIENCE`.
fn tcp_counters_when(
    server: &Server,
    settled: impl Fn(&crate::stats::TcpCounters) -> bool,
) -> crate::stats::TcpCounters {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let counters = server.tcp_connection_counters().snapshot();
        if settled(&counters) || Instant::now() >= deadline {
            return counters;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A connection from another client, timed from connect to its answer.
fn served_from(source: &str, server: SocketAddr) -> Duration {
    let since = Instant::now();
    let mut stream = tcp_client_from(source, server);
    stream.write_all(&framed(&query(42))).unwrap();
    assert_eq!(read_framed(&mut stream), answer_to(&query(42), Transport::Tcp));
    since.elapsed()
}

#[test]
fn tcp_one_client_with_1100_connections_leaves_another_client_served_within_1s() {
    // Default limits: 1024 connections, 32 per client.
    let (server, _) = start(listen_on(&["127.0.0.1:0"]));
    let addr = server.local_addrs()[0];
    // About 200 queries a second, as the attack that held every slot.
    let flood = Flood::start(addr, "127.0.0.2", 1100, Duration::from_millis(5), Duration::ZERO);
    assert_eq!(flood.held, 32, "the client holds its share, no more");

    let took = served_from("127.0.0.3", addr);
    assert!(took < Duration::from_secs(1), "second client waited {took:?}");
    let counters = tcp_counters_when(&server, |c| c.accepted + c.refused_client_limit >= 1101);
    assert_eq!((counters.accepted, counters.refused_client_limit, counters.evicted), (33, 1068, 0));
    drop(flood);
}

#[test]
fn tcp_full_table_makes_room_for_a_newcomer_by_closing_the_busiest_clients_connection() {
    // One client may take the whole table (as many clients behind one
    // NAT address might): it fills it and keeps every connection busy.
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.max_connections_per_client = config.tcp.max_connections;
    let (server, _) = start(config);
    let addr = server.local_addrs()[0];
    let flood = Flood::start(addr, "127.0.0.2", 1100, Duration::ZERO, Duration::from_millis(200));
    assert_eq!(flood.held, 1024);
    let counters = tcp_counters_when(&server, |c| c.accepted + c.refused_client_limit >= 1100);
    assert_eq!((counters.accepted, counters.refused_client_limit), (1024, 76), "{counters:?}");

    let took = served_from("127.0.0.3", addr);
    assert!(took < Duration::from_secs(1), "newcomer waited {took:?}");
    let counters = tcp_counters_when(&server, |c| c.accepted >= 1025);
    assert_eq!((counters.accepted, counters.evicted, counters.closed_idle), (1025, 1, 0), "{counters:?}");
    drop(flood);
}

#[test]
fn tcp_idle_timeout_shrinks_when_the_table_is_full() {
    let mut config = listen_on(&["127.0.0.1:0"]);
    config.tcp.max_connections = 8;
    config.tcp.max_connections_per_client = 8;
    config.tcp.idle_timeout = Duration::from_secs(60);
    let (server, _) = start(config);
    let addr = server.local_addrs()[0];
    let mut silent: Vec<TcpStream> = (0..8).map(|_| tcp_client(addr)).collect();
    let since = Instant::now();
    // Full: the timeout is 1 s, and closing one brings it back up (7 of 8
    // open: 60 s - 59 s * 3/4), so exactly one goes, long before 60 s.
    assert!(closed_by_server(&mut silent[0]), "oldest idle connection kept at a full table");
    let waited = since.elapsed();
    assert!(waited >= Duration::from_millis(900), "closed too early: {waited:?}");
    thread::sleep(Duration::from_millis(500));
    for (index, stream) in silent.iter_mut().enumerate().skip(1) {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let still_open = matches!(stream.read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
        assert!(still_open, "connection {index} closed too: the timeout did not grow back");
    }
    let counters = tcp_counters_when(&server, |c| c.closed_idle >= 1);
    assert_eq!((counters.closed_idle, counters.open), (1, 7));
}

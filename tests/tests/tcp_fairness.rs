//! `responder serve` as a process on loopback: one client opening more TCP
//! connections than its share is turned away, another is served, and the
//! refusals show in `ctl stats` and the log (the flag and counters wired
//! end to end; `responder/src/server/tests.rs` has the 1,100-connection case).
//!
//! Loopback only, no root needed. Two clients without binding source
//! addresses: 127.0.0.1 and ::1 (a different /64) count separately.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use responder_tests::dns::{self, rtype, Question, NOERROR};
use responder_tests::responder::{self, workspace_root, Server};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(5);

fn soa_query() -> Vec<u8> {
    Question::new("example.com.", rtype::SOA).to_wire().unwrap()
}

/// A connection that got an answer to its first query, or None if the
/// server closed it unanswered.
fn held_connection(server: SocketAddr, query: &[u8]) -> Option<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&server, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    let mut prefix = [0u8; 2];
    stream.write_all(&framed).ok()?;
    stream.read_exact(&mut prefix).ok()?;
    let mut answer = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(dns::Reply::decode(&answer).unwrap().rcode, NOERROR);
    Some(stream)
}

fn tcp_connections(socket: &Path) -> Value {
    let out = responder::run(&["ctl", "--socket", &socket.display().to_string(), "stats"]).unwrap();
    assert!(out.status.success(), "ctl stats: {}", String::from_utf8_lossy(&out.stderr));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    stats["tcp_connections"].clone()
}

#[test]
fn a_client_over_its_tcp_share_is_turned_away_counted_and_logged_while_another_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let zone = workspace_root().join("zones/example.com.zone");
    let server = Server::start(&[
        "--zone",
        &zone.display().to_string(),
        "--tcp-max-connections-per-client",
        "4",
        "--control-socket",
        &socket.display().to_string(),
    ])
    .unwrap_or_else(|e| panic!("cannot start responder: {e}"));

    let query = soa_query();
    let held: Vec<TcpStream> = (0..10).filter_map(|_| held_connection(server.v4, &query)).collect();
    assert_eq!(held.len(), 4, "127.0.0.1 holds its share of 4, no more");

    let since = Instant::now();
    let answer = dns::tcp_exchange(server.v6, &query, PATIENCE).expect("::1 is another client: served");
    assert_eq!(dns::Reply::decode(&answer).unwrap().rcode, NOERROR);
    assert!(since.elapsed() < Duration::from_secs(1), "::1 waited {:?}", since.elapsed());

    let counters = tcp_connections(&socket);
    assert_eq!(counters["refused_client_limit"], 6, "{counters}");
    assert_eq!(counters["accepted"], 5, "{counters}");
    assert_eq!(counters["evicted"], 0, "{counters}");
    let log = server.daemon.log();
    let lines = log.lines().filter(|line| line.contains("TCP connections turned away")).count();
    assert_eq!(lines, 1, "one rate-limited line for six refusals:\n{log}");
    drop(held);
}

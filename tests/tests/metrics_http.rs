//! The metrics listener of `responder serve` as a process on loopback: a
//! scrape is answered at once while 50 idle and 10 slow-dripping clients
//! are held; `/healthz` and `/readyz`; the exposition parses with an
//! independent Prometheus parser and its counters move by the queries sent.
//!
//! Loopback and a temporary directory only, no root needed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use responder_tests::responder::{workspace_root, Server};

fn zone() -> String {
    workspace_root().join("zones/example.com.zone").display().to_string()
}

fn serve() -> (Server, SocketAddr) {
    let server = Server::start(&["--zone", &zone(), "--metrics", "127.0.0.1:0"]).unwrap();
    let addr = metrics_addr(&server);
    (server, addr)
}

/// The metrics address from the server's ready line (it was given port 0).
fn metrics_addr(server: &Server) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.daemon.log();
        if let Some(rest) = log.split("metrics http://").nth(1) {
            return rest.split('/').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no metrics address in the ready line:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The status line and the body of `GET path`.
fn get(addr: SocketAddr, path: &str, accept: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not HTTP: {response}"));
    (head.to_owned(), body.to_owned())
}

#[test]
fn a_scrape_answers_within_a_second_while_50_idle_and_10_dripping_clients_are_held() {
    let (mut server, addr) = serve();
    let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut drips: Vec<TcpStream> = (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for round in 0..3 {
        for drip in &mut drips {
            drip.write_all(b"G").unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let (head, body) = get(addr, "/metrics", "*/*");
        let took = started.elapsed();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "round {round}: {head}");
        assert!(body.contains("responder_zone_serial{zone=\"example.com.\"} 2024060101"), "{body}");
        assert!(took < Duration::from_secs(1), "round {round}: the scrape took {took:?}");
    }
    assert!(server.daemon.exited().is_none(), "the server stopped:\n{}", server.daemon.log());
    drop(idle);
}

//! The control socket and the metrics endpoint of `responder serve` as a
//! process on loopback: what is at the control socket's path is never
//! destroyed, a live server's socket is never taken, and idle or
//! slow-dripping clients delay neither `ctl stats` nor a scrape.
//!
//! Loopback and a temporary directory only, no root needed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use responder_tests::responder::{self, free_port, workspace_root, Server};

fn zone() -> String {
    workspace_root().join("zones/example.com.zone").display().to_string()
}

/// `responder serve` on a free loopback port with `extra` flags, run to its
/// (expected) exit.
fn serve_expecting_exit(extra: &[&str]) -> std::process::Output {
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port().unwrap())).to_string();
    let zone = zone();
    let mut args = vec!["serve", "--user", "root", "--zone", &zone, "--listen", &listen, "--udp-workers", "1"];
    args.extend_from_slice(extra);
    responder::run(&args).unwrap_or_else(|e| panic!("the server did not exit by itself: {e}"))
}

fn ctl_stats(socket: &Path) -> std::process::Output {
    responder::run(&["ctl", "--socket", &socket.display().to_string(), "stats"]).unwrap()
}

#[test]
fn a_file_at_the_control_socket_path_stops_the_server_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let content = b"an operator's file that happens to be here\n\x00\xff";
    std::fs::write(&path, content).unwrap();
    let out = serve_expecting_exit(&["--control-socket", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the server started over a regular file:\n{stderr}");
    assert!(stderr.contains("a regular file is there, not a socket"), "unclear error:\n{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), content, "the file was changed");
}

#[test]
fn a_second_server_on_a_live_control_socket_refuses_and_the_first_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    let shown = socket.display().to_string();
    let mut first = Server::start(&["--zone", &zone(), "--control-socket", &shown]).unwrap();

    let out = serve_expecting_exit(&["--control-socket", &shown]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second server started on a live socket:\n{stderr}");
    assert!(stderr.contains("another responder is serving it"), "unclear error:\n{stderr}");

    let stats = ctl_stats(&socket);
    assert!(stats.status.success(), "the first server lost its socket: {}", String::from_utf8_lossy(&stats.stderr));
    assert!(first.daemon.exited().is_none(), "the first server stopped:\n{}", first.daemon.log());
}

/// A stale socket left by a killed server is replaced; a symlink to one is
/// not followed (what it points to could be anywhere), so it is refused.
#[test]
fn a_stale_control_socket_is_replaced_and_a_symlink_to_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap()); // left by a killed server
    let link = dir.path().join("link.sock");
    std::os::unix::fs::symlink(&socket, &link).unwrap();

    let out = serve_expecting_exit(&["--control-socket", &link.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the server started over a symlink:\n{stderr}");
    assert!(stderr.contains("a symbolic link is there, not a socket"), "unclear error:\n{stderr}");
    assert_eq!(std::fs::read_link(&link).unwrap(), socket, "the symlink was changed");

    let _server = Server::start(&["--zone", &zone(), "--control-socket", &socket.display().to_string()]).unwrap();
    let stats = ctl_stats(&socket);
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
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

fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// True when the server has closed `stream` (rather than the read timing out).
fn is_closed(stream: &mut impl Read) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0))
}

#[test]
fn idle_and_dripping_clients_delay_neither_a_scrape_nor_ctl_stats() {
    let dir = tempfile::tempdir().unwrap();
    let socket: PathBuf = dir.path().join("control.sock");
    let server = Server::start(&[
        "--zone",
        &zone(),
        "--control-socket",
        &socket.display().to_string(),
        "--metrics",
        "127.0.0.1:0",
    ])
    .unwrap();
    let metrics = metrics_addr(&server);

    // Three scrapers that connect and say nothing, one that sends a byte
    // every 4 s; an operator's shell that connected and sent nothing.
    let _idle: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(metrics).unwrap()).collect();
    let mut drip = TcpStream::connect(metrics).unwrap();
    drip.write_all(b"G").unwrap();
    let _idle_ctl = UnixStream::connect(&socket).unwrap();
    let mut drip_ctl = UnixStream::connect(&socket).unwrap();
    drip_ctl.write_all(b"s").unwrap();
    std::thread::sleep(Duration::from_millis(100));

    let started = Instant::now();
    let response = scrape(metrics);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("responder_zone_serial"), "{response}");
    assert!(started.elapsed() < Duration::from_secs(1), "the scrape took {:?}", started.elapsed());

    let started = Instant::now();
    let stats = ctl_stats(&socket);
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    assert!(started.elapsed() < Duration::from_secs(1), "ctl stats took {:?}", started.elapsed());

    // Their second byte would be due 4 s after the first: cut off by then.
    drip.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
    assert!(is_closed(&mut drip), "a client dripping its HTTP request was kept past the limit");
    drip_ctl.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
    assert!(is_closed(&mut drip_ctl), "a client dripping its control request was kept past the limit");
}

//! TSIG interop with kdig (Knot's client): kdig signs a query, our
//! `tsig::verify_request` must accept it; we sign the answer, kdig must
//! accept that (and reject it when signed with another secret). Then the
//! same through `responder serve --config` with `[[key]]`: a good key gets
//! a verified answer, an unknown one BADKEY, a wrong secret BADSIG.
//!
//! Loopback only, no root needed. kdig is required under `CI=true`.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Command, Output};
use std::time::Duration;

use responder::tsig::{self, Key, Keyring, Signing};
use responder_tests::daemon::Daemon;
use responder_tests::responder::{self as server, free_port, workspace_root};
use responder_tests::{kdig, testbed};

const SECRET: &str = "Y3Jvc3MtY2hlY2tlZC13aXRoLWtkaWc=";

fn kdig_usable(test: &str) -> bool {
    testbed::required_tools(test, if kdig::available() { &[] } else { &["kdig"] })
}

fn kdig_command(server: SocketAddr, tsig: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new("kdig");
    cmd.arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .arg("-y")
        .arg(tsig)
        .args(["+retry=0", "+timeout=3", "www.example.com.", "A"])
        .args(extra);
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// kdig's query, caught on a socket of ours, answered by `reply`.
fn exchange_with_kdig(alg: &str, reply: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let addr = socket.local_addr().unwrap();
    let child = kdig_command(addr, &format!("{alg}:xfr.example:{SECRET}"), &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, from) = socket.recv_from(&mut buf).expect("kdig's query");
    let answer = reply(&buf[..n]);
    socket.send_to(&answer, from).unwrap();
    text(&child.wait_with_output().unwrap())
}

/// The answer: the query's header and question, QR set, signed by `key`
/// over `request_mac`.
fn signed_answer(query: &[u8], len: usize, key: &Key, request_mac: &[u8]) -> Vec<u8> {
    let mut a = query[..len].to_vec();
    a[2] |= 0x84; // QR, AA
    let ar = u16::from_be_bytes([a[10], a[11]]) - 1;
    a[10..12].copy_from_slice(&ar.to_be_bytes());
    tsig::sign_message(key, &mut a, &Signing::new(Some(request_mac), tsig::now())).unwrap();
    a
}

#[test]
fn our_macs_match_kdigs_both_ways_for_every_algorithm() {
    if !kdig_usable("our_macs_match_kdigs_both_ways_for_every_algorithm") {
        return;
    }
    for alg in ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let key = Key::from_text("xfr.example", alg, SECRET).unwrap();
        let ring = Keyring::new(vec![key.clone()]).unwrap();
        let out = exchange_with_kdig(alg, |q| {
            let request = tsig::verify_request(&ring, q, tsig::now())
                .unwrap_or_else(|e| panic!("{alg}: kdig's query rejected: {:?}", e.failure))
                .expect("kdig signed its query");
            signed_answer(q, request.verified.len, &key, request.verified.mac.as_slice())
        });
        assert!(out.contains("status: NOERROR"), "{alg}: {out}");
        assert!(!out.contains("WARNING"), "{alg}: kdig did not accept our MAC: {out}");
    }
    // The control: an answer signed with another secret is refused by kdig.
    let liar = Key::from_text("xfr.example", "hmac-sha256", "YW5vdGhlci1zZWNyZXQ=").unwrap();
    let out = exchange_with_kdig("hmac-sha256", |q| {
        let r = tsig::record::locate(q).unwrap().unwrap();
        signed_answer(q, r.start, &liar, r.mac)
    });
    assert!(out.contains("WARNING") || !out.contains("status: NOERROR"), "kdig accepted a bad MAC: {out}");
}

fn config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let zone = workspace_root().join("zones/tests/compare/example.com.zone");
    let text = format!(
        r#"[server]
listen = ["127.0.0.1:{port}"]
udp-workers = 1

[[zone]]
file = "{}"

[[key]]
id = "xfr.example"
algorithm = "hmac-sha256"
secret = "{SECRET}"
"#,
        zone.display()
    );
    let path = dir.join("responder.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_server_answers_kdigs_signed_queries_on_udp_and_tcp() {
    if !kdig_usable("the_server_answers_kdigs_signed_queries_on_udp_and_tcp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let path = config(dir.path(), port);
    let mut cmd = Command::new(server::binary().unwrap());
    cmd.arg("serve").args(["--user", "root"]).arg("--config").arg(&path);
    let mut daemon = Daemon::spawn(cmd, "responder serve (tsig)", &dir.path().join("log")).unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    daemon.wait_until_answering(addr, Duration::from_secs(20)).unwrap();
    for transport in [&[][..], &["+tcp"][..]] {
        let good = text(&kdig_command(addr, &format!("hmac-sha256:xfr.example:{SECRET}"), transport).output().unwrap());
        assert!(good.contains("status: NOERROR") && good.contains("198.18.0.80"), "{transport:?}: {good}");
        assert!(!good.contains("WARNING"), "{transport:?}: {good}");
        let unknown =
            text(&kdig_command(addr, &format!("hmac-sha256:other.key:{SECRET}"), transport).output().unwrap());
        assert!(unknown.contains("BADKEY"), "{transport:?}: {unknown}");
        let wrong = text(&kdig_command(addr, "hmac-sha256:xfr.example:d3Jvbmc=", transport).output().unwrap());
        assert!(wrong.contains("BADSIG"), "{transport:?}: {wrong}");
    }
    // A rotated secret takes effect at the next reload (SIGHUP), and the
    // old one then fails.
    const NEW_SECRET: &str = "cm90YXRlZC1zZWNyZXQtb2YtdGhlLXRlc3Q=";
    let rotated = std::fs::read_to_string(&path).unwrap().replace(SECRET, NEW_SECRET);
    std::fs::write(&path, rotated).unwrap();
    // SAFETY: kill(2) on the pid of the child this test spawned.
    assert_eq!(unsafe { libc::kill(daemon.pid() as i32, libc::SIGHUP) }, 0);
    let ask =
        |secret: &str| text(&kdig_command(addr, &format!("hmac-sha256:xfr.example:{secret}"), &[]).output().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = ask(NEW_SECRET);
        if out.contains("status: NOERROR") && !out.contains("WARNING") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new secret never took effect: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(ask(SECRET).contains("BADSIG"), "the old secret still works after the reload");
    daemon.terminate(Duration::from_secs(10)).unwrap();
}

/// NSID (RFC 5001): `kdig +nsid` shows the node's name over UDP and TCP;
/// without `+nsid` it is not sent.
#[test]
fn kdig_nsid_shows_the_nodes_name() {
    if !kdig_usable("kdig_nsid_shows_the_nodes_name") {
        return;
    }
    let zone = workspace_root().join("zones/tests/compare/example.com.zone");
    let zone = zone.display().to_string();
    let server = server::Server::start(&["--zone", &zone, "--nsid", "node-7.anycast.test"]).unwrap();
    for transport in [&["+nsid"][..], &["+nsid", "+tcp"][..]] {
        let out = Command::new("kdig")
            .arg(format!("@{}", server.v4.ip()))
            .args(["-p", &server.v4.port().to_string(), "+retry=0", "+timeout=3", "www.example.com.", "A"])
            .args(transport)
            .output()
            .unwrap();
        let out = text(&out);
        assert!(out.contains("NSID") && out.contains("node-7.anycast.test"), "{transport:?}: {out}");
        assert!(out.contains("198.18.0.80"), "{transport:?}: {out}");
    }
    let plain = Command::new("kdig")
        .arg(format!("@{}", server.v4.ip()))
        .args(["-p", &server.v4.port().to_string(), "+retry=0", "+timeout=3", "www.example.com.", "A"])
        .output()
        .unwrap();
    assert!(!text(&plain).contains("node-7"), "NSID sent unasked: {}", text(&plain));
}

/// `--identity` is the NSID when `--nsid` is not given, as Knot's
/// `server.identity`; `--nsid` wins over it.
#[test]
fn kdig_nsid_shows_the_identity_unless_an_nsid_is_given() {
    if !kdig_usable("kdig_nsid_shows_the_identity_unless_an_nsid_is_given") {
        return;
    }
    let zone = workspace_root().join("zones/tests/compare/example.com.zone").display().to_string();
    let nsid_of = |args: &[&str]| {
        let server = server::Server::start(&[&["--zone", &zone][..], args].concat()).unwrap();
        let out = Command::new("kdig")
            .arg(format!("@{}", server.v4.ip()))
            .args(["-p", &server.v4.port().to_string(), "+retry=0", "+timeout=3", "+nsid", "www.example.com.", "A"])
            .output()
            .unwrap();
        text(&out)
    };
    let out = nsid_of(&["--identity", "ns1.fra.anycast.test"]);
    assert!(out.contains("NSID") && out.contains("ns1.fra.anycast.test"), "{out}");
    let out = nsid_of(&["--identity", "ns1.fra.anycast.test", "--nsid", "node-9"]);
    assert!(out.contains("node-9") && !out.contains("ns1.fra"), "{out}");
}

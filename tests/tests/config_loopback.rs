//! `responder serve --config FILE` as a process on loopback: a copy of the
//! example configuration serves the example zone, flags override the file,
//! and a bad file is refused with FILE:LINE:COL.
//!
//! Loopback only, no root needed. kdig is required under `CI=true`;
//! elsewhere its half of the checks is skipped with a message.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::{A, TXT};
use responder_tests::dns::{self, Question, Reply, Transport, CLASS_CH};
use responder_tests::responder::{self, free_port, workspace_root};
use responder_tests::{kdig, testbed};

/// The port the example configuration listens on; the tests swap in a free one.
const EXAMPLE_PORT: &str = "5353";

/// A copy of `scripts/responder.toml` in `dir/scripts/`, next to a copy of
/// the example zone in `dir/zones/`, so that its relative zone path
/// (`../zones/example.com.zone`) resolves against the copy's directory.
fn example_copy(dir: &Path, port: u16) -> PathBuf {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("scripts/responder.toml")).unwrap();
    let listen = format!("listen = [\"127.0.0.1:{EXAMPLE_PORT}\", \"[::1]:{EXAMPLE_PORT}\"]");
    assert!(text.contains(&listen), "the example no longer has {listen:?}: update this test");
    let text = text.replace(&listen, &format!("listen = [\"127.0.0.1:{port}\", \"[::1]:{port}\"]"));
    for sub in ["scripts", "zones"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(root.join("zones/example.com.zone"), dir.join("zones/example.com.zone")).unwrap();
    let config = dir.join("scripts/responder.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// `responder serve --config CONFIG EXTRA...`, run from `/` so that only the
/// file's directory can make its relative paths work; retried on a port
/// another process took. Returns the server and the port it was told to use.
fn serve(dir: &Path, extra: impl Fn(u16) -> Vec<String>, answering_on: impl Fn(u16, u16) -> u16) -> (Daemon, u16) {
    let mut last_error = String::new();
    for attempt in 0..5 {
        let (file_port, flag_port) = (free_port().unwrap(), free_port().unwrap());
        let config = example_copy(dir, file_port);
        let mut cmd = Command::new(responder::binary().unwrap());
        cmd.current_dir("/").args(["serve", "--user", "root", "--config"]).arg(&config).args(extra(flag_port));
        let log = dir.join(format!("responder-{attempt}.log"));
        let mut daemon = Daemon::spawn(cmd, "responder serve --config", &log).unwrap();
        let port = answering_on(file_port, flag_port);
        match daemon.wait_until_answering(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(20)) {
            Ok(()) => return (daemon, port),
            Err(e) if daemon.log().contains("in use") => last_error = e,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free port in 5 attempts; last: {last_error}");
}

fn kdig_usable(test: &str) -> bool {
    testbed::required_tools(test, if kdig::available() { &[] } else { &["kdig"] })
}

/// The answers the test checks, from hickory and (when usable) kdig.
fn replies(addr: SocketAddr, transport: Transport, q: &Question, with_kdig: bool) -> Vec<(String, Reply)> {
    let mut out = vec![(format!("hickory {transport:?} {addr}"), dns::ask(addr, transport, q).unwrap())];
    if with_kdig {
        out.push((format!("kdig {transport:?} {addr}"), kdig::ask(addr, transport, q).unwrap()));
    }
    out
}

#[test]
fn the_example_configuration_serves_the_example_zone() {
    let with_kdig = kdig_usable("the_example_configuration_serves_the_example_zone");
    let dir = tempfile::tempdir().unwrap();
    let (daemon, port) = serve(dir.path(), |_| Vec::new(), |file_port, _| file_port);
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    for (addr, transport) in [(v4, Transport::Udp), (v6, Transport::Udp), (v4, Transport::Tcp)] {
        for (via, r) in replies(addr, transport, &Question::new("www.example.com.", A), with_kdig) {
            assert!(r.aa && r.rcode == dns::NOERROR, "{via}: {r}");
            assert_eq!(r.normalised().answer_text(), ["www.example.com. 3600 A 198.18.0.80"], "{via}");
        }
        // `identity` comes only from the file.
        for (via, r) in replies(addr, transport, &Question::new("id.server.", TXT).class(CLASS_CH), with_kdig) {
            assert_eq!(r.answer_text(), ["id.server. 0 CH TXT \"ns1.example.com\""], "{via}: {r}");
        }
    }
    let (status, log) = daemon.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit {status}:\n{log}");
}

#[test]
fn flags_override_the_configuration_file() {
    let with_kdig = kdig_usable("flags_override_the_configuration_file");
    let dir = tempfile::tempdir().unwrap();
    let (daemon, port) = serve(
        dir.path(),
        |flag_port| vec!["--listen".into(), format!("127.0.0.1:{flag_port}"), "--identity".into(), "from-flag".into()],
        |_, flag_port| flag_port,
    );
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for (via, r) in replies(addr, Transport::Udp, &Question::new("id.server.", TXT).class(CLASS_CH), with_kdig) {
        assert_eq!(r.answer_text(), ["id.server. 0 CH TXT \"from-flag\""], "{via}: {r}");
    }
    // --listen replaced the file's list: nothing on the file's [::1] address.
    let log = daemon.log();
    assert!(log.contains(&format!("127.0.0.1:{port}")) && !log.contains("[::1]"), "{log}");
    // And what the flags left alone still comes from the file.
    for (via, r) in replies(addr, Transport::Tcp, &Question::new("www.example.com.", A), with_kdig) {
        assert_eq!(r.normalised().answer_text(), ["www.example.com. 3600 A 198.18.0.80"], "{via}");
    }
    let (status, log) = daemon.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit {status}:\n{log}");
}

#[test]
fn a_bad_configuration_is_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[rrl]\n  slip = 2\n  rate = 5\n").unwrap();
    let config = config.display().to_string();
    let out = responder::run(&["serve", "--config", &config]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{config}:6:3: unknown field `rate`")), "{stderr}");
    assert!(stderr.contains("`rate-limit`"), "the valid keys are listed: {stderr}");

    let out = responder::run(&["serve", "--config", "/nonexistent/responder.toml"]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/responder.toml: cannot read"), "{stderr}");

    // A flag clap refuses still gets clap's message and exit code.
    let out = responder::run(&["serve", "--config", &config, "--edns-size", "100"]).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

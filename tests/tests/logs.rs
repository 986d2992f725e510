//! Logs as operators read them: with stderr in a file (journald, `kubectl
//! logs`) no escape codes even though NO_COLOR is unset; `--log-format json`
//! writes one JSON object per line; the ready line carries the version and
//! commit; `--log-queries` logs kernel-socket queries; the stop summary is
//! one readable line.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::A;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::responder::{as_root, binary, free_port, workspace_root};

/// Serves the example zone on loopback with `extra` flags, asks one query,
/// stops it and returns everything it logged.
fn serve_and_stop(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let zone = workspace_root().join("zones/example.com.zone").display().to_string();
    let mut last = String::new();
    for attempt in 0..5 {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port().unwrap()));
        let mut cmd = Command::new(binary().unwrap_or_else(|e| panic!("{e}")));
        cmd.arg("serve").args(as_root(extra)).args(extra);
        cmd.args(["--zone", &zone, "--listen", &addr.to_string(), "--udp-workers", "1"]);
        cmd.env_remove("NO_COLOR").env_remove("RUST_LOG");
        let mut daemon = Daemon::spawn(cmd, "responder serve", &dir.path().join(format!("{attempt}.log"))).unwrap();
        match daemon.wait_until_answering(addr, Duration::from_secs(20)) {
            Ok(()) => {}
            Err(e) if daemon.log().contains("in use") => {
                last = e;
                continue;
            }
            Err(e) => panic!("{e}"),
        }
        let reply = dns::ask(addr, Transport::Udp, &Question::new("www.example.com.", A)).unwrap();
        assert!(!reply.answer_text().is_empty());
        // The readiness probe above may be logged before the ready line is
        // flushed: wait for it, then stop.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !daemon.log().contains("responder ready:") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let (status, log) = daemon.terminate(Duration::from_secs(10)).unwrap();
        assert!(status.success(), "exit {status}:\n{log}");
        return log;
    }
    panic!("no free port in 5 attempts: {last}")
}

#[test]
fn text_logs_in_a_file_are_plain_and_say_what_ran_and_what_was_served() {
    let log = serve_and_stop(&["--log-queries"]);
    assert!(!log.contains('\x1b'), "escape codes in a log file:\n{log:?}");
    let version = format!("responder ready: responder {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(log.contains(&version), "version and commit in the ready line:\n{log}");
    assert!(!log.contains("(commit unknown)"), "built from git, the commit is known:\n{log}");
    assert!(log.contains("over udp: www.example.com. A -> NOERROR, "), "the query is logged:\n{log}");
    let stop = log.lines().find(|l| l.contains("stopped after ")).unwrap_or_else(|| panic!("no stop line:\n{log}"));
    assert!(stop.contains(" INFO ") && stop.contains("answers (xdp 0, udp "), "{stop}");
    assert!(!log.contains("Some(") && !log.contains("{ "), "Rust debug output in the log:\n{log}");
}

#[test]
fn json_logs_are_one_object_per_line_and_queries_are_off_by_default() {
    let log = serve_and_stop(&["--log-format", "json"]);
    let mut messages = Vec::new();
    for line in log.lines() {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{log}"));
        assert!(object["timestamp"].is_string() && object["level"].is_string(), "{line}");
        messages.push(object["fields"]["message"].as_str().unwrap_or_default().to_owned());
    }
    assert!(messages.iter().any(|m| m.starts_with("responder ready: responder ")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("stopped after ")), "{messages:#?}");
    assert!(!messages.iter().any(|m| m.starts_with("query from ")), "queries logged without --log-queries");
}

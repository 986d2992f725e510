//! `ethtool -L` on the interface a responder serves, while it serves: the
//! channel count is the set of queues the workers were started for, so a
//! change must neither crash the responder nor silence it.
//!
//! What the kernel does on veth (the testbed), checked step by step:
//! - more channels: allowed; the new queues have no AF_XDP socket, so
//!   queries landing there reach the kernel stack (the steering program
//!   passes them, or veth delivers them before XDP) and the kernel-socket
//!   server answers them when `--listen` covers the address;
//! - fewer channels, but still every queue with a socket: allowed;
//! - fewer channels than the queues with a socket bound: refused by the
//!   kernel (`ethtool -L` fails with EINVAL), the responder is untouched.
//!
//! Needs root and ethtool: skipped with a message otherwise, except under
//! `CI=true`, where they must be there and the test must run.

use std::process::Command;

use responder_tests::dns::rtype::A;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::netns::in_netns;
use responder_tests::responder::workspace_root;
use responder_tests::testbed::{privileged, required_tools, run, Testbed};
use responder_tests::xdp_server::{server_v4, server_v6, XdpServer};

/// The testbed's veth pair is created with this many queues at most.
const MAX_CHANNELS: u32 = 4;
/// The responder starts with this many, one worker each.
const SERVED: u32 = 2;
/// Queries after each change: with random source ports, enough that every
/// RX queue is hit (the chance one of four is missed is under 10⁻⁶).
const QUERIES: usize = 48;

fn ethtool_available() -> bool {
    Command::new("ethtool").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `ethtool -L IFACE rx N tx N` in namespace `ns`; the error carries ethtool's stderr.
fn set_channels(ns: &str, iface: &str, n: u32) -> Result<(), String> {
    let n = n.to_string();
    let out = Testbed::command_in(ns, "ethtool")
        .args(["-L", iface, "rx", &n, "tx", &n])
        .output()
        .map_err(|e| format!("running ethtool: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The current RX channel count, from `ethtool -l`.
fn rx_channels(ns: &str, iface: &str) -> u32 {
    let out = run(Testbed::command_in(ns, "ethtool").args(["-l", iface])).expect("ethtool -l");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let current = text.split("Current hardware settings:").nth(1).unwrap_or_else(|| panic!("ethtool -l:\n{text}"));
    current
        .lines()
        .find_map(|l| l.trim().strip_prefix("RX:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no current RX count in ethtool -l:\n{text}"))
}

/// Asks from the client namespace, each query from a fresh socket (and so a
/// fresh source port and flow hash); every one must be answered correctly.
fn all_answered(bed: &Testbed, server: &XdpServer, when: &str) {
    let failures = in_netns(&bed.client_ns, || {
        let mut failures = Vec::new();
        for i in 0..QUERIES {
            let addr = if i % 2 == 0 { server_v4() } else { server_v6() };
            match dns::ask(addr, Transport::Udp, &Question::new("www.example.com.", A)) {
                Ok(reply) if reply.answer_text().len() == 1 => {}
                Ok(reply) => failures.push(format!("{addr}: wrong answer {reply:?}")),
                Err(e) => failures.push(e),
            }
        }
        failures
    })
    .unwrap();
    assert!(
        failures.is_empty(),
        "{when}: {} of {QUERIES} unanswered:\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        server.log()
    );
}

#[test]
fn channel_count_changes_while_serving_neither_crash_nor_silence_it() {
    let test = "channel_count_changes_while_serving_neither_crash_nor_silence_it";
    if !privileged(test) || !required_tools(test, if ethtool_available() { &[] } else { &["ethtool"] }) {
        return;
    }
    let bed = Testbed::create("qchg", MAX_CHANNELS).expect("testbed");
    let (s, c) = ((&bed.server_ns, &bed.server_if), (&bed.client_ns, &bed.client_if));
    // Native XDP on veth needs at least as many RX queues here as the peer
    // has TX queues, so the client side always changes first when shrinking.
    set_channels(c.0, c.1, SERVED).expect("client channels");
    set_channels(s.0, s.1, SERVED).expect("server channels");
    let zone = workspace_root().join("zones/example.com.zone");
    let server =
        XdpServer::start(&bed, &zone, &["--queues", "all", "--xdp-mode", "native"]).unwrap_or_else(|e| panic!("{e}"));
    all_answered(&bed, &server, "before any change");

    // More channels: two queues without a worker.
    set_channels(s.0, s.1, MAX_CHANNELS).unwrap_or_else(|e| panic!("raising the server's channels: {e}"));
    set_channels(c.0, c.1, MAX_CHANNELS).unwrap_or_else(|e| panic!("raising the client's channels: {e}"));
    assert_eq!(rx_channels(s.0, s.1), MAX_CHANNELS);
    all_answered(&bed, &server, "after raising the channel count to 4");

    // Back to the served queues: nothing bound is removed, so it is allowed.
    set_channels(c.0, c.1, 1).unwrap_or_else(|e| panic!("lowering the client's channels: {e}"));
    set_channels(s.0, s.1, SERVED).unwrap_or_else(|e| panic!("lowering to the served queues: {e}"));
    all_answered(&bed, &server, "after lowering the channel count back to 2");

    // Below the queues with a socket bound: the kernel refuses.
    let refused = set_channels(s.0, s.1, 1).expect_err("the kernel must refuse to remove a queue with a socket");
    eprintln!("{test}: ethtool -L rx 1 tx 1 refused: {refused}");
    assert_eq!(rx_channels(s.0, s.1), SERVED, "a refused change must leave the queues as they were");
    all_answered(&bed, &server, "after a refused lowering to 1");

    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    let counters = report.counters_text();
    eprintln!("{test}: {} queries, {} through AF_XDP\n{counters}", 4 * QUERIES, report.rx());
    assert_eq!(report.queues.len(), SERVED as usize, "the workers started are the workers stopped:\n{counters}");
    for q in &report.queues {
        assert!(q.frames_balanced && q.invalid == 0, "queue {}:\n{counters}", q.queue);
        assert_eq!(q.rx, q.tx, "queue {}: every steered query answered:\n{counters}", q.queue);
    }
    assert!(report.rx() > 0, "nothing went through AF_XDP:\n{counters}");
    // With four queues and random flows, some queries landed on the two
    // without a worker and were still answered, by the kernel sockets: the
    // fallback was exercised, not just the workers.
    assert!(
        report.rx() < 4 * QUERIES as u64,
        "every query reached a worker; the new queues were never used:\n{counters}"
    );
}

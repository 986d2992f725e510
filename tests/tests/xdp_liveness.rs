//! No black hole when an XDP worker, or the whole server, stops making
//! progress: the steering program checks each queue's liveness word and
//! passes its queries to the kernel once the word is older than the stall
//! threshold (200 ms), and steers them again once the worker beats.
//!
//! Each test runs a bounded, paced UDP load from the client namespace of a
//! one-queue veth testbed and stops a worker in the middle of it:
//! - a worker stalled by the test-only hook (`test-stall-worker` on the
//!   control socket, compiled in only with the `test-hooks` feature): the
//!   process's own kernel sockets answer within 1 s;
//! - the whole process frozen with SIGSTOP, beside a standby kernel-socket
//!   instance bound to the exact addresses (docs/DEPLOY.md): the standby
//!   answers within 1 s.
//!
//! Then the worker resumes (the stall ends, SIGCONT) and XDP steers again.
//! Needs root: skipped with a message otherwise, except under `CI=true`.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::A;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::netns::in_netns;
use responder_tests::paced::{self, Pace, Tally};
use responder_tests::responder::{self, workspace_root};
use responder_tests::testbed::{privileged, Testbed, CLIENT_V4};
use responder_tests::xdp_server::{server_v4, server_v6, XdpServer};

/// The bound the issue sets: answers resume within 1 s of a stall.
const RESUME_WITHIN: Duration = Duration::from_secs(1);
/// The paced load: 1,000 queries a second for 4 s, spread over 8 client
/// sockets. Several flows, because the kernel spreads flows over a
/// SO_REUSEPORT group by hash: a standby in the frozen primary's group (the
/// wrong pattern) would answer some flows and leave others unanswered.
const FLOWS: u32 = 8;
const PACE: Pace = Pace { per_second: 1_000 / FLOWS, count: 4_000 / FLOWS };
/// When, from the first query, the worker or process stops, and for how long.
const STOP_AT: Duration = Duration::from_millis(1_000);
const STOP_FOR: Duration = Duration::from_millis(1_500);
/// When the counters are read after the stop ends: time for the worker to
/// catch up on what its ring held and beat again, with a wide margin.
const RESUMED_AT: Duration = Duration::from_millis(3_000);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle time before a load: longer than the stall threshold.
const IDLE: Duration = Duration::from_millis(500);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

/// One request line on a control socket, its JSON reply.
fn control(socket: &Path, request: &str) -> Value {
    let mut stream = UnixStream::connect(socket).unwrap_or_else(|e| panic!("control socket {socket:?}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(stream, "{request}").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap_or_else(|e| panic!("{request}: {e}"));
    let value: Value = serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{request}: not JSON ({e}): {reply}"));
    assert_eq!(value["ok"], true, "{request}: {value}");
    value
}

fn count(stats: &Value, pointer: &str) -> u64 {
    stats.pointer(pointer).and_then(Value::as_u64).unwrap_or_else(|| panic!("no {pointer} in {stats}"))
}

/// The longest silence between two full answers of one flow, from its
/// first query on.
fn longest_gap(tally: &Tally) -> Duration {
    let mut times = tally.full_at.clone();
    times.sort();
    let mut gap = times.first().copied().unwrap_or(Duration::MAX);
    for pair in times.windows(2) {
        gap = gap.max(pair[1] - pair[0]);
    }
    gap
}

/// Runs the paced load (one flow per client socket) against `server` from
/// the client namespace and calls `at(i)` at each of `moments` (from the
/// first query) while it runs.
fn load_with_events(bed: &Testbed, server: SocketAddr, moments: &[Duration], mut at: impl FnMut(usize)) -> Vec<Tally> {
    let sockets = in_netns(&bed.client_ns, || {
        (0..FLOWS).map(|_| UdpSocket::bind((CLIENT_V4, 0)).expect("client socket")).collect::<Vec<_>>()
    })
    .unwrap();
    let query = Question::new("www.example.com.", A).to_wire().unwrap();
    thread::scope(|scope| {
        let start = Instant::now();
        let flows: Vec<_> =
            sockets.into_iter().map(|socket| scope.spawn(|| paced::run(socket, server, &query, PACE))).collect();
        for (i, &moment) in moments.iter().enumerate() {
            thread::sleep(moment.saturating_sub(start.elapsed()));
            at(i);
        }
        flows.into_iter().map(|flow| flow.join().expect("load thread").expect("paced load")).collect()
    })
}

/// Every flow was answered again within the bound, through to its end.
fn check_resumed_within_bound(test: &str, tallies: &[Tally]) {
    for (flow, tally) in tallies.iter().enumerate() {
        let gap = longest_gap(tally);
        eprintln!("{test}: flow {flow}: {} sent, {} full answers, longest silence {gap:?}", tally.sent, tally.full);
        assert!(gap < RESUME_WITHIN, "{test}: flow {flow} had no answer for {gap:?} (bound {RESUME_WITHIN:?})");
        let last = tally.full_at.iter().max().copied().unwrap_or_default();
        assert!(last + RESUME_WITHIN > tally.send_time, "{test}: flow {flow}: last answer at {last:?}");
    }
}

#[test]
fn a_stalled_worker_falls_back_to_the_kernel_sockets_and_takes_over_again() {
    let test = "a_stalled_worker_falls_back_to_the_kernel_sockets_and_takes_over_again";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("xstall", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let server = XdpServer::start(
        &bed,
        &zone(),
        &["--xdp-mode", "native", "--control-socket", &socket.display().to_string(), "--stats-interval", "0"],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let before = control(&socket, "stats");
    // Idle for longer than the threshold: an idle worker keeps beating, so
    // the first queries are steered, not passed.
    thread::sleep(IDLE);
    let (mut running, mut resumed) = (Value::Null, Value::Null);
    let moments = [STOP_AT - Duration::from_millis(100), STOP_AT, RESUMED_AT];
    let tally = load_with_events(&bed, server_v4(), &moments, |event| match event {
        0 => running = control(&socket, "stats"),
        1 => {
            control(&socket, &format!("test-stall-worker 0 {}", STOP_FOR.as_millis()));
        }
        _ => resumed = control(&socket, "stats"),
    });
    let after = control(&socket, "stats");
    let log = server.log();
    drop(server);

    check_resumed_within_bound(test, &tally);
    let delta = |a: &Value, b: &Value, key: &str| count(b, key) - count(a, key);
    assert_eq!(delta(&before, &running, "/xdp/program/passed_stalled"), 0, "no fallback before the stall");
    assert_eq!(delta(&before, &running, "/udp/answered"), 0, "XDP answers everything before the stall");
    let stalled = delta(&before, &resumed, "/xdp/program/passed_stalled");
    let kernel_answers = delta(&before, &resumed, "/udp/answered");
    eprintln!("{test}: passed_stalled {stalled}, kernel-socket answers {kernel_answers} during the stall");
    assert!(stalled > 0, "the fallback is counted:\n{resumed}");
    assert!(kernel_answers > 0, "the process's kernel sockets answered during the stall:\n{resumed}");
    // After the stall, XDP again: redirected rises, the kernel sockets idle.
    let redirected = delta(&resumed, &after, "/xdp/program/redirected");
    let kernel_after = delta(&resumed, &after, "/udp/answered");
    eprintln!("{test}: after the stall: redirected {redirected}, kernel-socket answers {kernel_after}");
    assert!(redirected >= 500, "XDP must steer again after the stall: {redirected} redirected\n{after}");
    assert!(kernel_after * 10 <= redirected, "the kernel sockets still answer {kernel_after} after the stall");
    assert!(log.contains("queue 0: worker stalled for"), "the stall is logged:\n{log}");
    assert!(log.contains("queue 0: worker resumed, XDP steering again"), "the recovery is logged:\n{log}");
}

/// A kernel-socket-only responder on the testbed's exact addresses, beside a
/// primary on the wildcard ones: the standby pattern of docs/DEPLOY.md.
fn start_standby(bed: &Testbed, dir: &Path, socket: &Path) -> Daemon {
    let binary = responder::binary().unwrap().display().to_string();
    let mut cmd = bed.server_command(&binary);
    cmd.args(["serve", "--user", "root"])
        .arg("--zone")
        .arg(zone())
        .args(["--listen", &server_v4().to_string(), "--listen", &server_v6().to_string()])
        .args(["--share-port", "--udp-workers", "1", "--stats-interval", "0"])
        .arg("--control-socket")
        .arg(socket)
        .env("NO_COLOR", "1");
    let mut standby = Daemon::spawn(cmd, "standby responder", &dir.join("standby.log")).unwrap();
    let deadline = Instant::now() + READY_TIMEOUT;
    while !standby.log().contains("responder ready:") {
        if let Some(status) = standby.exited() {
            panic!("standby exited with {status}:\n{}", standby.log());
        }
        assert!(Instant::now() < deadline, "standby not ready:\n{}", standby.log());
        thread::sleep(Duration::from_millis(20));
    }
    standby
}

fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("PID in range");
    // SAFETY: kill(2) on the PID of a child this test started and has not
    // reaped (its Daemon is alive), so the PID cannot have been reused.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}

#[test]
fn a_frozen_server_is_answered_by_its_standby_and_takes_over_when_it_thaws() {
    let test = "a_frozen_server_is_answered_by_its_standby_and_takes_over_when_it_thaws";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("xfreeze", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    let (primary_socket, standby_socket) = (dir.path().join("primary.sock"), dir.path().join("standby.sock"));
    let wildcards: [SocketAddr; 2] = ["0.0.0.0:53".parse().unwrap(), "[::]:53".parse().unwrap()];
    let primary = XdpServer::start_listening(
        &bed,
        &zone(),
        &wildcards,
        &[
            "--xdp-mode",
            "native",
            "--share-port",
            "--control-socket",
            &primary_socket.display().to_string(),
            "--stats-interval",
            "0",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let standby = start_standby(&bed, dir.path(), &standby_socket);

    let (primary_before, standby_before) = (control(&primary_socket, "stats"), control(&standby_socket, "stats"));
    thread::sleep(IDLE);
    // Both alive: the kernel prefers the standby's exact-address listener
    // for TCP (as for UDP), so TCP does not depend on the primary either.
    let www = Question::new("www.example.com.", A);
    let tcp_query = || in_netns(&bed.client_ns, || dns::ask(server_v4(), Transport::Tcp, &www)).unwrap();
    tcp_query().unwrap_or_else(|e| panic!("TCP with both alive: {e}"));
    let mut thawed = (Value::Null, Value::Null);
    let mut tcp_while_frozen = Err("not asked".to_string());
    let moments = [STOP_AT, STOP_AT + STOP_FOR / 2, STOP_AT + STOP_FOR, RESUMED_AT];
    let tally = load_with_events(&bed, server_v4(), &moments, |event| match event {
        0 => signal(primary.pid(), libc::SIGSTOP),
        1 => tcp_while_frozen = tcp_query(),
        2 => signal(primary.pid(), libc::SIGCONT),
        _ => thawed = (control(&primary_socket, "stats"), control(&standby_socket, "stats")),
    });
    let (primary_after, standby_after) = (control(&primary_socket, "stats"), control(&standby_socket, "stats"));
    drop(standby);
    drop(primary);

    check_resumed_within_bound(test, &tally);
    let delta = |a: &Value, b: &Value, key: &str| count(b, key) - count(a, key);
    let stalled = delta(&primary_before, &thawed.0, "/xdp/program/passed_stalled");
    let standby_answers = delta(&standby_before, &thawed.1, "/udp/answered");
    eprintln!("{test}: while frozen: passed_stalled {stalled}, standby answers {standby_answers}");
    assert!(stalled > 0, "the fallback is counted by the program even while the process is frozen");
    assert!(standby_answers > 0, "the standby answered while the primary was frozen");
    tcp_while_frozen.unwrap_or_else(|e| panic!("TCP while the primary was frozen: {e}"));
    let standby_tcp = delta(&standby_before, &thawed.1, "/tcp/answered");
    assert_eq!(standby_tcp, 2, "the standby answers TCP, frozen primary or not");
    let redirected = delta(&thawed.0, &primary_after, "/xdp/program/redirected");
    let standby_after_thaw = delta(&thawed.1, &standby_after, "/udp/answered");
    eprintln!("{test}: after SIGCONT: redirected {redirected}, standby answers {standby_after_thaw}");
    assert!(redirected >= 500, "XDP must steer again after SIGCONT: {redirected} redirected");
    assert!(standby_after_thaw * 10 <= redirected, "the standby still answers {standby_after_thaw} after SIGCONT");
}

//! `responder serve --iface` against a hostile or unready host: an interface
//! another XDP program holds, a queue another responder serves, a driver
//! without native XDP, no privileges, and a link that is down at start or
//! flaps while serving. Each must end in a
//! clear error (exit 1, a message saying what to do) or in serving on, never
//! in a crash or a silent half-start. The missing-interface case is in
//! xdp_serve.rs, queue count changes in queue_changes.rs.
//!
//! Root only (namespaces, XDP, becoming another user; clang for the foreign
//! program); skipped with a message otherwise, except under `CI=true`, where
//! they must run.

use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use responder_tests::daemon::{run_bounded, Daemon};
use responder_tests::dns::rtype::A;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::netns::in_netns;
use responder_tests::responder::{binary, workspace_root};
use responder_tests::testbed::{privileged, required_tools, run, Testbed, SERVER_V4, SERVER_V6};
use responder_tests::xdp_server::{parse_queue_counters, server_v4, strip_ansi, xdp_attached, XdpServer};

const BOUND: Duration = Duration::from_secs(60);

fn zone() -> String {
    workspace_root().join("zones/example.com.zone").display().to_string()
}

/// `responder serve ARGS` run to completion (bounded) inside namespace `ns`.
fn serve_in(ns: &str, args: &[&str]) -> Output {
    let bin = binary().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Testbed::command_in(ns, &bin.display().to_string());
    cmd.arg("serve").args(responder_tests::responder::as_root(args)).args(args).env("NO_COLOR", "1");
    run_bounded(&mut cmd, BOUND).unwrap_or_else(|e| panic!("responder serve: {e}"))
}

/// Exit status 1 and the last line of stderr, which carries the error.
fn failure(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{what}: an error exit, not a crash or success:\n{stderr}");
    stderr.lines().last().unwrap_or_default().to_string()
}

fn www_answered(bed: &Testbed) -> Result<(), String> {
    in_netns(&bed.client_ns, || {
        let reply = dns::ask(server_v4(), Transport::Udp, &Question::new("www.example.com.", A))?;
        match reply.answer_text().as_slice() {
            [one] if one.ends_with("198.18.0.80") => Ok(()),
            other => Err(format!("wrong answer {other:?}")),
        }
    })?
}

/// An XDP program that passes everything: someone else's, as far as the
/// responder can tell. Built with clang (the project's build already needs
/// it) without any header, so no include path matters.
const FOREIGN_PROGRAM: &str = "struct xdp_md;\n\
    __attribute__((section(\"xdp\"), used)) int pass_all(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }\n\
    char LICENSE[] __attribute__((section(\"license\"), used)) = \"GPL\";\n";

fn clang_available() -> bool {
    Command::new("clang").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The id of the XDP program on `iface` in `ns`, per iproute2.
fn attached_id(ns: &str, iface: &str) -> Option<u64> {
    let out = Command::new("ip").args(["-n", ns, "-j", "-d", "link", "show", "dev", iface]).output().ok()?;
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    links[0]["xdp"]["prog"]["id"].as_u64()
}

#[test]
fn a_foreign_xdp_program_on_the_interface_is_a_clear_error_and_is_left_alone() {
    let test = "a_foreign_xdp_program_on_the_interface_is_a_clear_error_and_is_left_alone";
    if !privileged(test) || !required_tools(test, if clang_available() { &[] } else { &["clang"] }) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (source, object) = (dir.path().join("pass.c"), dir.path().join("pass.o"));
    std::fs::write(&source, FOREIGN_PROGRAM).unwrap();
    run(Command::new("clang").args(["-O2", "-target", "bpf", "-c"]).arg(&source).arg("-o").arg(&object))
        .unwrap_or_else(|e| panic!("building the foreign program: {e}"));
    let bed = Testbed::create("xdpfgn", 1).expect("testbed");
    let object = object.display().to_string();
    run(Command::new("ip").args([
        "-n",
        &bed.server_ns,
        "link",
        "set",
        "dev",
        &bed.server_if,
        "xdp",
        "obj",
        &object,
        "sec",
        "xdp",
    ]))
    .unwrap_or_else(|e| panic!("attaching the foreign program: {e}"));
    let foreign = attached_id(&bed.server_ns, &bed.server_if).expect("the foreign program is attached");

    let listen = format!("{SERVER_V4}:53");
    let out = serve_in(&bed.server_ns, &["--iface", &bed.server_if, "--zone", &zone(), "--listen", &listen]);
    let message = failure(&out, "serve next to a foreign XDP program");
    assert!(
        message.contains(&format!("another XDP program is already attached to `{}`", bed.server_if))
            && message.contains("xdp off"),
        "unclear error: {message}"
    );
    assert_eq!(attached_id(&bed.server_ns, &bed.server_if), Some(foreign), "the foreign program must stay");
}

#[test]
fn a_second_responder_on_a_served_queue_is_a_clear_error() {
    let test = "a_second_responder_on_a_served_queue_is_a_clear_error";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("xdpbusy", 1).expect("testbed");
    let first = XdpServer::start(&bed, std::path::Path::new(&zone()), &[]).unwrap_or_else(|e| panic!("{e}"));
    // Another port, so that its kernel sockets bind and the data plane is what fails.
    let listen = format!("{SERVER_V4}:5300");
    let out = serve_in(&bed.server_ns, &["--iface", &bed.server_if, "--zone", &zone(), "--listen", &listen]);
    let message = failure(&out, "second responder");
    assert!(
        message.contains("queue 0") && message.contains("already has an AF_XDP socket"),
        "unclear error: {message}"
    );
    // The first one is untouched: attached, and answering through AF_XDP.
    assert!(xdp_attached(&bed.server_ns, &bed.server_if).unwrap());
    www_answered(&bed).unwrap_or_else(|e| panic!("first responder after the second failed: {e}"));
    let report = first.stop().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.rx() >= 1 && report.tx() == report.rx(), "{}", report.counters_text());
}

#[test]
fn native_mode_on_a_driver_without_it_is_a_clear_error() {
    let test = "native_mode_on_a_driver_without_it_is_a_clear_error";
    if !privileged(test) {
        return;
    }
    // Loopback has generic XDP only; a namespace's own lo keeps the host's alone.
    let bed = Testbed::create("xdpnat", 1).expect("testbed");
    let out = serve_in(
        &bed.server_ns,
        &["--iface", "lo", "--xdp-mode", "native", "--zone", &zone(), "--listen", "127.0.0.1:5300"],
    );
    let message = failure(&out, "native XDP on lo");
    assert!(message.contains("no native XDP support") && message.contains("generic"), "unclear error: {message}");
    assert!(!xdp_attached(&bed.server_ns, "lo").unwrap(), "nothing may stay attached after a failed start");
}

#[test]
fn serving_without_privileges_is_a_clear_error() {
    let test = "serving_without_privileges_is_a_clear_error";
    if !privileged(test) {
        return;
    }
    // Root is needed to become `nobody`, who runs a copy it can reach.
    let bed = Testbed::create("xdpuser", 1).expect("testbed");
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("responder");
    let zone_copy = dir.path().join("example.com.zone");
    std::fs::copy(binary().unwrap_or_else(|e| panic!("{e}")), &copy).expect("copy the binary");
    std::fs::copy(zone(), &zone_copy).expect("copy the zone");
    for (path, mode) in [(dir.path(), 0o755), (copy.as_path(), 0o755), (zone_copy.as_path(), 0o644)] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    }
    let as_nobody = |args: &[&str]| {
        let mut cmd = Testbed::command_in(&bed.server_ns, "setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]);
        cmd.arg(&copy).arg("serve").arg("--zone").arg(&zone_copy).args(args).env("NO_COLOR", "1");
        run_bounded(&mut cmd, BOUND).unwrap_or_else(|e| panic!("{e}"))
    };
    // XDP: the kernel sockets on a high port bind, the XDP maps cannot be made.
    let out = as_nobody(&["--iface", &bed.server_if, "--listen", &format!("{SERVER_V4}:5300")]);
    let message = failure(&out, "unprivileged serve --iface");
    assert!(message.contains("permission denied") && message.contains("CAP_BPF"), "unclear error: {message}");
    assert!(!xdp_attached(&bed.server_ns, &bed.server_if).unwrap());
    // Kernel sockets only, on port 53.
    let listen = format!("{SERVER_V4}:53");
    let message = failure(&as_nobody(&["--listen", &listen]), "unprivileged serve on port 53");
    assert!(
        message.contains(&format!("cannot listen on UDP {listen}")) && message.contains("CAP_NET_BIND_SERVICE"),
        "unclear error: {message}"
    );
}

#[test]
fn a_link_down_at_start_or_flapping_while_serving_keeps_serving() {
    let test = "a_link_down_at_start_or_flapping_while_serving_keeps_serving";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("xdpflap", 1).expect("testbed");
    let link = |state: &str| {
        run(Command::new("ip").args(["-n", &bed.server_ns, "link", "set", &bed.server_if, state]))
            .unwrap_or_else(|e| panic!("ip link set {state}: {e}"));
    };
    link("down");
    let v4 = format!("{SERVER_V4}:53");
    // An IPv6 address cannot be bound while its link is down (the kernel
    // keeps it unusable until the link is up): a clear error, not a hang.
    let v6 = format!("[{SERVER_V6}]:53");
    let out =
        serve_in(&bed.server_ns, &["--iface", &bed.server_if, "--zone", &zone(), "--listen", &v4, "--listen", &v6]);
    let message = failure(&out, "IPv6 listen address on a down link");
    assert!(message.contains(&format!("cannot listen on UDP {v6}")), "unclear error: {message}");

    // IPv4 only: it starts on the down link, and serves once it comes up.
    let bin = binary().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = bed.server_command(&bin.display().to_string());
    cmd.args([
        "serve",
        "--user",
        "root",
        "--iface",
        &bed.server_if,
        "--zone",
        &zone(),
        "--listen",
        &v4,
        "--udp-workers",
        "1",
    ]);
    cmd.env("NO_COLOR", "1");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = Daemon::spawn(cmd, "responder serve on a down link", &dir.path().join("log")).unwrap();
    let deadline = std::time::Instant::now() + BOUND;
    while !daemon.log().contains("responder ready:") {
        assert!(daemon.exited().is_none(), "exited on a down link:\n{}", daemon.log());
        assert!(std::time::Instant::now() < deadline, "not serving within {BOUND:?}:\n{}", daemon.log());
        thread::sleep(Duration::from_millis(50));
    }
    link("up");
    // Up, then down and up again three times: answered through AF_XDP after each.
    for round in 0..4 {
        if round > 0 {
            link("down");
            thread::sleep(Duration::from_millis(200));
            link("up");
        }
        // The veth carrier returns at once; allow the ring a moment.
        let answered = (0..30).any(|_| {
            let ok = www_answered(&bed).is_ok();
            if !ok {
                thread::sleep(Duration::from_millis(100));
            }
            ok
        });
        assert!(answered, "no answer after link up (round {round}):\n{}", daemon.log());
    }
    let (status, log) = daemon.terminate(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let log = strip_ansi(&log);
    assert!(status.success(), "exit {status}:\n{log}");
    let queues = parse_queue_counters(&log).unwrap_or_else(|e| panic!("{e}"));
    let rx: u64 = queues.iter().map(|q| q.rx).sum();
    assert!(rx >= 4, "the answers came through AF_XDP:\n{log}");
    assert!(queues.iter().all(|q| q.frames_balanced && q.rx == q.tx), "{log}");
}

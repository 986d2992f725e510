//! `responder doctor` as an operator runs it: on a veth in a testbed
//! namespace (native XDP, copy-mode AF_XDP, the testbed's queue count), on
//! `lo` inside a namespace (generic only), on a missing interface (usage
//! error), and next to a serving responder whose XDP program it must report
//! and leave attached.
//!
//! Root only (namespaces, XDP); under `CI=true` they must run. The
//! missing-interface and usage tests need no privilege.

use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use responder_tests::daemon::{run_bounded, Daemon};
use responder_tests::responder::{binary, workspace_root};
use responder_tests::testbed::{privileged, Testbed, SERVER_V4};
use serde_json::Value;

const BOUND: Duration = Duration::from_secs(60);

/// `responder doctor ARGS` inside namespace `ns`.
fn doctor_in(ns: &str, args: &[&str]) -> Output {
    let bin = binary().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Testbed::command_in(ns, &bin.display().to_string());
    cmd.arg("doctor").args(args);
    run_bounded(&mut cmd, BOUND).unwrap_or_else(|e| panic!("doctor: {e}"))
}

fn doctor_json(ns: &str, iface: &str) -> (Value, i32, String) {
    let out = doctor_in(ns, &["--iface", iface, "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("doctor --json printed no JSON ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (report, out.status.code().unwrap_or(-1), stdout)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no `{name}` check in {report:#}"))
}

/// The id of the XDP program on `iface` in `ns`, per iproute2 (an
/// independent view from the doctor's netlink code).
fn attached_program(ns: &str, iface: &str) -> Option<u64> {
    let out = Command::new("ip").args(["-n", ns, "-j", "-d", "link", "show", "dev", iface]).output().ok()?;
    let links: Value = serde_json::from_slice(&out.stdout).ok()?;
    links[0]["xdp"]["prog"]["id"].as_u64()
}

#[test]
fn doctor_on_veth_reports_native_xdp_and_copy_mode() {
    if !privileged("doctor_on_veth_reports_native_xdp_and_copy_mode") {
        return;
    }
    let bed = Testbed::create("docveth", 2).expect("testbed");
    let (report, code, text) = doctor_json(&bed.server_ns, &bed.server_if);
    assert_eq!(code, 0, "native XDP works on veth, so exit 0:\n{text}");
    assert_eq!(report["verdict"], "native");
    assert_eq!(check(&report, "driver")["facts"]["name"], "veth");
    assert_eq!(check(&report, "xdp-native")["status"], "OK");
    assert_eq!(report["xdp"]["native"], true);
    assert_eq!(report["xdp"]["generic"], true);
    assert_eq!(report["xdp"]["zero_copy"], false, "veth has copy-mode AF_XDP only");
    assert_eq!(check(&report, "zero-copy")["status"], "WARN");
    assert_eq!(check(&report, "queues")["facts"]["rx_queues"], bed.queues, "{:#}", check(&report, "queues"));
    assert_eq!(check(&report, "xdp-attached")["facts"]["attached"], false);
    assert_eq!(attached_program(&bed.server_ns, &bed.server_if), None, "the probes must detach");

    // The same findings for people.
    let out = doctor_in(&bed.server_ns, &["--iface", &bed.server_if]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.lines().any(|l| l.starts_with("  OK    xdp-native")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("  WARN  zero-copy")), "{text}");
    assert!(text.contains("verdict: ready: native XDP with copy-mode AF_XDP"), "{text}");
}

#[test]
fn doctor_on_loopback_finds_generic_only() {
    if !privileged("doctor_on_loopback_finds_generic_only") {
        return;
    }
    // A namespace's own lo, never the host's.
    let bed = Testbed::create("doclo", 1).expect("testbed");
    let (report, code, text) = doctor_json(&bed.server_ns, "lo");
    assert_eq!(code, 1, "generic only means exit 1:\n{text}");
    assert_eq!(report["verdict"], "generic-only");
    assert_eq!(check(&report, "xdp-native")["status"], "WARN");
    assert_eq!(check(&report, "xdp-generic")["status"], "OK");
    assert_eq!(check(&report, "zero-copy")["status"], "SKIP");
    assert!(check(&report, "xdp-native")["fix"].as_str().is_some_and(|f| f.contains("--listen")), "{text}");
    assert_eq!(attached_program(&bed.server_ns, "lo"), None, "the probes must detach");
}

#[test]
fn doctor_on_missing_interface_is_a_usage_error() {
    let out = responder_tests::responder::run(&["doctor", "--iface", "nosuchif0"]).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("no interface `nosuchif0`"), "{text}");
    assert!(text.contains("FAIL  interface"), "{text}");

    let out = responder_tests::responder::run(&["doctor", "--iface", "nosuchif0", "--json"])
        .unwrap_or_else(|e| panic!("{e}"));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON even for a missing interface");
    assert_eq!(
        (out.status.code(), &report["verdict"], &report["exit_code"]),
        (Some(2), &"no-interface".into(), &2.into())
    );

    let out = responder_tests::responder::run(&["doctor"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "--iface is required");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--iface"));
}

#[test]
fn doctor_leaves_another_xdp_program_attached() {
    if !privileged("doctor_leaves_another_xdp_program_attached") {
        return;
    }
    let bed = Testbed::create("docbusy", 1).expect("testbed");
    let dir = tempfile::tempdir().expect("temp dir");
    let zone = workspace_root().join("zones/tests/compare/example.com.zone");
    let bin = binary().unwrap_or_else(|e| panic!("{e}"));
    let mut serve = bed.server_command(&bin.display().to_string());
    serve.args([
        "serve",
        "--user",
        "root",
        "--zone",
        &zone.display().to_string(),
        "--listen",
        &format!("{SERVER_V4}:53"),
    ]);
    serve.args(["--iface", &bed.server_if, "--frames", "2048", "--ring-size", "1024"]);
    let mut server = Daemon::spawn(serve, "responder serve --iface", &dir.path().join("serve.log")).expect("spawn");

    let deadline = Instant::now() + Duration::from_secs(30);
    let program = loop {
        if let Some(id) = attached_program(&bed.server_ns, &bed.server_if) {
            break id;
        }
        assert!(server.exited().is_none(), "responder serve exited:\n{}", server.log());
        assert!(Instant::now() < deadline, "responder serve attached nothing in 30 s:\n{}", server.log());
        thread::sleep(Duration::from_millis(50));
    };

    let (report, code, text) = doctor_json(&bed.server_ns, &bed.server_if);
    let attached = check(&report, "xdp-attached");
    assert_eq!(attached["status"], "WARN", "{text}");
    assert_eq!(attached["facts"]["program_id"], program);
    assert_eq!(attached["facts"]["program_name"], "xdp_dns_steer");
    for probe in ["xdp-native", "zero-copy", "xdp-generic"] {
        assert_eq!(check(&report, probe)["status"], "SKIP", "{probe} must not run:\n{text}");
    }
    assert_eq!(code, 1, "native XDP not confirmed:\n{text}");
    assert_eq!(attached_program(&bed.server_ns, &bed.server_if), Some(program), "doctor touched the program");
    assert!(server.exited().is_none(), "responder serve died:\n{}", server.log());
    let (status, log) = server.terminate(Duration::from_secs(20)).expect("stop responder");
    assert!(status.success(), "responder serve: {status}\n{log}");
}

#[test]
fn doctor_without_privileges_reads_what_it_can() {
    if !privileged("doctor_without_privileges_reads_what_it_can") {
        return;
    }
    // Root is needed to become someone else; the doctor then runs as
    // `nobody` from a copy it can reach (the target directory may not be).
    let bed = Testbed::create("docuser", 2).expect("testbed");
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("responder");
    std::fs::copy(binary().unwrap_or_else(|e| panic!("{e}")), &copy).expect("copy the binary");
    for (path, mode) in [(dir.path(), 0o755), (copy.as_path(), 0o755)] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    }
    let mut cmd = Testbed::command_in(&bed.server_ns, "setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]);
    cmd.arg(&copy).args(["doctor", "--iface", &bed.server_if, "--json"]);
    let out = run_bounded(&mut cmd, BOUND).unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(check(&report, "privileges")["status"], "FAIL");
    assert_eq!(check(&report, "xdp-native")["status"], "SKIP");
    assert!(check(&report, "xdp-native")["finding"].as_str().is_some_and(|f| f.contains("needs root")), "{stdout}");
    // The unprivileged parts still came through.
    assert_eq!(check(&report, "driver")["facts"]["name"], "veth");
    assert_eq!(check(&report, "queues")["facts"]["rx_queues"], bed.queues);
    assert_eq!(check(&report, "link")["status"], "OK");
}

//! `cargo xtask run` end to end, with stand-ins for the responder binary so
//! the orchestration (testbed, readiness, queries, shutdown, cleanup) is
//! tested on its own.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use responder_tests::testbed::{privileged, run, LEDGER_ENV};

/// Serialises the tests here: a script written by one test while another
/// forks could otherwise fail to exec with ETXTBSY.
static SERIAL: Mutex<()> = Mutex::new(());

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, body).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn xtask_run_once(scratch: &Scratch, responder: &Path, zone: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["--no-deps", "run", "--once", "--responder-bin"])
        .arg(responder)
        .arg("--zone")
        .arg(zone)
        .env(LEDGER_ENV, scratch.0.join("ledger"))
        .output()
        .unwrap()
}

/// The testbed namespaces the run created, checked to be gone.
fn assert_namespaces_removed(scratch: &Scratch) {
    let ledger = fs::read_to_string(scratch.0.join("ledger")).expect("the run must record its testbed");
    assert_eq!(ledger.lines().count(), 2, "one server and one client namespace: {ledger}");
    let list = run(Command::new("ip").args(["netns", "list"])).unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for ns in ledger.lines() {
        assert!(!list.contains(ns), "namespace {ns} left behind");
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn missing_responder_binary_fails_clearly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["--no-deps", "run", "--once", "--responder-bin", "/nonexistent/responder"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("responder binary not found at /nonexistent/responder"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(["run", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown option `--bogus` for `run`") && stderr.contains("usage:"), "{stderr}");
}

#[test]
fn early_exit_is_reported_with_output_and_the_testbed_removed() {
    if !privileged("early_exit_is_reported_with_output_and_the_testbed_removed") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("early");
    let fake = scratch.script("responder", "#!/bin/sh\necho \"stand-in: cannot attach XDP to $3\" >&2\nexit 3\n");
    let zone = scratch.script("example.com.zone", "");

    let out = xtask_run_once(&scratch, &fake, &zone);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("exited early"), "{stderr}");
    // $3 is the value of --iface: the server end of the veth pair.
    assert!(stderr.contains("stand-in: cannot attach XDP to rs"), "{stderr}");
    assert_namespaces_removed(&scratch);
}

/// knotd stands in for `responder serve`: same listen addresses, same zone.
const KNOTD_STAND_IN: &str = r#"#!/bin/sh
set -e
dir=$(dirname "$0")
zone=
while [ $# -gt 0 ]; do
    case "$1" in --zone) zone=$2; shift 2 ;; *) shift ;; esac
done
cat > "$dir/knot.conf" <<EOF
server:
  listen: [ 198.18.0.1@53, fd00::1@53 ]
  rundir: $dir
database:
  storage: $dir
zone:
  - domain: example.com
    file: $zone
EOF
echo $$ > "$dir/pid"
exec knotd -c "$dir/knot.conf"
"#;

const EXAMPLE_ZONE: &str = "\
$ORIGIN example.com.
$TTL 3600
@          SOA   ns1 hostmaster 1 7200 3600 1209600 3600
@          NS    ns1
@          MX    10 mail
@          TXT   \"stand-in zone\"
ns1        A     198.51.100.1
mail       A     198.51.100.25
www        A     198.51.100.10
www        AAAA  2001:db8::10
alias      CNAME www
*.wild     A     198.51.100.99
child      NS    ns.child
ns.child   A     198.51.100.53
_sip._udp  SRV   10 5 5060 www
";

#[test]
fn once_shows_every_answer_then_stops_the_server_and_cleans_up() {
    if !privileged("once_shows_every_answer_then_stops_the_server_and_cleans_up") {
        return;
    }
    if Command::new("knotd").arg("--version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "knotd missing under CI: run cargo xtask deps");
        eprintln!("skipping: knotd is not installed (cargo xtask deps installs it)");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("once");
    let stand_in = scratch.script("responder", KNOTD_STAND_IN);
    let zone = scratch.0.join("example.com.zone");
    fs::write(&zone, EXAMPLE_ZONE).unwrap();

    let out = xtask_run_once(&scratch, &stand_in, &zone);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for expected in [
        "== www.example.com A (address, UDP/IPv4)",
        "www.example.com.",
        "198.51.100.10",
        "2001:db8::10",
        "status: NXDOMAIN",
        "child.example.com.",
        "_sip._udp.example.com.",
        "\"stand-in zone\"",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("FAILED"), "{stdout}");

    let pid = fs::read_to_string(scratch.0.join("pid")).unwrap();
    assert!(!Path::new("/proc").join(pid.trim()).exists(), "the stand-in server (PID {pid}) is still running");
    assert_namespaces_removed(&scratch);
}

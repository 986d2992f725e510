//! kxdpgun (Knot's AF_XDP load generator) from a testbed's client
//! namespace: a bounded run at a fixed rate, and its summary parsed.
//!
//! kxdpgun skips ARP/ND (the testbed's permanent neighbours give it the MAC)
//! and leaves its own XDP program attached to the client interface when it
//! exits; [`run`] detaches it so later kernel-socket clients there are
//! unaffected.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub use testkit::kxdpgun_summary::{parse_summary, Summary};

use crate::daemon::run_bounded;
use crate::testbed::{run as run_checked, Testbed};

/// Where Debian's knot-dnsutils installs it (not on a non-root PATH).
pub const KXDPGUN: &str = "/usr/sbin/kxdpgun";

/// Beyond the run's own duration: start-up (UMEM, XDP attach) and draining.
const GRACE: Duration = Duration::from_secs(30);

pub fn available() -> bool {
    Path::new(KXDPGUN).is_file()
}

/// One line of a query file: `name type [E|D]`.
#[derive(Clone, Copy, Debug)]
pub struct QueryTemplate {
    pub name: &'static str,
    pub rtype: &'static str,
    /// Sent with an EDNS OPT record.
    pub edns: bool,
}

pub const fn query(name: &'static str, rtype: &'static str) -> QueryTemplate {
    QueryTemplate { name, rtype, edns: false }
}

pub const fn query_edns(name: &'static str, rtype: &'static str) -> QueryTemplate {
    QueryTemplate { name, rtype, edns: true }
}

/// Writes a kxdpgun query file.
pub fn write_queries(path: &Path, queries: &[QueryTemplate]) -> Result<(), String> {
    let mut text = String::new();
    for q in queries {
        let _ = writeln!(text, "{} {}{}", q.name, q.rtype, if q.edns { " E" } else { "" });
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A mix for the bundled `zones/example.com.zone`: positive, negative, referral,
/// wildcard, CNAME chain, with and without EDNS; one in ten is NXDOMAIN.
pub const EXAMPLE_ZONE_MIX: &[QueryTemplate] = &[
    query("www.example.com.", "A"),
    query("www.example.com.", "AAAA"),
    query_edns("example.com.", "MX"),
    query("example.com.", "NS"),
    query("chain.example.com.", "A"),
    query_edns("nonexistent.example.com.", "A"),
    query("host.child.example.com.", "A"),
    query("x.wild.example.com.", "TXT"),
    query_edns("_sip._udp.example.com.", "SRV"),
    query("api.example.com.", "A"),
];

/// A bounded load: `qps` queries a second for `seconds`.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub qps: u32,
    pub seconds: u32,
    /// Pin kxdpgun's thread(s) to this CPU and up (`-F`).
    pub cpu: Option<usize>,
}

/// Runs kxdpgun in the client namespace against `target` port 53 and
/// returns its summary; its XDP program is detached afterwards whatever
/// happened.
pub fn run(bed: &Testbed, target: IpAddr, queries: &Path, load: Load) -> Result<Summary, String> {
    let mut cmd = bed.client_command(KXDPGUN);
    cmd.args(["-t", &load.seconds.to_string(), "-Q", &load.qps.to_string(), "-I", &bed.client_if, "-i"]).arg(queries);
    if let Some(cpu) = load.cpu {
        cmd.args(["-F", &cpu.to_string()]);
    }
    cmd.arg(target.to_string());
    let result = run_bounded(&mut cmd, Duration::from_secs(u64::from(load.seconds)) + GRACE);
    let detached = run_checked(Command::new("ip").args([
        "-n",
        &bed.client_ns,
        "link",
        "set",
        "dev",
        &bed.client_if,
        "xdp",
        "off",
    ]));
    let out = result?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("kxdpgun exited with {}:\n{stdout}{stderr}", out.status));
    }
    detached.map_err(|e| format!("cannot detach kxdpgun's XDP program: {e}"))?;
    if cannot_load_its_program(&stderr) {
        // Not the server's fault, nor the test's to skip: the same load
        // through the client's kernel stack still reaches the server's
        // XDP program and AF_XDP sockets over the veth pair.
        eprintln!(
            "kxdpgun could not load its XDP program on this kernel ({}); the load is sent with dnsperf instead",
            stderr.lines().find(|l| l.contains("cannot use helper") || l.contains("failed")).unwrap_or("").trim()
        );
        return run_dnsperf(bed, target, queries, load);
    }
    // kxdpgun can end with status 0 and say why it sent nothing on stderr.
    parse_summary(&stdout).map_err(|e| format!("{e}\nkxdpgun's stderr:\n{stderr}"))
}

/// kxdpgun 3.2's own XDP program uses `bpf_xdp_adjust_meta`, which some
/// kernel builds refuse to XDP programs (seen on 6.18.44-fc-v1300); it
/// then exits with status 0, having sent nothing.
fn cannot_load_its_program(stderr: &str) -> bool {
    stderr.contains("failed to initialize XDP socket") || stderr.contains("BPF program load failed")
}

/// The same bounded load from dnsperf in the client namespace (one socket,
/// the query file's names and types; its EDNS markers are not carried).
fn run_dnsperf(bed: &Testbed, target: IpAddr, queries: &Path, load: Load) -> Result<Summary, String> {
    let text = std::fs::read_to_string(queries).map_err(|e| format!("cannot read {}: {e}", queries.display()))?;
    let plain: String =
        text.lines().map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ") + "\n").collect();
    let file = queries.with_extension("dnsperf");
    std::fs::write(&file, plain).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let mut cmd = bed.client_command("dnsperf");
    cmd.args(["-s", &target.to_string(), "-d"]).arg(&file);
    cmd.args(["-l", &load.seconds.to_string(), "-Q", &load.qps.to_string(), "-c", "1", "-T", "1", "-t", "2"]);
    let out = run_bounded(&mut cmd, Duration::from_secs(u64::from(load.seconds)) + GRACE)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("dnsperf exited with {}:\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    parse_dnsperf(&stdout)
}

/// dnsperf's statistics as a [`Summary`].
fn parse_dnsperf(text: &str) -> Result<Summary, String> {
    let field = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| rest.trim().to_string())
            .ok_or_else(|| format!("no \"{label}\" in dnsperf's output:\n{text}"))
    };
    let number = |label: &str| -> Result<u64, String> {
        let value = field(label)?;
        let first = value.split_whitespace().next().unwrap_or("");
        first
            .split('.')
            .next()
            .unwrap_or("")
            .parse()
            .map_err(|_| format!("bad \"{label}\" in dnsperf's output:\n{text}"))
    };
    let sent = number("Queries sent:")?;
    let replies = number("Queries completed:")?;
    let reply_pps = number("Queries per second:")?;
    let mut rcodes = std::collections::BTreeMap::new();
    // "NOERROR 27000 (90.00%), NXDOMAIN 3000 (10.00%)"
    for part in field("Response codes:")?.split(',') {
        let mut words = part.split_whitespace();
        if let (Some(code), Some(count)) = (words.next(), words.next().and_then(|c| c.parse().ok())) {
            rcodes.insert(code.to_string(), count);
        }
    }
    Ok(Summary { sent, replies, reply_pps, rcodes, text: text.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnsperf_statistics_read_as_a_summary() {
        let text = "Statistics:\n\n  Queries sent:         30000\n  Queries completed:    29990 (99.97%)\n  \
                    Queries lost:         10 (0.03%)\n\n  Response codes:       NOERROR 26991 (90.00%), NXDOMAIN 2999 (10.00%)\n  \
                    Run time (s):         3.000123\n  Queries per second:   9996.59\n";
        let s = parse_dnsperf(text).unwrap();
        assert_eq!((s.sent, s.replies, s.reply_pps), (30000, 29990, 9996));
        assert_eq!(s.rcodes.get("NOERROR"), Some(&26991));
        assert_eq!(s.rcodes.get("NXDOMAIN"), Some(&2999));
        assert!(parse_dnsperf("Statistics:\n").is_err());
    }

    #[test]
    fn kxdpgun_failing_to_load_is_told_apart() {
        assert!(cannot_load_its_program("libbpf: prog 'x': BPF program load failed: Invalid argument\n"));
        assert!(!cannot_load_its_program(""));
    }

    #[test]
    fn query_file_has_one_template_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        write_queries(&path, &[query("www.example.com.", "A"), query_edns("example.com.", "MX")]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "www.example.com. A\nexample.com. MX E\n");
    }
}

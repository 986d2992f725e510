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
    if !out.status.success() {
        return Err(format!("kxdpgun exited with {}:\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    detached.map_err(|e| format!("cannot detach kxdpgun's XDP program: {e}"))?;
    parse_summary(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_file_has_one_template_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        write_queries(&path, &[query("www.example.com.", "A"), query_edns("example.com.", "MX")]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "www.example.com. A\nexample.com. MX E\n");
    }
}

//! Two network namespaces joined by a veth pair: the only network tests and
//! the `cargo xtask run` demo may send traffic over.
//!
//! Addresses come from the benchmarking range 198.18.0.0/15 and fd00::/8 only.
//! Everything is removed on drop, even when a test fails half-way.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output};

/// Server side is `.1`/`::1`, client side `.2`/`::2`.
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// When set, names a file every testbed appends its namespace names to before
/// creating them. `cargo xtask test` reads it afterwards to find namespaces a
/// crashed test left behind, without touching anyone else's.
pub const LEDGER_ENV: &str = "RSP_TESTBED_LEDGER";

pub struct Testbed {
    pub server_ns: String,
    pub client_ns: String,
    /// Interface inside the server namespace.
    pub server_if: String,
    /// Interface inside the client namespace.
    pub client_if: String,
    pub queues: u32,
}

impl Testbed {
    /// Creates the namespaces and the veth pair with `queues` RX/TX queues
    /// (veth allows native XDP on each). `tag` keeps parallel runs apart: use
    /// something short and unique such as the test name; the PID is added.
    pub fn create(tag: &str, queues: u32) -> io::Result<Testbed> {
        let id = format!("{}{}", short(tag, 6), std::process::id() % 100_000);
        let bed = Testbed {
            server_ns: format!("rsp-s-{id}"),
            client_ns: format!("rsp-c-{id}"),
            server_if: format!("rs{id}"),
            client_if: format!("rc{id}"),
            queues,
        };
        // Created before the first command so a failure part-way still cleans up.
        record_in_ledger(&[&bed.server_ns, &bed.client_ns])?;
        let q = queues.to_string();
        for ns in [&bed.server_ns, &bed.client_ns] {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        ip(&[
            "link",
            "add",
            &bed.server_if,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
            "netns",
            &bed.server_ns,
            "type",
            "veth",
            "peer",
            "name",
            &bed.client_if,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
            "netns",
            &bed.client_ns,
        ])?;
        for (ns, ifname, v4, v6) in [
            (&bed.server_ns, &bed.server_if, SERVER_V4, SERVER_V6),
            (&bed.client_ns, &bed.client_if, CLIENT_V4, CLIENT_V6),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", ifname])?;
            // nodad: the address is usable at once instead of after duplicate detection.
            ip(&["-n", ns, "addr", "add", &format!("{v6}/64"), "dev", ifname, "nodad"])?;
            ip(&["-n", ns, "link", "set", ifname, "up"])?;
        }
        // Permanent neighbours both ways: AF_XDP load generators bypass ARP/ND,
        // and tests should not depend on resolution timing.
        let smac = bed.mac(&bed.server_ns, &bed.server_if)?;
        let cmac = bed.mac(&bed.client_ns, &bed.client_if)?;
        for (ns, ifname, addr, mac) in [
            (&bed.server_ns, &bed.server_if, CLIENT_V4.to_string(), &cmac),
            (&bed.server_ns, &bed.server_if, CLIENT_V6.to_string(), &cmac),
            (&bed.client_ns, &bed.client_if, SERVER_V4.to_string(), &smac),
            (&bed.client_ns, &bed.client_if, SERVER_V6.to_string(), &smac),
        ] {
            ip(&["-n", ns, "neigh", "replace", &addr, "lladdr", mac, "dev", ifname, "nud", "permanent"])?;
        }
        Ok(bed)
    }

    /// A command that runs `program` inside namespace `ns`.
    pub fn command_in(ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]);
        cmd
    }

    pub fn server_command(&self, program: &str) -> Command {
        Self::command_in(&self.server_ns, program)
    }

    pub fn client_command(&self, program: &str) -> Command {
        Self::command_in(&self.client_ns, program)
    }

    /// Adds another IPv4 address to the client side, reachable from the
    /// server side at once (a permanent neighbour entry), for tests that
    /// need a second client source.
    pub fn add_client_v4(&self, addr: Ipv4Addr) -> io::Result<()> {
        ip(&["-n", &self.client_ns, "addr", "add", &format!("{addr}/24"), "dev", &self.client_if])?;
        let cmac = self.mac(&self.client_ns, &self.client_if)?;
        let neighbour = addr.to_string();
        ip(&[
            "-n",
            &self.server_ns,
            "neigh",
            "replace",
            &neighbour,
            "lladdr",
            &cmac,
            "dev",
            &self.server_if,
            "nud",
            "permanent",
        ])?;
        Ok(())
    }

    /// MAC address of an interface in a namespace.
    pub fn mac(&self, ns: &str, ifname: &str) -> io::Result<String> {
        let out = run(Command::new("ip").args(["-n", ns, "-br", "link", "show", "dev", ifname]))?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(2)
            .map(str::to_owned)
            .ok_or_else(|| io::Error::other(format!("no MAC for {ifname} in {ns}")))
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth end inside it and so the pair.
        for ns in [&self.server_ns, &self.client_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Appends namespace names, one a line, to the file named by [`LEDGER_ENV`].
pub(crate) fn record_in_ledger(namespaces: &[&str]) -> io::Result<()> {
    let Some(path) = std::env::var_os(LEDGER_ENV) else { return Ok(()) };
    let lines: String = namespaces.iter().map(|ns| format!("{ns}\n")).collect();
    // One append-mode write per testbed: parallel tests cannot interleave lines.
    std::fs::OpenOptions::new().create(true).append(true).open(&path)?.write_all(lines.as_bytes())
}

pub(crate) fn short(tag: &str, n: usize) -> String {
    tag.chars().filter(char::is_ascii_alphanumeric).take(n).collect()
}

fn ip(args: &[&str]) -> io::Result<Output> {
    run(Command::new("ip").args(args))
}

/// Runs a command to completion; a non-zero exit becomes an error with its stderr.
pub fn run(cmd: &mut Command) -> io::Result<Output> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(out)
}

/// Whether a privileged test may run. Under `CI=true` privileged tests must
/// run, so a missing privilege there is a failure, not a skip.
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but not running as root: privileged tests must run in CI");
    }
    eprintln!("skipping {test}: needs root (network namespaces, XDP, AF_XDP)");
    false
}

/// Whether a test needing external tools may run: `missing` names the
/// tools it lacks. Under `CI=true` the project's own set-up installs them,
/// so a missing one is a failure, not a skip.
pub fn required_tools(test: &str, missing: &[&str]) -> bool {
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but {missing:?} not installed (run `cargo xtask deps`)");
    }
    eprintln!("skipping {test}: {missing:?} not installed (run `cargo xtask deps`)");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testbed_carries_traffic_and_cleans_up() {
        if !privileged("testbed_carries_traffic_and_cleans_up") {
            return;
        }
        let ns;
        {
            let bed = Testbed::create("tb", 2).expect("testbed");
            ns = bed.server_ns.clone();
            for target in [SERVER_V4.to_string(), SERVER_V6.to_string()] {
                let out = bed.client_command("ping").args(["-c", "1", "-W", "2", &target]).output().unwrap();
                assert!(out.status.success(), "ping {target}: {}", String::from_utf8_lossy(&out.stdout));
            }
            let queues = run(bed.server_command("ls").arg(format!("/sys/class/net/{}/queues", bed.server_if))).unwrap();
            let rx = String::from_utf8_lossy(&queues.stdout).matches("rx-").count();
            assert_eq!(rx, 2, "veth should have the requested RX queues");
        }
        let list = run(Command::new("ip").args(["netns", "list"])).unwrap();
        assert!(!String::from_utf8_lossy(&list.stdout).contains(&ns), "namespace {ns} left behind");
    }
}

//! `responder serve --iface` on a veth testbed: started in the server
//! namespace, ready once XDP is attached *and* it answers from the client
//! namespace, and stopped with SIGTERM so its per-queue counters (what went
//! through AF_XDP) can be read back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::daemon::Daemon;
use crate::netns::in_netns;
use crate::responder;
use crate::testbed::{run, Testbed, SERVER_V4, SERVER_V6};

/// The responder logs this once everything serves: every queue has a socket
/// and XDP steers to them (control/daemon/serve.rs's READY_LINE).
const SERVING_LINE: &str = "responder ready:";
/// Loading, attaching and the first answers take well under a second; the
/// margin is for a loaded 2-core machine running debug builds.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the XDP responder answers: port 53 on the testbed's server addresses.
pub fn server_v4() -> SocketAddr {
    SocketAddr::from((SERVER_V4, 53))
}

pub fn server_v6() -> SocketAddr {
    SocketAddr::from((SERVER_V6, 53))
}

pub struct XdpServer {
    daemon: Daemon,
    /// Holds the log file.
    _dir: tempfile::TempDir,
}

impl XdpServer {
    /// Starts `responder serve --iface SERVER_IF --zone ZONE --listen
    /// SERVER_V4:53 --listen [SERVER_V6]:53 EXTRA...` in the server
    /// namespace and waits until it is ready (see [`XdpServer::wait_ready`]).
    pub fn start(bed: &Testbed, zone: &Path, extra: &[&str]) -> Result<XdpServer, String> {
        XdpServer::start_wrapped(bed, zone, extra, &[])
    }

    /// [`XdpServer::start`] through `wrapper` (a program and its arguments
    /// that execs the rest of its command line, such as `setpriv ...`).
    pub fn start_wrapped(bed: &Testbed, zone: &Path, extra: &[&str], wrapper: &[&str]) -> Result<XdpServer, String> {
        XdpServer::launch(bed, zone, &[server_v4(), server_v6()], extra, wrapper)
    }

    /// [`XdpServer::start`] with these `--listen` addresses instead of the
    /// testbed's (wildcards, for instance).
    pub fn start_listening(
        bed: &Testbed,
        zone: &Path,
        listen: &[SocketAddr],
        extra: &[&str],
    ) -> Result<XdpServer, String> {
        XdpServer::launch(bed, zone, listen, extra, &[])
    }

    fn launch(
        bed: &Testbed,
        zone: &Path,
        listen: &[SocketAddr],
        extra: &[&str],
        wrapper: &[&str],
    ) -> Result<XdpServer, String> {
        let binary = responder::binary()?.display().to_string();
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = bed.server_command(program);
                cmd.args(args).arg(&binary);
                cmd
            }
            None => bed.server_command(&binary),
        };
        cmd.args(["serve", "--iface", &bed.server_if, "--zone"])
            .arg(zone)
            .args(listen.iter().flat_map(|addr| ["--listen".to_string(), addr.to_string()]))
            // The kernel-socket side only serves TCP here: one UDP thread is plenty.
            .args(["--udp-workers", "1"])
            .args(responder::as_root(extra))
            .args(extra)
            // Plain text in the log file, so tests can match lines.
            .env("NO_COLOR", "1");
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        // `ip netns exec` execs the responder: the PID we hold is the responder's.
        let daemon = Daemon::spawn(cmd, "responder serve --iface", &dir.path().join("responder.log"))
            .map_err(|e| e.to_string())?;
        let mut server = XdpServer { daemon, _dir: dir };
        server.wait_ready(bed)?;
        Ok(server)
    }

    /// Ready means XDP is attached (the log says so) and a query from the
    /// client namespace is answered over IPv4 and IPv6. The log comes
    /// first: the kernel sockets start earlier and would answer a probe on
    /// their own.
    fn wait_ready(&mut self, bed: &Testbed) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !self.log().contains(SERVING_LINE) {
            if let Some(status) = self.daemon.exited() {
                return Err(format!("responder exited with {status} before serving:\n{}", self.log()));
            }
            if Instant::now() >= deadline {
                return Err(format!("responder did not attach XDP within {READY_TIMEOUT:?}:\n{}", self.log()));
            }
            thread::sleep(Duration::from_millis(20));
        }
        let daemon = &mut self.daemon;
        in_netns(&bed.client_ns, || {
            for addr in [server_v4(), server_v6()] {
                let left = deadline.saturating_duration_since(Instant::now());
                daemon.wait_until_answering(addr, left.max(Duration::from_secs(1)))?;
            }
            Ok(())
        })?
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// The log so far, colour codes removed.
    pub fn log(&self) -> String {
        strip_ansi(&self.daemon.log())
    }

    /// SIGTERM, a clean exit, and the counters the responder prints on the way out.
    pub fn stop(self) -> Result<StopReport, String> {
        let (status, log) = self.daemon.terminate(STOP_TIMEOUT)?;
        let log = strip_ansi(&log);
        if !status.success() {
            return Err(format!("responder exited with {status} on SIGTERM:\n{log}"));
        }
        let queues = parse_queue_counters(&log)?;
        Ok(StopReport { status, log, queues })
    }

    /// SIGKILL: no chance to detach anything itself.
    pub fn kill(self) {
        // Dropping the daemon kills it by PID and reaps it.
        drop(self.daemon);
    }
}

/// What a responder reported when it stopped.
#[derive(Debug)]
pub struct StopReport {
    pub status: ExitStatus,
    pub log: String,
    pub queues: Vec<QueueCounters>,
}

impl StopReport {
    pub fn rx(&self) -> u64 {
        self.queues.iter().map(|q| q.rx).sum()
    }

    pub fn tx(&self) -> u64 {
        self.queues.iter().map(|q| q.tx).sum()
    }

    /// `answered_tier0=N` of the `XDP program:` line: answers the XDP
    /// program gave itself (tier 0). Panics when the line lacks it.
    pub fn answered_tier0(&self) -> u64 {
        let counters = self.counters_text();
        counters
            .split_whitespace()
            .find_map(|w| w.strip_prefix("answered_tier0="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no answered_tier0 in:\n{counters}"))
    }

    pub fn counters_text(&self) -> String {
        self.log
            .lines()
            .filter_map(|l| {
                l.find("queue ").filter(|_| l.contains("): rx ")).or_else(|| l.find("XDP program:")).map(|at| &l[at..])
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One `queue N (cpu C, MODE): rx N tx N dropped N ...` line of the stop report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCounters {
    pub queue: u32,
    /// `copy` or `zero-copy`.
    pub mode: String,
    pub rx: u64,
    pub tx: u64,
    pub dropped: u64,
    pub passed: u64,
    pub invalid: u64,
    /// Frames the kernel steered to the socket but could not deliver
    /// (`XDP_STATISTICS` rx_dropped + rx_ring_full), when it reports them.
    pub kernel_dropped: Option<u64>,
    /// False when the responder found UMEM frames missing at exit.
    pub frames_balanced: bool,
}

/// Every queue line of a stop report; an error if there are none or one is malformed.
pub fn parse_queue_counters(log: &str) -> Result<Vec<QueueCounters>, String> {
    let queues: Vec<QueueCounters> = log
        .lines()
        // The stop report's lines, after the log's timestamp and level.
        .filter_map(|line| line.find("queue ").filter(|_| line.contains("): rx ")).map(|at| &line[at..]))
        .map(|line| parse_queue_line(line).ok_or_else(|| format!("malformed queue counters: {line:?}")))
        .collect::<Result<_, _>>()?;
    if queues.is_empty() {
        return Err(format!("no queue counters in the responder's output:\n{log}"));
    }
    Ok(queues)
}

fn parse_queue_line(line: &str) -> Option<QueueCounters> {
    let rest = line.strip_prefix("queue ")?;
    let (queue, rest) = rest.split_once(" (")?;
    let (cpu_and_mode, counters) = rest.split_once("): ")?;
    let mode = cpu_and_mode.rsplit(", ").next()?.to_string();
    // `key value` pairs; words not followed by a number ("kernel") are labels.
    let words: Vec<&str> = counters.split_whitespace().map(|w| w.trim_end_matches(',')).collect();
    let mut values = BTreeMap::new();
    for pair in words.windows(2) {
        if let Ok(n) = pair[1].parse::<u64>() {
            values.entry(pair[0]).or_insert(n);
        }
    }
    Some(QueueCounters {
        queue: queue.parse().ok()?,
        mode,
        rx: *values.get("rx")?,
        tx: *values.get("tx")?,
        dropped: *values.get("dropped")?,
        passed: *values.get("passed")?,
        invalid: *values.get("invalid")?,
        kernel_dropped: values.get("rx_dropped").zip(values.get("rx_ring_full")).map(|(d, f)| d + f),
        frames_balanced: !line.contains("DO NOT ADD UP"),
    })
}

/// Whether an XDP program is attached to `ifname` in namespace `ns`, in any mode.
pub fn xdp_attached(ns: &str, ifname: &str) -> Result<bool, String> {
    let out =
        run(Command::new("ip").args(["-j", "-n", ns, "link", "show", "dev", ifname])).map_err(|e| e.to_string())?;
    let links: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("`ip -j link show` output is not JSON: {e}"))?;
    let link = links.get(0).ok_or_else(|| format!("no link {ifname} in {ns}"))?;
    Ok(link.get("xdp").is_some())
}

/// Removes ANSI colour sequences (`ESC [ ... letter`), in case a logger
/// ignores NO_COLOR.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
2026-01-01T00:00:00Z  INFO stopping
queue 0 (cpu Some(0), copy): rx 60011 tx 60010 dropped 1 passed 0 invalid 0 fill-empty 0 tx-full 0 kicks 5967, kernel rx_dropped 7 rx_ring_full 0
queue 1 (cpu None, zero-copy): rx 3 tx 3 dropped 0 passed 2 invalid 1 fill-empty 0 tx-full 0 kicks 1, UMEM FRAMES DO NOT ADD UP
XDP program: redirected=60012 passed_no_socket=0 passed_address=0";

    #[test]
    fn reads_every_queue_line() {
        let q = parse_queue_counters(REPORT).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[0],
            QueueCounters {
                queue: 0,
                mode: "copy".into(),
                rx: 60011,
                tx: 60010,
                dropped: 1,
                passed: 0,
                invalid: 0,
                kernel_dropped: Some(7),
                frames_balanced: true
            }
        );
        assert_eq!((q[1].queue, q[1].mode.as_str(), q[1].passed, q[1].invalid), (1, "zero-copy", 2, 1));
        assert!(!q[1].frames_balanced);
        assert_eq!(q[1].kernel_dropped, None);
    }

    #[test]
    fn missing_or_malformed_counters_are_errors() {
        assert!(parse_queue_counters("INFO stopping\n").is_err());
        assert!(parse_queue_counters("queue 0 (cpu Some(0), copy): rx 1\n").is_err(), "no tx");
        assert!(parse_queue_counters("queue x (cpu Some(0), copy): rx 1 tx 1 dropped 0 passed 0 invalid 0\n").is_err());
    }

    #[test]
    fn colour_codes_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[2m12:00\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m mode=Generic"),
            "12:00  INFO mode=Generic"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }
}

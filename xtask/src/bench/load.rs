//! One step of the load ladder: kxdpgun offers a fixed rate for a fixed
//! time from the client namespace, pinned to the client CPU, while the
//! server's CPU use and the drop counters along the path are sampled before
//! and after.
//!
//! A step takes its seconds plus about [`KXDPGUN_OVERHEAD`]: kxdpgun
//! (3.2) sleeps 1 s between attaching its sockets and sending, and keeps
//! receiving for 1 s after it stops sending. Both are fixed in its code
//! and no option or signal shortens them; the bench's own work around a
//! step (pinning, two /proc samples, detaching) takes about 25 ms, and the
//! drop counters' two samples about 40 ms more. The ladder therefore saves
//! time by running fewer steps, not shorter ones.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::bed::{BenchBed, CLIENT_CPU};
use super::cpu::{self, CpuUse};
use super::drops::{PathCounters, Sampler};
use super::process::run_bounded;
use crate::testbed::{run, SERVER_V4};
use testkit::kxdpgun_summary::parse_summary;

/// Where Debian's knot-dnsutils installs it.
pub const KXDPGUN: &str = "/usr/sbin/kxdpgun";

/// Beyond the step's own duration: kxdpgun's start-up and draining.
const GRACE: Duration = Duration::from_secs(30);

/// Seconds kxdpgun adds to every step (see the module comment).
pub const KXDPGUN_OVERHEAD: u32 = 2;

/// For `-F` when unpinned: kxdpgun always pins its threads (to CPUs 0, 1,
/// ... by default, which would put the generator on the server's CPU). An
/// affinity to a CPU that is not online is refused by the kernel, kxdpgun
/// warns and leaves the thread where the scheduler put it.
const NO_SUCH_CPU: usize = 1000;

/// A step that sent less than this share of what was asked measured the
/// generator, not the server.
pub const GENERATOR_LIMIT: f64 = 0.95;

/// What one step measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub offered: u32,
    pub seconds: u32,
    pub sent: u64,
    pub replies: u64,
    /// Answers per second as kxdpgun measured them.
    pub answered_rate: f64,
    pub cpu: CpuUse,
    /// Increase of the drop counters along the path over the step.
    pub drops: PathCounters,
}

impl Step {
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            1.0
        } else {
            1.0 - (self.replies as f64 / self.sent as f64).min(1.0)
        }
    }

    /// kxdpgun could not send what was asked: the step says nothing about
    /// the server's limit.
    pub fn generator_limited(&self) -> bool {
        (self.sent as f64) < GENERATOR_LIMIT * f64::from(self.offered) * f64::from(self.seconds)
    }

    /// Server CPU seconds over the step's seconds: its share of one CPU
    /// while kxdpgun sent. kxdpgun's idle second either side is in the
    /// sampled window too; the server spends next to nothing then.
    pub fn busy(&self) -> Option<f64> {
        (self.seconds > 0).then(|| self.cpu.total() / f64::from(self.seconds))
    }

    /// Server CPU seconds per million answers.
    pub fn cpu_per_million(&self) -> Option<f64> {
        (self.replies > 0).then(|| self.cpu.total() / self.replies as f64 * 1e6)
    }
}

/// Runs one step against the server whose process is `server_pid`.
pub fn step(
    bed: &BenchBed,
    queries: &Path,
    offered: u32,
    seconds: u32,
    server_pid: u32,
    drops: &Sampler<'_>,
) -> Result<Step, String> {
    bed.pin_napi()?;
    let napi = bed.server_napi_threads();
    let hz = cpu::ticks_per_second();
    // kxdpgun pins thread i to CPU `-F` + i and ignores a step of 0, so
    // with 2 queues its second thread asks for a CPU that is not there and
    // stays on what `taskset` gave the process: the client CPU.
    let mut cmd = if bed.pinned {
        let mut cmd = bed.bed.client_command("taskset");
        cmd.args(["-c", &CLIENT_CPU.to_string(), KXDPGUN, "-F", &CLIENT_CPU.to_string()]);
        cmd
    } else {
        let mut cmd = bed.bed.client_command(KXDPGUN);
        cmd.args(["-F", &NO_SUCH_CPU.to_string()]);
        cmd
    };
    cmd.args(["-t", &seconds.to_string(), "-Q", &offered.to_string(), "-I", &bed.bed.client_if, "-i"])
        .arg(queries)
        .arg(SERVER_V4.to_string());
    // The drop counters outside the CPU samples: their few tens of
    // milliseconds of `ip netns exec` are not billed to the server.
    let drops_before = drops.sample();
    let before = cpu::sample(server_pid, &napi, bed.softirq_cpu());
    let result = run_bounded(&mut cmd, Duration::from_secs(u64::from(seconds)) + GRACE);
    let after = cpu::sample(server_pid, &napi, bed.softirq_cpu());
    let drops_after = drops.sample();
    // kxdpgun leaves its XDP program on the client interface.
    let detached = run(Command::new("ip").args([
        "-n",
        &bed.bed.client_ns,
        "link",
        "set",
        "dev",
        &bed.bed.client_if,
        "xdp",
        "off",
    ]));
    let out = result?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("kxdpgun exited with {}:\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    detached.map_err(|e| format!("cannot detach kxdpgun's XDP program: {e}"))?;
    let summary = parse_summary(&stdout)?;
    Ok(Step {
        offered,
        seconds,
        sent: summary.sent,
        replies: summary.replies,
        answered_rate: summary.reply_pps as f64,
        cpu: CpuUse::between(before, after, hz),
        drops: drops_after.since(&drops_before),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: u32, sent: u64, replies: u64) -> Step {
        Step {
            offered,
            seconds: 2,
            sent,
            replies,
            answered_rate: replies as f64 / 2.0,
            cpu: CpuUse::default(),
            drops: PathCounters::default(),
        }
    }

    #[test]
    fn loss_and_generator_limit() {
        assert_eq!(step(100_000, 200_000, 198_000).loss(), 0.010000000000000009);
        assert!(!step(100_000, 200_000, 198_000).generator_limited());
        assert!(step(400_000, 700_000, 700_000).generator_limited(), "sent 87% of 800k");
        assert!(!step(400_000, 760_000, 700_000).generator_limited(), "sent 95%");
        assert_eq!(step(1, 0, 0).loss(), 1.0);
        assert_eq!(step(10, 10, 12).loss(), 0.0, "late replies of a previous step never make loss negative");
    }

    #[test]
    fn cpu_per_million_answers() {
        let mut s = step(100_000, 200_000, 200_000);
        s.cpu = CpuUse { process: 0.3, napi: 0.1, softirq: 0.0, capture: 0.0 };
        assert!((s.cpu_per_million().unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(step(100_000, 200_000, 0).cpu_per_million(), None);
        assert!((s.busy().unwrap() - 0.2).abs() < 1e-9, "0.4 CPU seconds in a 2 s step");
        s.seconds = 0;
        assert_eq!(s.busy(), None);
    }
}
